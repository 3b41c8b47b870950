"""One streamed attempt turned into chunks, and what a broken stream does (``stream_recovery``).

:class:`StreamAttempt` parses one attempt's SSE events (keep-alives never count as progress;
a malformed event is skipped and noted) and remembers who served and the usage. Reasoning
deltas are output: they move the attempt's clock and reach the consumer as chunks with
``additional_kwargs["reasoning_content"]`` (so a break after them is visible, like text);
streamed ``reasoning_details`` are joined and put on the final chunk.
:class:`Recovery` decides what reaches the consumer and when:

- ``raise``: :class:`StreamInterruptedError` with the partial text the consumer received.
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

import json
from typing import TYPE_CHECKING, Any

from langchain_core.messages import AIMessageChunk

from langchain_openrouter_fallback._adapt import ToolAnswer
from langchain_openrouter_fallback._attempts import Attempt, describe_attempts
from langchain_openrouter_fallback._budget import reported_cost
from langchain_openrouter_fallback._convert import chunk_to_message, merge_reasoning_details
from langchain_openrouter_fallback._errors import ErrorKind, StreamInterruptedError
from langchain_openrouter_fallback._prefill import continuation_body, split_prefill
from langchain_openrouter_fallback._transport import AttemptFailure

if TYPE_CHECKING:
    from langchain_openrouter_fallback._run import ChainRun, Try
    from langchain_openrouter_fallback._transport import Progress, SSEEvent

__all__ = ["FINISH_GRACE", "Recovery", "StreamAttempt", "fallback_metadata", "stream_body"]

FINISH_GRACE = 1.0
"""Seconds to wait for the usage chunk after ``finish_reason`` before finishing anyway."""
_AFTER_FINISH = frozenset({ErrorKind.TIMEOUT, ErrorKind.NETWORK})
"""Failures that cannot spoil an answer whose ``finish_reason`` already arrived."""


def fallback_metadata(run: ChainRun, served_by: str | None) -> dict[str, Any]:
    return {
        "chain": run.chain.name,
        "mode": run.chain.mode,
        "served_by": served_by,
        "cost": run.budget.spent,
        "attempts": [a.as_dict() for a in run.attempts],
    }


class StreamAttempt:
    """Turns one attempt's SSE events into content chunks; remembers who served and usage."""

    def __init__(
        self,
        progress: Progress,
        body: dict[str, Any],
        held_ws: str = "",
        schema_tool: str | None = None,
    ) -> None:
        self.progress = progress
        self.body = body
        """The request body to stream."""
        self.meta: dict[str, Any] = {}
        self.usage: AIMessageChunk | None = None
        self.finish_reason: str | None = None
        self.notes: list[str] = []
        self.text: list[str] = []
        self.produced = False
        """Whether the upstream sent any output (text, reasoning or tool calls)."""
        self.reasoning_details: list[dict[str, Any]] = []
        """Streamed ``reasoning_details`` pieces joined into whole entries."""
        self.held: list[AIMessageChunk] = []
        """``buffer`` mode: chunks produced but not yet passed on."""
        self.shown_chars = 0
        """Characters of text passed on to the consumer."""
        self.visible = False
        """Whether any chunk of this attempt reached the consumer (failover is visible)."""
        self.held_ws = held_ws
        """A continuation: whitespace the consumer has seen but the prefill left out."""
        self.tool_answer = ToolAnswer(schema_tool) if schema_tool else None
        """Structured output served through a stand-in tool: its arguments become text."""

    def handle(self, event: SSEEvent) -> AIMessageChunk | None:
        """The chunk to pass on, if the event carries content; raises on in-band errors."""
        data = self._decode(event)
        if data is None:
            return None
        chunk, finish = chunk_to_message(data)
        if self.tool_answer is not None:
            chunk = self.tool_answer.chunk(chunk)
        for key in ("model", "provider", "id"):
            if data.get(key):
                self.meta[key] = data[key]
        if chunk.usage_metadata:
            self.usage = chunk
        if finish:
            self.finish_reason = finish
            native = (data.get("choices") or [{}])[0].get("native_finish_reason")
            self.meta["native_finish_reason"] = native
            self.progress.finishing(FINISH_GRACE)
        details = chunk.additional_kwargs.pop("reasoning_details", None)
        merge_reasoning_details(self.reasoning_details, details)
        if details:
            self.progress.token()  # reasoning (even encrypted) is output for both clocks
        if chunk.content or chunk.tool_call_chunks or chunk.additional_kwargs:
            self.progress.token()
            if isinstance(chunk.content, str):
                self.text.append(chunk.content)
            chunk.usage_metadata = None
            self.produced = True
            return chunk
        return None

    def _decode(self, event: SSEEvent) -> dict[str, Any] | None:
        """The event's JSON object, or ``None`` (keep-alives; malformed events are noted)."""
        if event.data is None:
            return None  # keep-alive comment: never progress
        try:
            data = json.loads(event.data)
        except ValueError:
            self.notes.append(f"skipped malformed event {event.data[:60]!r}")
            return None
        if not isinstance(data, dict):
            self.notes.append("skipped non-object event")
            return None
        if data.get("choices") is None and not data.get("usage") and not data.get("error"):
            self.notes.append("skipped event with choices: null")
            return None
        if isinstance(data.get("usage"), dict):
            self.meta["usage"] = data["usage"]  # kept before in-band errors raise: cost counts
        return data

    @property
    def complete(self) -> bool:
        """Finish reason and usage both seen: nothing more is needed."""
        return self.finish_reason is not None and self.usage is not None

    def check_finished(self) -> None:
        """A stream that ended without a ``finish_reason`` was cut."""
        if self.finish_reason is None:
            msg = "stream ended before a finish_reason"
            raise AttemptFailure(ErrorKind.NETWORK, msg)

    def absorb_failure(self, failure: AttemptFailure) -> None:
        """Re-raise unless the answer had finished (a timeout or lost connection is noted).

        After ``finish_reason`` only the trailing usage chunk is missing; in-band errors
        still re-raise.
        """
        if self.finish_reason is None or failure.kind not in _AFTER_FINISH:
            raise failure
        if failure.kind == ErrorKind.NETWORK:
            self.notes.append(f"connection lost after finish_reason: {failure.message[:80]}")

    def final_chunk(self, run: ChainRun, action: Try) -> AIMessageChunk:
        """The closing chunk: usage plus who served and every attempt."""
        attempt = Attempt(
            run.served_label(action.step, self.meta.get("model")), action.step.model,
            served_model=self.meta.get("model"), provider=self.meta.get("provider"),
            cost=(self.meta.get("usage") or {}).get("cost"), retry=action.retry, notes=self.notes,
        )  # fmt: skip
        run.succeeded(action, attempt)
        usage = self.meta.get("usage")
        metadata = {
            "model_name": self.meta.get("model"),
            "model_provider": "openrouter",
            "provider": self.meta.get("provider"),
            "id": self.meta.get("id"),
            "finish_reason": self.finish_reason,
            "native_finish_reason": self.meta.get("native_finish_reason"),
            "usage": usage,
            "cost": (usage or {}).get("cost"),
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
    :meth:`failed` or :meth:`final`; only the driver's thread or task calls in.
    """

    def __init__(self, run: ChainRun) -> None:
        self.run = run
        self.mode = run.chain.stream_recovery
        self.shown: list[str] = []
        """The text the consumer received, over every attempt."""
        self.tool_calls = False
        """Whether tool-call chunks reached the consumer (such streams are never continued)."""
        self.broken: tuple[Try, AttemptFailure] | None = None
        """The latest attempt that failed after content reached the consumer, and why."""

    def attempt(self, action: Try) -> StreamAttempt:
        """The state of a new attempt; a continuation carries the consumer's text as prefill."""
        body, held_ws = action.step.body, ""
        if action.recovered == "continued":
            prefill, held_ws = split_prefill("".join(self.shown))
            body = continuation_body(body, prefill)
        return StreamAttempt(action.progress, stream_body(body), held_ws, action.step.schema_tool)

    def pass_on(self, state: StreamAttempt, chunk: AIMessageChunk) -> AIMessageChunk | None:
        """The chunk for the consumer now; ``None`` when held back (``buffer``) or empty."""
        if self.mode == "buffer":
            state.held.append(chunk)
            return None
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
        if isinstance(content, str):
            self.shown.append(content)
            state.shown_chars += len(content)
        self.tool_calls = self.tool_calls or bool(chunk.tool_call_chunks)
        state.visible = True
        return chunk

    def failed(self, action: Try, state: StreamAttempt, failure: AttemptFailure) -> None:
        """Report a failed attempt; raises when the consumer must learn that the stream broke."""
        action.contributed = state.shown_chars
        cost = reported_cost(state.meta)  # a usage chunk that came before the failure
        if not state.visible:
            self.run.failed(action, failure, cost=cost)
            if self.mode == "buffer" and state.produced:
                self.run.recover("buffered")
            return
        self.run.failed(action, failure, interrupted=True, cost=cost)
        self.broken = (action, failure)
        if self.mode != "continue" or self.tool_calls:
            raise self._interrupted()
        self.run.recover("continued")

    def final(self, action: Try, state: StreamAttempt) -> AIMessageChunk:
        """The closing chunk of the serving attempt (its held chunks must be released first)."""
        action.contributed = state.shown_chars
        return state.final_chunk(self.run, action)

    def exhausted(self) -> Exception:
        """What to raise when no step is left: the latest stream break, if the consumer saw one."""
        if self.broken is None:
            return self.run.exhausted()
        return self._interrupted("; no later link could continue it")

    def _interrupted(self, note: str = "") -> StreamInterruptedError:
        assert self.broken is not None  # noqa: S101 - only called after a visible break
        action, failure = self.broken
        run, partial = self.run, "".join(self.shown)
        msg = (
            f"chain {run.chain.name!r}: stream from {action.step.label} broke after "
            f"{len(partial)} characters ({failure.kind.value}: {failure.message}){note}\n"
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
