"""One streamed attempt's events as LangChain message chunks (the LangChain face of a stream).

:class:`StreamAttempt` turns one attempt's events, read and classified by the try's
:class:`~langchain_openrouter_fallback._wire.attempt.AttemptReader` (keep-alives never count
as progress; a malformed event is skipped and noted; who served and the usage are kept
there), into message chunks, handed to the run as
:class:`~langchain_openrouter_fallback._decisions.run.Output` values. Reasoning deltas are output:
they move the attempt's clock and reach the consumer as chunks with
``additional_kwargs["reasoning_content"]`` (so a break after them is visible, like text);
streamed ``reasoning_details`` are joined and put on the final chunk.

What reaches the consumer and when (``stream_recovery``) is the run's decision
(:class:`~langchain_openrouter_fallback._decisions.run.ChainRun`); :func:`shown_chunk` applies it
to a chunk (a continuation does not repeat whitespace the consumer already has).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from langchain_core.messages import AIMessageChunk

from langchain_openrouter_fallback._decisions.run import Output
from langchain_openrouter_fallback._face.convert import chunk_to_message, merge_reasoning_details
from langchain_openrouter_fallback._face.tool_answer import ToolAnswer

if TYPE_CHECKING:
    from langchain_openrouter_fallback._attempts import Attempt
    from langchain_openrouter_fallback._decisions.clock import Progress
    from langchain_openrouter_fallback._decisions.run import ChainRun, Try
    from langchain_openrouter_fallback._wire.attempt import AttemptReader
    from langchain_openrouter_fallback._wire.transport import SSEEvent

__all__ = ["StreamAttempt", "fallback_metadata", "shown_chunk"]


def fallback_metadata(run: ChainRun[Any], served_by: str | None) -> dict[str, Any]:
    """``response_metadata["fallback"]``: the chain, who served, the cost and every attempt."""
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
    the try's :class:`~langchain_openrouter_fallback._wire.attempt.AttemptReader`.
    """

    def __init__(self, action: Try[AttemptReader]) -> None:
        """Read ``action``'s stream."""
        self.action = action
        self.reader = action.reader
        self.body = action.body
        """The request body to stream."""
        self.usage: AIMessageChunk | None = None
        self.reasoning_details: list[dict[str, Any]] = []
        """Streamed ``reasoning_details`` pieces joined into whole entries."""
        schema_tool = action.step.schema_tool
        self.tool_answer = ToolAnswer(schema_tool) if schema_tool else None
        """Structured output served through a stand-in tool: its arguments become text."""

    @property
    def progress(self) -> Progress:
        """The attempt's clock."""
        return self.action.progress

    def handle(self, event: SSEEvent) -> Output | None:
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
            return _output(chunk)
        return None

    def final_chunk(self, run: ChainRun[Any], attempt: Attempt) -> AIMessageChunk:
        """The closing chunk: usage plus who served (``attempt``) and every attempt."""
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


def _output(chunk: AIMessageChunk) -> Output:
    """What the run needs to know of a chunk it may show."""
    content = chunk.content
    reasoning = chunk.additional_kwargs.get("reasoning_content")
    parts = chunk.tool_call_chunks
    return Output(
        chunk,
        text=content if isinstance(content, str) else None,
        reasoning=reasoning if isinstance(reasoning, str) else None,
        tools=tuple(name for c in parts if (name := c.get("name"))) if parts else (),
        tool_part=bool(parts),
    )


def shown_chunk(output: Output) -> AIMessageChunk:
    """The chunk as the run shows it (a continuation's repeated whitespace left out)."""
    chunk: AIMessageChunk = output.item
    if output.text is not None and output.text != chunk.content:
        return chunk.model_copy(update={"content": output.text})
    return chunk
