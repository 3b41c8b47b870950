"""Run a chain over the transport: sync and async twins for whole responses and streams.

The decisions live in :class:`~langchain_openrouter_fallback._run.ChainRun`; this module only
performs them. Streams fail over invisibly until content reaches the consumer. What a failure
after that does is the chain's (or the call's) ``stream_recovery``, kept in :class:`_Recovery`:

- ``raise``: :class:`StreamInterruptedError` with the partial text the consumer received.
- ``buffer``: every attempt is held back until it completes, so a failure anywhere restarts
  unseen on the next link (tries after such a failure are recorded ``recovered: buffered``).
- ``continue``: the next link that accepts an assistant prefill is asked to continue the
  partial answer (sent as a final ``assistant`` message) and only its new text is passed on
  (``recovered: continued``). A prefill ending in whitespace is trimmed, and the same
  whitespace at the start of the continuation is not passed on twice. Tool-call streams
  are never continued; when no link can continue, the original break is raised.

Every attempt records ``contributed_chars``: the text it added to the consumer's answer.

Hedging (``hedge: {after, max_parallel}``) races attempts: when the running attempt has no
first token (for whole responses: no answer) after ``after`` seconds, the next step starts
beside it, up to ``max_parallel`` at once. The first to yield wins; the others are cancelled
(their connections closed) and recorded as ``cancelled``. Sync attempts run in a small thread
pool per request (a loser's deadline is set to now, so the transport's watchdog shuts its
socket); async attempts run as tasks (a loser's task is cancelled). Both meet in one queue,
and only the caller's thread or task talks to the :class:`ChainRun`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import queue
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from langchain_core.messages import AIMessage, AIMessageChunk

from langchain_openrouter_fallback._attempts import Attempt, describe_attempts
from langchain_openrouter_fallback._convert import chunk_to_message, completion_to_message
from langchain_openrouter_fallback._errors import ErrorKind, StreamInterruptedError
from langchain_openrouter_fallback._prefill import continuation_body, split_prefill
from langchain_openrouter_fallback._run import ChainRun, Try, Wait
from langchain_openrouter_fallback._transport import AttemptFailure

if TYPE_CHECKING:
    from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterator

    from langchain_openrouter_fallback._transport import Progress, SSEEvent, Transport

__all__ = ["FINISH_GRACE", "Executor"]

FINISH_GRACE = 1.0
"""Seconds to wait for the usage chunk after ``finish_reason`` before finishing anyway."""
_AFTER_FINISH = frozenset({ErrorKind.TIMEOUT, ErrorKind.NETWORK})
"""Failures that cannot spoil an answer whose ``finish_reason`` already arrived."""


def _fallback_metadata(run: ChainRun, served_by: str | None) -> dict[str, Any]:
    return {
        "chain": run.chain.name,
        "mode": run.chain.mode,
        "served_by": served_by,
        "attempts": [a.as_dict() for a in run.attempts],
    }


class _StreamAttempt:
    """Turns one attempt's SSE events into content chunks; remembers who served and usage."""

    def __init__(self, progress: Progress, body: dict[str, Any], held_ws: str = "") -> None:
        self.progress = progress
        self.body = body
        """The request body to stream."""
        self.meta: dict[str, Any] = {}
        self.usage: AIMessageChunk | None = None
        self.finish_reason: str | None = None
        self.notes: list[str] = []
        self.text: list[str] = []
        self.produced = False
        """Whether the upstream sent any content (text or tool calls)."""
        self.held: list[AIMessageChunk] = []
        """``buffer`` mode: chunks produced but not yet passed on."""
        self.shown_chars = 0
        """Characters of text passed on to the consumer."""
        self.visible = False
        """Whether any chunk of this attempt reached the consumer (failover is visible)."""
        self.held_ws = held_ws
        """A continuation: whitespace the consumer has seen but the prefill left out."""

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


def _common_prefix(text: str, other: str) -> int:
    """Length of the longest common prefix of two strings."""
    for index, (a, b) in enumerate(zip(text, other, strict=False)):
        if a != b:
            return index
    return min(len(text), len(other))


class _Recovery:
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

    def attempt(self, action: Try) -> _StreamAttempt:
        """The state of a new attempt; a continuation carries the consumer's text as prefill."""
        body, held_ws = action.step.body, ""
        if action.recovered == "continued":
            prefill, held_ws = split_prefill("".join(self.shown))
            body = continuation_body(body, prefill)
        return _StreamAttempt(action.progress, _stream_body(body), held_ws)

    def pass_on(self, state: _StreamAttempt, chunk: AIMessageChunk) -> AIMessageChunk | None:
        """The chunk for the consumer now; ``None`` when held back (``buffer``) or empty."""
        if self.mode == "buffer":
            state.held.append(chunk)
            return None
        return self._show(state, chunk)

    def release(self, state: _StreamAttempt) -> list[AIMessageChunk]:
        """A completed attempt's held-back chunks, now for the consumer."""
        held, state.held = state.held, []
        return [shown for chunk in held if (shown := self._show(state, chunk)) is not None]

    def _show(self, state: _StreamAttempt, chunk: AIMessageChunk) -> AIMessageChunk | None:
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

    def failed(self, action: Try, state: _StreamAttempt, failure: AttemptFailure) -> None:
        """Report a failed attempt; raises when the consumer must learn that the stream broke."""
        action.contributed = state.shown_chars
        if not state.visible:
            self.run.failed(action, failure)
            if self.mode == "buffer" and state.produced:
                self.run.recover("buffered")
            return
        self.run.failed(action, failure, interrupted=True)
        self.broken = (action, failure)
        if self.mode != "continue" or self.tool_calls:
            raise self._interrupted()
        self.run.recover("continued")

    def final(self, action: Try, state: _StreamAttempt) -> AIMessageChunk:
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


class _End:
    """Queue marker: a lane has no more items."""


_END = _End()


@dataclass(slots=True)
class _Crash:
    """Queue marker: a lane raised something other than an attempt failure (re-raised)."""

    error: Exception


@dataclass(eq=False, slots=True)
class _Lane:
    """One attempt of a hedged request."""

    action: Try
    state: _StreamAttempt
    cancelled: bool = False
    task: asyncio.Task[None] | None = None


def _plain_attempt(action: Try) -> _StreamAttempt:
    return _StreamAttempt(action.progress, action.step.body)


class _Lanes:
    """What the sync and async races share: the running lanes and how a race ends."""

    def __init__(self, run: ChainRun, attempt: Callable[[Try], _StreamAttempt]) -> None:
        self.run = run
        self.lanes: list[_Lane] = []
        self._attempt = attempt

    def _new_lane(self, action: Try) -> _Lane:
        lane = _Lane(action, self._attempt(action))
        self.lanes.append(lane)
        return lane

    def _stop(self, lane: _Lane) -> None:
        """Make the lane's attempt end now (its connection is closed)."""
        raise NotImplementedError

    def _cancel(self, lane: _Lane, reason: str) -> None:
        lane.cancelled = True
        self._stop(lane)
        self.run.cancelled(lane.action, reason)

    def win(self, winner: _Lane) -> None:
        """``winner`` yielded first: cancel every other lane."""
        for lane in self.lanes:
            if lane is not winner:
                self._cancel(lane, f"lost the hedge to {winner.action.step.label}")
        self.lanes = [winner]

    def done(self, lane: _Lane) -> None:
        """The lane ended and was reported to the run."""
        self.lanes.remove(lane)

    def _failed(self, lane: _Lane, item: object) -> bool:
        """Report a failed lane to the run (may raise); whether ``item`` was a failure."""
        if isinstance(item, _Crash):
            raise item.error
        if not isinstance(item, AttemptFailure):
            return False
        self.done(lane)
        self.run.failed(lane.action, item)
        return True

    def cancel_all(self) -> None:
        """Cancel the lanes still running (the request ended without them)."""
        for lane in self.lanes:
            self._cancel(lane, "request ended")
        self.lanes = []


def _winner_items(item: object) -> Any:
    """The winner's item, or raise what its lane raised."""
    if isinstance(item, _Crash):
        raise item.error
    if isinstance(item, AttemptFailure):
        raise item
    return item


class _Race(_Lanes):
    """Hedged attempts in worker threads; their items meet in one queue."""

    def __init__(
        self,
        run: ChainRun,
        work: Callable[[_Lane], Iterator[Any]],
        flush: Callable[[], None],
        attempt: Callable[[Try], _StreamAttempt] = _plain_attempt,
    ) -> None:
        super().__init__(run, attempt)
        self._work = work
        self._flush = flush
        self._queue: queue.SimpleQueue[tuple[_Lane, Any]] = queue.SimpleQueue()
        workers = run.chain.hedge.max_parallel if run.chain.hedge else 1
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="openrouter-fallback-hedge")

    def _start(self, action: Try) -> None:
        self._pool.submit(self._pump, self._new_lane(action))

    def _pump(self, lane: _Lane) -> None:
        try:
            items = self._work(lane)
            try:
                for item in items:
                    if lane.cancelled:
                        return
                    self._queue.put((lane, item))
            finally:
                items.close()  # type: ignore[attr-defined]
            self._queue.put((lane, _END))
        except AttemptFailure as failure:
            self._queue.put((lane, failure))
        except Exception as exc:  # noqa: BLE001 - handed to the caller's thread, re-raised there
            self._queue.put((lane, _Crash(exc)))

    def _stop(self, lane: _Lane) -> None:
        lane.action.progress.finishing(0.0)  # deadline now: the watchdog shuts the socket

    def _start_next(self) -> bool:
        while (action := self.run.next()) is not None:
            self._flush()
            if isinstance(action, Wait):
                time.sleep(action.seconds)
                continue
            self._start(action)
            return True
        return False

    def first(self) -> tuple[_Lane, Any] | None:
        """Run attempts, hedging slow ones, until one yields; ``None`` when every step failed."""
        while True:
            if not self.lanes and not self._start_next():
                return None
            try:
                lane, item = self._queue.get(timeout=self.run.hedge_delay())
            except queue.Empty:
                hedge = self.run.hedge()
                self._flush()
                if hedge is not None:
                    self._start(hedge)
                continue
            if lane.cancelled or self._failed(lane, item):
                self._flush()
                continue
            return lane, item

    def rest(self, winner: _Lane, item: Any) -> Iterator[Any]:
        """The winner's items from ``item`` on; raises its failure, if any."""
        while item is not _END:
            yield _winner_items(item)
            lane, item = self._queue.get()
            while lane is not winner:
                lane, item = self._queue.get()

    def close(self) -> None:
        """Cancel what still runs; workers finish on their own (their sockets are shut)."""
        self.cancel_all()
        self._pool.shutdown(wait=False, cancel_futures=True)


class _AsyncRace(_Lanes):
    """Async twin of :class:`_Race`: hedged attempts as tasks."""

    def __init__(
        self,
        run: ChainRun,
        work: Callable[[_Lane], AsyncGenerator[Any, None]],
        flush: Callable[[], Awaitable[None]],
        attempt: Callable[[Try], _StreamAttempt] = _plain_attempt,
    ) -> None:
        super().__init__(run, attempt)
        self._work = work
        self._flush = flush
        self._queue: asyncio.Queue[tuple[_Lane, Any]] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []

    def _start(self, action: Try) -> None:
        lane = self._new_lane(action)
        lane.task = asyncio.create_task(self._pump(lane))
        self._tasks.append(lane.task)

    async def _pump(self, lane: _Lane) -> None:
        try:
            async with contextlib.aclosing(self._work(lane)) as items:
                async for item in items:
                    self._queue.put_nowait((lane, item))
            self._queue.put_nowait((lane, _END))
        except AttemptFailure as failure:
            self._queue.put_nowait((lane, failure))
        except Exception as exc:  # noqa: BLE001 - handed to the caller's task, re-raised there
            self._queue.put_nowait((lane, _Crash(exc)))

    def _stop(self, lane: _Lane) -> None:
        if lane.task is not None:
            lane.task.cancel()  # closes the response, and with it the connection

    async def _start_next(self) -> bool:
        while (action := self.run.next()) is not None:
            await self._flush()
            if isinstance(action, Wait):
                await asyncio.sleep(action.seconds)
                continue
            self._start(action)
            return True
        return False

    async def first(self) -> tuple[_Lane, Any] | None:
        """Async twin of :meth:`_Race.first`."""
        while True:
            if not self.lanes and not await self._start_next():
                return None
            try:
                async with asyncio.timeout(self.run.hedge_delay()):
                    lane, item = await self._queue.get()
            except TimeoutError:
                hedge = self.run.hedge()
                await self._flush()
                if hedge is not None:
                    self._start(hedge)
                continue
            if lane.cancelled or self._failed(lane, item):
                await self._flush()
                continue
            return lane, item

    async def rest(self, winner: _Lane, item: Any) -> AsyncIterator[Any]:
        """Async twin of :meth:`_Race.rest`."""
        while item is not _END:
            yield _winner_items(item)
            lane, item = await self._queue.get()
            while lane is not winner:
                lane, item = await self._queue.get()

    async def aclose(self) -> None:
        """Cancel what still runs and wait for every task to finish."""
        self.cancel_all()
        await asyncio.gather(*self._tasks, return_exceptions=True)


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
        if run.chain.hedge is not None:
            return self._invoke_hedged(run)
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
        if run.chain.hedge is not None:
            return await self._ainvoke_hedged(run)
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

    def _whole(self, lane: _Lane) -> Iterator[AIMessage]:
        body, _ = self.transport.request(lane.action.step.body, lane.action.progress)
        yield completion_to_message(body)

    async def _awhole(self, lane: _Lane) -> AsyncGenerator[AIMessage, None]:
        body, _ = await self.transport.arequest(lane.action.step.body, lane.action.progress)
        yield completion_to_message(body)

    def _invoke_hedged(self, run: ChainRun) -> AIMessage:
        race = _Race(run, self._whole, lambda: self._flush(run))
        try:
            first = race.first()
            if first is None:
                raise run.exhausted()
            lane, message = first
            race.win(lane)
            race.done(lane)
            return self._served(run, lane.action, message)
        finally:
            race.close()
            self._flush(run)

    async def _ainvoke_hedged(self, run: ChainRun) -> AIMessage:
        race = _AsyncRace(run, self._awhole, lambda: self._aflush(run))
        try:
            first = await race.first()
            if first is None:
                raise run.exhausted()
            lane, message = first
            race.win(lane)
            race.done(lane)
            return self._served(run, lane.action, message)
        finally:
            await race.aclose()
            await self._aflush(run)

    # -- streams ------------------------------------------------------------------------

    def _chunks(self, state: _StreamAttempt) -> Iterator[AIMessageChunk]:
        events = self.transport.stream(state.body, state.progress)
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

    async def _achunks(self, state: _StreamAttempt) -> AsyncGenerator[AIMessageChunk, None]:
        events = self.transport.astream(state.body, state.progress)
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
        if run.chain.hedge is not None:
            yield from self._stream_hedged(run)
            return
        recovery = _Recovery(run)
        try:
            while (action := run.next()) is not None:
                self._flush(run)
                if isinstance(action, Wait):
                    time.sleep(action.seconds)
                    continue
                state = recovery.attempt(action)
                try:
                    for chunk in self._chunks(state):
                        if (shown := recovery.pass_on(state, chunk)) is not None:
                            yield shown
                except AttemptFailure as failure:
                    recovery.failed(action, state, failure)
                    continue
                yield from recovery.release(state)
                yield recovery.final(action, state)
                return
            raise recovery.exhausted()
        finally:
            self._flush(run)

    async def astream(self, run: ChainRun) -> AsyncIterator[AIMessageChunk]:
        """Async twin of :meth:`stream`."""
        if run.chain.hedge is not None:
            async for chunk in self._astream_hedged(run):
                yield chunk
            return
        recovery = _Recovery(run)
        try:
            while (action := run.next()) is not None:
                await self._aflush(run)
                if isinstance(action, Wait):
                    await asyncio.sleep(action.seconds)
                    continue
                state = recovery.attempt(action)
                try:
                    async for chunk in self._achunks(state):
                        if (shown := recovery.pass_on(state, chunk)) is not None:
                            yield shown
                except AttemptFailure as failure:
                    recovery.failed(action, state, failure)
                    continue
                for chunk in recovery.release(state):
                    yield chunk
                yield recovery.final(action, state)
                return
            raise recovery.exhausted()
        finally:
            await self._aflush(run)

    def _stream_hedged(self, run: ChainRun) -> Iterator[AIMessageChunk]:
        recovery = _Recovery(run)
        race = _Race(
            run, lambda lane: self._chunks(lane.state), lambda: self._flush(run), recovery.attempt
        )
        try:
            while (first := race.first()) is not None:
                lane, item = first
                race.win(lane)
                try:
                    for chunk in race.rest(lane, item):
                        if (shown := recovery.pass_on(lane.state, chunk)) is not None:
                            yield shown
                except AttemptFailure as failure:
                    race.done(lane)
                    recovery.failed(lane.action, lane.state, failure)
                    continue
                race.done(lane)
                yield from recovery.release(lane.state)
                yield recovery.final(lane.action, lane.state)
                return
            raise recovery.exhausted()
        finally:
            race.close()
            self._flush(run)

    async def _astream_hedged(self, run: ChainRun) -> AsyncIterator[AIMessageChunk]:
        recovery = _Recovery(run)
        race = _AsyncRace(
            run, lambda lane: self._achunks(lane.state), lambda: self._aflush(run), recovery.attempt
        )
        try:
            while (first := await race.first()) is not None:
                lane, item = first
                race.win(lane)
                try:
                    async for chunk in race.rest(lane, item):
                        if (shown := recovery.pass_on(lane.state, chunk)) is not None:
                            yield shown
                except AttemptFailure as failure:
                    race.done(lane)
                    recovery.failed(lane.action, lane.state, failure)
                    continue
                race.done(lane)
                for chunk in recovery.release(lane.state):
                    yield chunk
                yield recovery.final(lane.action, lane.state)
                return
            raise recovery.exhausted()
        finally:
            await race.aclose()
            await self._aflush(run)
