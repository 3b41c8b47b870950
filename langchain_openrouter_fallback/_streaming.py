"""One streamed attempt turned into chunks, and what a broken stream does (``stream_recovery``).

:class:`StreamAttempt` turns one attempt's events, read and classified by the try's
:class:`~langchain_openrouter_fallback._wire_attempt.AttemptReader` (keep-alives never count
as progress; a malformed event is skipped and noted; who served and the usage are kept
there), into message chunks. Reasoning deltas are output: they move the attempt's clock and
reach the consumer as chunks with ``additional_kwargs["reasoning_content"]`` (so a break
after them is visible, like text); streamed ``reasoning_details`` are joined and put on the
final chunk. :class:`Recovery` decides what reaches the consumer and when, and returns its
decision to the driver:

- ``raise``: :class:`StreamInterruptedError` with what the consumer received
  (``partial_text``: reasoning and text, in order; the message names a tool call that was
  cut).
- ``buffer``: every attempt is held back until it completes, so a failure anywhere restarts
  unseen on the next link (tries after such a failure are recorded ``recovered: buffered``).
- ``continue``: the next link that accepts an assistant prefill is asked to continue the
  partial answer (sent as a final ``assistant`` message) and only its new text is passed on
  (``recovered: continued``). A prefill ending in whitespace is trimmed, and the same
  whitespace at the start of the continuation is not passed on twice. Tool-call streams
  are never continued; when no link can continue, the original break is raised.

Every attempt records ``contributed_chars``: the text it added to the consumer's answer.
"""

from __future__ import annotations

import operator
from functools import reduce
from typing import TYPE_CHECKING, Any

from langchain_core.messages import AIMessageChunk

from langchain_openrouter_fallback._adapt import ToolAnswer
from langchain_openrouter_fallback._attempts import describe_attempts
from langchain_openrouter_fallback._convert import chunk_to_message, merge_reasoning_details
from langchain_openrouter_fallback._errors import StreamInterruptedError
from langchain_openrouter_fallback._prefill import continuation_body, split_prefill

if TYPE_CHECKING:
    from collections.abc import Callable

    from langchain_openrouter_fallback._run import ChainRun, Try
    from langchain_openrouter_fallback._transport import AttemptFailure, Progress, SSEEvent

__all__ = ["Recovery", "StreamAttempt", "fallback_metadata", "stream_body"]


def fallback_metadata(run: ChainRun, served_by: str | None) -> dict[str, Any]:
    return {
        "chain": run.chain.name,
        "mode": run.chain.mode,
        "served_by": served_by,
        "cost": run.budget.spent,
        "attempts": [a.as_dict() for a in run.attempts],
    }


class StreamAttempt:
    """Turns one attempt's checked SSE events into message chunks (the LangChain face).

    What the events say (who served, usage, cost, finish, output seen) is read and kept by
    the try's :class:`~langchain_openrouter_fallback._wire_attempt.AttemptReader`.
    """

    def __init__(
        self,
        action: Try,
        body: dict[str, Any],
        held_ws: str = "",
        schema_tool: str | None = None,
        check: Callable[..., None] | None = None,
    ) -> None:
        self.action = action
        self._check = check
        """The run's :meth:`~ChainRun.check` (``accept``)."""
        self.reader = action.reader
        self.body = body
        """The request body to stream."""
        self.usage: AIMessageChunk | None = None
        self.reasoning_details: list[dict[str, Any]] = []
        """Streamed ``reasoning_details`` pieces joined into whole entries."""
        self.held: list[AIMessageChunk] = []
        """``buffer`` mode: chunks produced but not yet passed on."""
        self.visible = False
        """Whether any chunk of this attempt reached the consumer (failover is visible)."""
        self.held_ws = held_ws
        """A continuation: whitespace the consumer has seen but the prefill left out."""
        self.tool_answer = ToolAnswer(schema_tool) if schema_tool else None
        """Structured output served through a stand-in tool: its arguments become text."""

    @property
    def progress(self) -> Progress:
        """The attempt's clock."""
        return self.action.progress

    def check_whole(self) -> None:
        """The stream ended: put the answer to ``accept``, unless content reached the consumer.

        Then :meth:`Recovery.pass_on` checked what it could before the first chunk.
        """
        if self._check is None or self.visible:
            return
        answer = reduce(operator.add, self.held) if self.held else None
        self._check(self.action, answer)

    def check_partial(self) -> None:
        """Content is about to reach the consumer: what can be checked before it."""
        if self._check is not None and not self.visible:
            self._check(self.action, partial=self.reader.finish_reason is None)

    def handle(self, event: SSEEvent) -> AIMessageChunk | None:
        """The chunk to pass on, if the event carries content; raises on in-band errors."""
        checked = self.reader.feed(event)
        if checked is None:
            return None
        chunk = chunk_to_message(checked)
        if self.tool_answer is not None:
            chunk = self.tool_answer.chunk(chunk)
        if chunk.usage_metadata:
            self.usage = chunk
        details = chunk.additional_kwargs.pop("reasoning_details", None)
        merge_reasoning_details(self.reasoning_details, details)
        if chunk.content or chunk.tool_call_chunks or chunk.additional_kwargs:
            chunk.usage_metadata = None
            return chunk
        return None

    def final_chunk(self, run: ChainRun) -> AIMessageChunk:
        """The closing chunk: usage plus who served and every attempt."""
        attempt = run.succeeded(self.action)
        meta, usage = self.reader.meta, self.reader.usage
        metadata = {
            "model_name": meta.get("model"),
            "model_provider": "openrouter",
            "provider": meta.get("provider"),
            "id": meta.get("id"),
            "finish_reason": self.reader.finish_reason,
            "native_finish_reason": meta.get("native_finish_reason"),
            "usage": usage,
            "cost": self.reader.cost if usage is not None else None,
            "fallback": fallback_metadata(run, attempt.label),
        }
        details = {"reasoning_details": self.reasoning_details} if self.reasoning_details else {}
        return AIMessageChunk(
            content="",
            additional_kwargs=details,
            usage_metadata=self.usage.usage_metadata if self.usage else None,
            response_metadata={k: v for k, v in metadata.items() if v is not None},
            chunk_position="last",
        )


def stream_body(body: dict[str, Any]) -> dict[str, Any]:
    return {**body, "stream": True, "stream_options": {"include_usage": True}}


def _common_prefix(text: str, other: str) -> int:
    """Length of the longest common prefix of two strings."""
    for index, (a, b) in enumerate(zip(text, other, strict=False)):
        if a != b:
            return index
    return min(len(text), len(other))


class Recovery:
    """``stream_recovery`` for one streamed run, free of I/O: what reaches the consumer when.

    The drivers pass every chunk through :meth:`pass_on`, and report each attempt's end to
    :meth:`failed` (which returns the error to raise, if the consumer must learn of the break)
    or :meth:`final`; only the driver's thread or task calls in.
    """

    def __init__(self, run: ChainRun) -> None:
        self.run = run
        self.mode = run.chain.stream_recovery
        self.shown: list[str] = []
        """The text the consumer received, over every attempt (a continuation's prefill)."""
        self.partial: list[str] = []
        """Everything the consumer read, reasoning and text, in the order it arrived."""
        self.tools: list[str] = []
        """Names of the tool calls whose chunks reached the consumer (never continued)."""
        self.broken: tuple[Try, AttemptFailure] | None = None
        """The latest attempt that failed after content reached the consumer, and why."""

    def attempt(self, action: Try) -> StreamAttempt:
        """The state of a new attempt; a continuation carries the consumer's text as prefill."""
        body, held_ws = action.step.body, ""
        if action.recovered == "continued":
            prefill, held_ws = split_prefill("".join(self.shown))
            body = continuation_body(body, prefill)
        return StreamAttempt(
            action, stream_body(body), held_ws, action.step.schema_tool, self.run.check
        )

    def pass_on(self, state: StreamAttempt, chunk: AIMessageChunk) -> AIMessageChunk | None:
        """The chunk for the consumer now; ``None`` when held back (``buffer``) or empty."""
        if self.mode == "buffer":
            state.held.append(chunk)
            return None
        state.check_partial()
        return self._show(state, chunk)

    def release(self, state: StreamAttempt) -> list[AIMessageChunk]:
        """A completed attempt's held-back chunks, now for the consumer."""
        held, state.held = state.held, []
        return [shown for chunk in held if (shown := self._show(state, chunk)) is not None]

    def _show(self, state: StreamAttempt, chunk: AIMessageChunk) -> AIMessageChunk | None:
        content = chunk.content
        if isinstance(content, str) and content and state.held_ws:
            # The continuation may repeat whitespace the trimmed prefill left out.
            seen = _common_prefix(content, state.held_ws)
            content = content[seen:]
            state.held_ws = state.held_ws[seen:] if not content else ""
            if not content and not chunk.tool_call_chunks:
                return None
            chunk = chunk.model_copy(update={"content": content})
        reasoning = chunk.additional_kwargs.get("reasoning_content")
        if isinstance(reasoning, str):
            self.partial.append(reasoning)
        if isinstance(content, str):
            self.shown.append(content)
            self.partial.append(content)
            state.action.contributed += len(content)
        self.tools.extend(name for c in chunk.tool_call_chunks if (name := c.get("name")))
        state.visible = True
        return chunk

    def failed(
        self, state: StreamAttempt, failure: AttemptFailure
    ) -> StreamInterruptedError | None:
        """Report a failed attempt; returns the error to raise when the consumer must learn it.

        ``None``: the driver asks the run for the next try.
        """
        action = state.action
        if not state.visible:
            self.run.failed(action, failure)
            if self.mode == "buffer" and state.reader.produced:
                self.run.recover("buffered")
            return None
        self.run.failed(action, failure, interrupted=True)
        self.broken = (action, failure)
        if self.mode != "continue" or self.tools:
            return self._interrupted()
        self.run.recover("continued")
        return None

    def final(self, state: StreamAttempt) -> AIMessageChunk:
        """The closing chunk of the serving attempt (its held chunks must be released first)."""
        return state.final_chunk(self.run)

    def exhausted(self) -> Exception:
        """What to raise when no step is left: the latest stream break, if the consumer saw one."""
        if self.broken is None:
            return self.run.exhausted()
        return self._interrupted("; no later link could continue it")

    def _interrupted(self, note: str = "") -> StreamInterruptedError:
        assert self.broken is not None  # noqa: S101 - only called after a visible break
        action, failure = self.broken
        run, partial = self.run, "".join(self.partial)
        where = f"after {len(partial)} characters" if partial or not self.tools else ""
        if self.tools:
            calls = ", ".join(dict.fromkeys(self.tools))
            where = f"{where} during tool call {calls}".strip()
        msg = (
            f"chain {run.chain.name!r}: stream from {action.step.label} broke {where} "
            f"({failure.kind.value}: {failure.message}){note}\n"
            f"{describe_attempts(run.attempts)}"
        )
        return StreamInterruptedError(
            msg,
            attempts=run.attempts,
            partial_text=partial,
            chain=run.chain.name,
            kind=failure.kind,
            status_code=failure.status_code,
        )
