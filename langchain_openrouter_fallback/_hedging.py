"""Hedging: race attempts when the running one is slow to produce its first token.

When the running attempt has no first token (for whole responses: no answer) after
``hedge.after`` seconds, the next step starts beside it, up to ``max_parallel`` at once. The
first to yield wins; the others are cancelled (their connections closed) and recorded as
``cancelled``. Sync attempts run in a small thread pool per request (a loser's deadline is set
to now, so the transport's watchdog shuts its socket); async attempts run as tasks (a loser's
task is cancelled). Both meet in one queue, and only the caller's thread or task talks to the
:class:`~langchain_openrouter_fallback._run.ChainRun`.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from langchain_openrouter_fallback._run import Wait
from langchain_openrouter_fallback._streaming import StreamAttempt
from langchain_openrouter_fallback._transport import AttemptFailure

if TYPE_CHECKING:
    from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterator

    from langchain_openrouter_fallback._run import ChainRun, Try

__all__ = ["END", "AsyncRace", "Lane", "Race"]


class _End:
    """Queue marker: a lane has no more items."""


END = _End()


@dataclass(slots=True)
class _Crash:
    """Queue marker: a lane raised something other than an attempt failure (re-raised)."""

    error: Exception


@dataclass(eq=False, slots=True)
class Lane:
    """One attempt of a hedged request."""

    action: Try
    state: StreamAttempt
    cancelled: bool = False
    task: asyncio.Task[None] | None = None


def plain_attempt(action: Try) -> StreamAttempt:
    return StreamAttempt(action, action.step.body)


class _Lanes:
    """What the sync and async races share: the running lanes and how a race ends."""

    def __init__(self, run: ChainRun, attempt: Callable[[Try], StreamAttempt]) -> None:
        self.run = run
        self.lanes: list[Lane] = []
        self._attempt = attempt

    def _new_lane(self, action: Try) -> Lane:
        lane = Lane(action, self._attempt(action))
        self.lanes.append(lane)
        return lane

    def _stop(self, lane: Lane) -> None:
        """Make the lane's attempt end now (its connection is closed)."""
        raise NotImplementedError

    def _cancel(self, lane: Lane, reason: str) -> None:
        lane.cancelled = True
        self._stop(lane)
        self.run.cancelled(lane.action, reason)

    def win(self, winner: Lane) -> None:
        """``winner`` yielded first: cancel every other lane."""
        for lane in self.lanes:
            if lane is not winner:
                self._cancel(lane, f"lost the hedge to {winner.action.step.label}")
        self.lanes = [winner]

    def done(self, lane: Lane) -> None:
        """The lane ended and was reported to the run."""
        self.lanes.remove(lane)

    def _failed(self, lane: Lane, item: object) -> bool:
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


class Race(_Lanes):
    """Hedged attempts in worker threads; their items meet in one queue."""

    def __init__(
        self,
        run: ChainRun,
        work: Callable[[Lane], Iterator[Any]],
        flush: Callable[[], None],
        attempt: Callable[[Try], StreamAttempt] = plain_attempt,
    ) -> None:
        super().__init__(run, attempt)
        self._work = work
        self._flush = flush
        self._queue: queue.SimpleQueue[tuple[Lane, Any]] = queue.SimpleQueue()
        workers = run.chain.hedge.max_parallel if run.chain.hedge else 1
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="openrouter-fallback-hedge")

    def _start(self, action: Try) -> None:
        self._pool.submit(self._pump, self._new_lane(action))

    def _pump(self, lane: Lane) -> None:
        try:
            items = self._work(lane)
            try:
                for item in items:
                    if lane.cancelled:
                        return
                    self._queue.put((lane, item))
            finally:
                items.close()  # type: ignore[attr-defined]
            self._queue.put((lane, END))
        except AttemptFailure as failure:
            self._queue.put((lane, failure))
        except Exception as exc:  # noqa: BLE001 - handed to the caller's thread, re-raised there
            self._queue.put((lane, _Crash(exc)))

    def _stop(self, lane: Lane) -> None:
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

    def first(self) -> tuple[Lane, Any] | None:
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

    def rest(self, winner: Lane, item: Any) -> Iterator[Any]:
        """The winner's items from ``item`` on; raises its failure, if any."""
        while item is not END:
            yield _winner_items(item)
            lane, item = self._queue.get()
            while lane is not winner:
                lane, item = self._queue.get()

    def close(self) -> None:
        """Cancel what still runs; workers finish on their own (their sockets are shut)."""
        self.cancel_all()
        self._pool.shutdown(wait=False, cancel_futures=True)


class AsyncRace(_Lanes):
    """Async twin of :class:`Race`: hedged attempts as tasks."""

    def __init__(
        self,
        run: ChainRun,
        work: Callable[[Lane], AsyncGenerator[Any, None]],
        flush: Callable[[], Awaitable[None]],
        attempt: Callable[[Try], StreamAttempt] = plain_attempt,
    ) -> None:
        super().__init__(run, attempt)
        self._work = work
        self._flush = flush
        self._queue: asyncio.Queue[tuple[Lane, Any]] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []

    def _start(self, action: Try) -> None:
        lane = self._new_lane(action)
        lane.task = asyncio.create_task(self._pump(lane))
        self._tasks.append(lane.task)

    async def _pump(self, lane: Lane) -> None:
        try:
            async with contextlib.aclosing(self._work(lane)) as items:
                async for item in items:
                    self._queue.put_nowait((lane, item))
            self._queue.put_nowait((lane, END))
        except AttemptFailure as failure:
            self._queue.put_nowait((lane, failure))
        except Exception as exc:  # noqa: BLE001 - handed to the caller's task, re-raised there
            self._queue.put_nowait((lane, _Crash(exc)))

    def _stop(self, lane: Lane) -> None:
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

    async def first(self) -> tuple[Lane, Any] | None:
        """Async twin of :meth:`Race.first`."""
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

    async def rest(self, winner: Lane, item: Any) -> AsyncIterator[Any]:
        """Async twin of :meth:`Race.rest`."""
        while item is not END:
            yield _winner_items(item)
            lane, item = await self._queue.get()
            while lane is not winner:
                lane, item = await self._queue.get()

    async def aclose(self) -> None:
        """Cancel what still runs and wait for every task to finish."""
        self.cancel_all()
        await asyncio.gather(*self._tasks, return_exceptions=True)
