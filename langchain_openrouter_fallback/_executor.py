"""Run a chain over the transport: sync and async twins for whole responses and streams.

The decisions live in :class:`~langchain_openrouter_fallback._run.ChainRun`; this module only
performs them. Streams fail over invisibly until content reaches the consumer; after that a
failure raises :class:`StreamInterruptedError` with the partial text (``stream_recovery:
raise``), or, with ``buffer``, each attempt is held back until it completes.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import TYPE_CHECKING, Any

from langchain_core.messages import AIMessage, AIMessageChunk

from langchain_openrouter_fallback._attempts import Attempt, describe_attempts
from langchain_openrouter_fallback._convert import chunk_to_message, completion_to_message
from langchain_openrouter_fallback._errors import ErrorKind, StreamInterruptedError
from langchain_openrouter_fallback._run import ChainRun, Try, Wait
from langchain_openrouter_fallback._transport import AttemptFailure

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

    from langchain_openrouter_fallback._transport import Progress, SSEEvent, Transport

__all__ = ["FINISH_GRACE", "Executor"]

FINISH_GRACE = 1.0
"""Seconds to wait for the usage chunk after ``finish_reason`` before finishing anyway."""


def _fallback_metadata(run: ChainRun, served_by: str | None) -> dict[str, Any]:
    return {
        "chain": run.chain.name,
        "mode": run.chain.mode,
        "served_by": served_by,
        "attempts": [a.as_dict() for a in run.attempts],
    }


class _StreamAttempt:
    """Turns one attempt's SSE events into content chunks; remembers who served and usage."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.meta: dict[str, Any] = {}
        self.usage: AIMessageChunk | None = None
        self.finish_reason: str | None = None
        self.notes: list[str] = []
        self.text: list[str] = []
        self.emitted = False
        """Whether any content reached the consumer (after which failover is visible)."""

    def handle(self, event: SSEEvent) -> AIMessageChunk | None:
        """The chunk to pass on, if the event carries content; raises on in-band errors."""
        data = self._decode(event)
        if data is None:
            return None
        chunk, finish = chunk_to_message(data)
        for key in ("model", "provider", "id"):
            if data.get(key):
                self.meta[key] = data[key]
        if chunk.usage_metadata:
            self.usage = chunk
            self.meta["usage"] = data.get("usage")
        if finish:
            self.finish_reason = finish
            native = (data.get("choices") or [{}])[0].get("native_finish_reason")
            self.meta["native_finish_reason"] = native
            self.progress.finishing(FINISH_GRACE)
        if chunk.content or chunk.tool_call_chunks:
            self.progress.token()
            if isinstance(chunk.content, str):
                self.text.append(chunk.content)
            chunk.usage_metadata = None
            self.emitted = True
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
        """Re-raise unless the failure is only the grace period after finish expiring."""
        if self.finish_reason is None or failure.kind != ErrorKind.TIMEOUT:
            raise failure

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
            "fallback": _fallback_metadata(run, attempt.label),
        }
        return AIMessageChunk(
            content="",
            usage_metadata=self.usage.usage_metadata if self.usage else None,
            response_metadata={k: v for k, v in metadata.items() if v is not None},
            chunk_position="last",
        )


def _stream_body(body: dict[str, Any]) -> dict[str, Any]:
    return {**body, "stream": True, "stream_options": {"include_usage": True}}


class Executor:
    """Runs :class:`ChainRun` decisions over a :class:`Transport`.

    ``report`` / ``areport`` receive the attempts recorded since the last call, after every
    step, so callbacks see each failover as it happens.
    """

    def __init__(
        self,
        transport: Transport,
        *,
        report: Callable[[list[Attempt]], None] | None = None,
        areport: Callable[[list[Attempt]], Awaitable[None]] | None = None,
    ) -> None:
        """Use this transport for every attempt."""
        self.transport = transport
        self._report = report
        self._areport = areport

    def _flush(self, run: ChainRun) -> None:
        attempts = run.take_unreported()
        if attempts and self._report is not None:
            self._report(attempts)

    async def _aflush(self, run: ChainRun) -> None:
        attempts = run.take_unreported()
        if attempts and self._areport is not None:
            await self._areport(attempts)

    # -- whole responses ----------------------------------------------------------------

    def _served(self, run: ChainRun, action: Try, message: AIMessage) -> AIMessage:
        meta = message.response_metadata
        attempt = Attempt(
            run.served_label(action.step, meta.get("model_name")), action.step.model,
            served_model=meta.get("model_name"), provider=meta.get("provider"),
            cost=meta.get("cost"), retry=action.retry,
        )  # fmt: skip
        run.succeeded(action, attempt)
        meta["fallback"] = _fallback_metadata(run, attempt.label)
        return message

    def invoke(self, run: ChainRun) -> AIMessage:
        """Run the chain for a whole response."""
        try:
            while (action := run.next()) is not None:
                self._flush(run)
                if isinstance(action, Wait):
                    time.sleep(action.seconds)
                    continue
                try:
                    body, _ = self.transport.request(action.step.body, action.progress)
                    message = completion_to_message(body)
                except AttemptFailure as failure:
                    run.failed(action, failure)
                    continue
                return self._served(run, action, message)
            raise run.exhausted()
        finally:
            self._flush(run)

    async def ainvoke(self, run: ChainRun) -> AIMessage:
        """Async twin of :meth:`invoke`."""
        try:
            while (action := run.next()) is not None:
                await self._aflush(run)
                if isinstance(action, Wait):
                    await asyncio.sleep(action.seconds)
                    continue
                try:
                    body, _ = await self.transport.arequest(action.step.body, action.progress)
                    message = completion_to_message(body)
                except AttemptFailure as failure:
                    run.failed(action, failure)
                    continue
                return self._served(run, action, message)
            raise run.exhausted()
        finally:
            await self._aflush(run)

    # -- streams ------------------------------------------------------------------------

    def _interrupted(self, run: ChainRun, action: Try, state: _StreamAttempt,
                     failure: AttemptFailure) -> StreamInterruptedError:  # fmt: skip
        run.failed(action, failure, interrupted=True)
        partial = "".join(state.text)
        msg = (
            f"chain {run.chain.name!r}: stream from {action.step.label} broke after "
            f"{len(partial)} characters ({failure.kind.value}: {failure.message})\n"
            f"{describe_attempts(run.attempts)}"
        )
        return StreamInterruptedError(
            msg, attempts=run.attempts, partial_text=partial, chain=run.chain.name
        )

    def _chunks(self, action: Try, state: _StreamAttempt) -> Iterator[AIMessageChunk]:
        events = self.transport.stream(_stream_body(action.step.body), action.progress)
        try:
            try:
                for event in events:
                    if event.done:
                        break
                    chunk = state.handle(event)
                    if chunk is not None:
                        yield chunk
                    if state.complete:
                        break
            except AttemptFailure as failure:
                state.absorb_failure(failure)
            state.check_finished()
        finally:
            events.close()  # type: ignore[attr-defined]

    async def _achunks(self, action: Try, state: _StreamAttempt) -> AsyncIterator[AIMessageChunk]:
        events = self.transport.astream(_stream_body(action.step.body), action.progress)
        try:
            try:
                async for event in events:
                    if event.done:
                        break
                    chunk = state.handle(event)
                    if chunk is not None:
                        yield chunk
                    if state.complete:
                        break
            except AttemptFailure as failure:
                state.absorb_failure(failure)
            state.check_finished()
        finally:
            await events.aclose()  # type: ignore[attr-defined]

    def stream(self, run: ChainRun) -> Iterator[AIMessageChunk]:
        """Run the chain as a stream of chunks; the last chunk carries the metadata."""
        buffer = run.chain.stream_recovery == "buffer"
        try:
            while (action := run.next()) is not None:
                self._flush(run)
                if isinstance(action, Wait):
                    time.sleep(action.seconds)
                    continue
                state, held = _StreamAttempt(action.progress), []
                try:
                    for chunk in self._chunks(action, state):
                        if buffer:
                            held.append(chunk)
                        else:
                            yield chunk
                except AttemptFailure as failure:
                    if state.emitted and not buffer:
                        raise self._interrupted(run, action, state, failure) from None
                    run.failed(action, failure)
                    continue
                yield from held
                yield state.final_chunk(run, action)
                return
            raise run.exhausted()
        finally:
            self._flush(run)

    async def astream(self, run: ChainRun) -> AsyncIterator[AIMessageChunk]:
        """Async twin of :meth:`stream`."""
        buffer = run.chain.stream_recovery == "buffer"
        try:
            while (action := run.next()) is not None:
                await self._aflush(run)
                if isinstance(action, Wait):
                    await asyncio.sleep(action.seconds)
                    continue
                state, held = _StreamAttempt(action.progress), []
                try:
                    async for chunk in self._achunks(action, state):
                        if buffer:
                            held.append(chunk)
                        else:
                            yield chunk
                except AttemptFailure as failure:
                    if state.emitted and not buffer:
                        raise self._interrupted(run, action, state, failure) from None
                    run.failed(action, failure)
                    continue
                for chunk in held:
                    yield chunk
                yield state.final_chunk(run, action)
                return
            raise run.exhausted()
        finally:
            await self._aflush(run)
