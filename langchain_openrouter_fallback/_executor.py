"""Run a chain over the transport: sync and async twins for whole responses and streams.

The decisions live in :class:`~langchain_openrouter_fallback._run.ChainRun`; this module only
performs them. Streams fail over invisibly until content reaches the consumer; after that a
failure raises :class:`StreamInterruptedError` with the partial text (``stream_recovery:
raise``), or, with ``buffer``, each attempt is held back until it completes.

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
from langchain_openrouter_fallback._run import ChainRun, Try, Wait
from langchain_openrouter_fallback._transport import AttemptFailure

if TYPE_CHECKING:
    from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterator

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


class _Lanes:
    """What the sync and async races share: the running lanes and how a race ends."""

    def __init__(self, run: ChainRun) -> None:
        self.run = run
        self.lanes: list[_Lane] = []

    def _new_lane(self, action: Try) -> _Lane:
        lane = _Lane(action, _StreamAttempt(action.progress))
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
        self, run: ChainRun, work: Callable[[_Lane], Iterator[Any]], flush: Callable[[], None]
    ) -> None:
        super().__init__(run)
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
    ) -> None:
        super().__init__(run)
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

    async def _achunks(
        self, action: Try, state: _StreamAttempt
    ) -> AsyncGenerator[AIMessageChunk, None]:
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
        if run.chain.hedge is not None:
            yield from self._stream_hedged(run)
            return
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
        if run.chain.hedge is not None:
            async for chunk in self._astream_hedged(run):
                yield chunk
            return
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

    def _stream_hedged(self, run: ChainRun) -> Iterator[AIMessageChunk]:
        buffer = run.chain.stream_recovery == "buffer"
        race = _Race(
            run, lambda lane: self._chunks(lane.action, lane.state), lambda: self._flush(run)
        )
        try:
            while (first := race.first()) is not None:
                lane, item = first
                race.win(lane)
                held: list[AIMessageChunk] = []
                try:
                    for chunk in race.rest(lane, item):
                        if buffer:
                            held.append(chunk)
                        else:
                            yield chunk
                except AttemptFailure as failure:
                    race.done(lane)
                    if lane.state.emitted and not buffer:
                        raise self._interrupted(run, lane.action, lane.state, failure) from None
                    run.failed(lane.action, failure)
                    continue
                race.done(lane)
                yield from held
                yield lane.state.final_chunk(run, lane.action)
                return
            raise run.exhausted()
        finally:
            race.close()
            self._flush(run)

    async def _astream_hedged(self, run: ChainRun) -> AsyncIterator[AIMessageChunk]:
        buffer = run.chain.stream_recovery == "buffer"
        race = _AsyncRace(
            run, lambda lane: self._achunks(lane.action, lane.state), lambda: self._aflush(run)
        )
        try:
            while (first := await race.first()) is not None:
                lane, item = first
                race.win(lane)
                held: list[AIMessageChunk] = []
                try:
                    async for chunk in race.rest(lane, item):
                        if buffer:
                            held.append(chunk)
                        else:
                            yield chunk
                except AttemptFailure as failure:
                    race.done(lane)
                    if lane.state.emitted and not buffer:
                        raise self._interrupted(run, lane.action, lane.state, failure) from None
                    run.failed(lane.action, failure)
                    continue
                race.done(lane)
                for chunk in held:
                    yield chunk
                yield lane.state.final_chunk(run, lane.action)
                return
            raise run.exhausted()
        finally:
            await race.aclose()
            await self._aflush(run)
