"""Where attempts run while the run decides: one at a time inline, or hedged side by side.

A driver starts each :class:`~langchain_openrouter_fallback._decisions.run.Try` on its lanes with
the work that reads it (an iterator of outputs that raises ``AttemptFailure`` when the attempt
fails) and asks for the next event, ``(try, item)``: an output, :data:`END`, or the failure.
``None`` means nothing came ``within`` the wait (or only news from a stopped lane).

- :class:`Inline` / :class:`AsyncInline`: one attempt, read in the caller's thread or task
  (chains without ``hedge``).
- :class:`Threads` / :class:`Tasks`: hedged attempts in a small thread pool per request, or
  as tasks; their events meet in one queue. Stopping a thread lane sets its deadline to now
  (the transport's watchdog shuts its socket); stopping a task cancels it, which closes its
  response.

Lanes decide nothing and never talk to the run: the driver reports their events to it.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from langchain_openrouter_fallback._decisions.clock import AttemptFailure

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

    from langchain_openrouter_fallback._decisions.run import Output, Try

__all__ = ["END", "AsyncInline", "Event", "Inline", "Tasks", "Threads"]


class _End:
    """Event item: the attempt's response is complete."""


END = _End()
Event = tuple["Try[Any]", "Output | _End | AttemptFailure"]


@dataclass(slots=True)
class _Crash:
    """Queue item: a lane raised something other than an attempt failure (re-raised)."""

    error: Exception


@dataclass(eq=False, slots=True)
class _Lane:
    action: Try[Any]
    stopped: bool = False
    task: asyncio.Task[None] | None = None


class Inline:
    """One attempt at a time, read in the caller's thread."""

    def __init__(self) -> None:
        """No attempt yet."""
        self._action: Try[Any] | None = None
        self._work: Iterator[Output] | None = None

    def start(self, action: Try[Any], work: Iterator[Output]) -> None:
        """Read ``action`` through ``work`` from now on."""
        self._action, self._work = action, work

    def get(self, within: float | None) -> Event | None:  # noqa: ARG002 - no hedge inline
        """The attempt's next event (its work runs until it has one)."""
        assert self._action is not None  # noqa: S101 - started before the run listens
        assert self._work is not None  # noqa: S101
        action = self._action
        try:
            return action, next(self._work)
        except StopIteration:
            item: _End | AttemptFailure = END
        except AttemptFailure as failure:
            item = failure
        self._action = self._work = None
        return action, item

    def stop(self, tries: list[Try[Any]]) -> None:
        """Close the attempt's work if it is one of ``tries``."""
        if self._work is not None and self._action in tries:
            self._work.close()  # type: ignore[attr-defined]
            self._action = self._work = None

    def close(self) -> None:
        """Nothing is left running (the run stopped what was)."""


class AsyncInline:
    """Async twin of :class:`Inline`."""

    def __init__(self) -> None:
        """No attempt yet."""
        self._action: Try[Any] | None = None
        self._work: AsyncIterator[Output] | None = None

    def start(self, action: Try[Any], work: AsyncIterator[Output]) -> None:
        """Read ``action`` through ``work`` from now on."""
        self._action, self._work = action, work

    async def get(self, within: float | None) -> Event | None:  # noqa: ARG002 - no hedge inline
        """Async twin of :meth:`Inline.get`."""
        assert self._action is not None  # noqa: S101 - started before the run listens
        assert self._work is not None  # noqa: S101
        action = self._action
        try:
            return action, await anext(self._work)
        except StopAsyncIteration:
            item: _End | AttemptFailure = END
        except AttemptFailure as failure:
            item = failure
        self._action = self._work = None
        return action, item

    async def stop(self, tries: list[Try[Any]]) -> None:
        """Async twin of :meth:`Inline.stop`."""
        if self._work is not None and self._action in tries:
            await self._work.aclose()  # type: ignore[attr-defined]
            self._action = self._work = None

    async def aclose(self) -> None:
        """Async twin of :meth:`Inline.close`."""


class Threads:
    """Hedged attempts in worker threads; their events meet in one queue."""

    def __init__(self, workers: int) -> None:
        """Run up to ``workers`` attempts at once."""
        self._queue: queue.SimpleQueue[tuple[_Lane, Any]] = queue.SimpleQueue()
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="openrouter-fallback-hedge")
        self._lanes: list[_Lane] = []

    def start(self, action: Try[Any], work: Iterator[Output]) -> None:
        """Read ``action`` through ``work`` in a worker thread."""
        lane = _Lane(action)
        self._lanes.append(lane)
        self._pool.submit(self._pump, lane, work)

    def _pump(self, lane: _Lane, work: Iterator[Output]) -> None:
        try:
            try:
                for item in work:
                    if lane.stopped:
                        return
                    self._queue.put((lane, item))
            finally:
                work.close()  # type: ignore[attr-defined]
            self._queue.put((lane, END))
        except AttemptFailure as failure:
            self._queue.put((lane, failure))
        except Exception as exc:  # noqa: BLE001 - handed to the caller's thread, re-raised there
            self._queue.put((lane, _Crash(exc)))

    def get(self, within: float | None) -> Event | None:
        """The next event of a running lane, or ``None`` after ``within`` seconds."""
        try:
            lane, item = self._queue.get(timeout=within)
        except queue.Empty:
            return None
        return _event(lane, item)

    def stop(self, tries: list[Try[Any]]) -> None:
        """Stop these attempts: their deadline is now, so the watchdog shuts their sockets."""
        for lane in self._lanes:
            if lane.action in tries:
                lane.stopped = True
                lane.action.progress.finishing(0.0)
        self._lanes = [lane for lane in self._lanes if not lane.stopped]

    def close(self) -> None:
        """Workers finish on their own (their sockets are shut)."""
        self._pool.shutdown(wait=False, cancel_futures=True)


class Tasks:
    """Async twin of :class:`Threads`: hedged attempts as tasks."""

    def __init__(self) -> None:
        """No attempt yet."""
        self._queue: asyncio.Queue[tuple[_Lane, Any]] = asyncio.Queue()
        self._lanes: list[_Lane] = []

    def start(self, action: Try[Any], work: AsyncIterator[Output]) -> None:
        """Read ``action`` through ``work`` in a task."""
        lane = _Lane(action)
        self._lanes.append(lane)
        lane.task = asyncio.create_task(self._pump(lane, work))

    async def _pump(self, lane: _Lane, work: AsyncIterator[Output]) -> None:
        try:
            async with contextlib.aclosing(work) as items:  # type: ignore[type-var]
                async for item in items:
                    self._queue.put_nowait((lane, item))
            self._queue.put_nowait((lane, END))
        except AttemptFailure as failure:
            self._queue.put_nowait((lane, failure))
        except Exception as exc:  # noqa: BLE001 - handed to the caller's task, re-raised there
            self._queue.put_nowait((lane, _Crash(exc)))

    async def get(self, within: float | None) -> Event | None:
        """Async twin of :meth:`Threads.get`."""
        try:
            async with asyncio.timeout(within):
                lane, item = await self._queue.get()
        except TimeoutError:
            return None
        return _event(lane, item)

    async def stop(self, tries: list[Try[Any]]) -> None:
        """Stop these attempts: their tasks are cancelled (closing their responses)."""
        for lane in self._lanes:
            if lane.action in tries and lane.task is not None:
                lane.stopped = True
                lane.task.cancel()

    async def aclose(self) -> None:
        """Wait for every task to finish."""
        await asyncio.gather(
            *(lane.task for lane in self._lanes if lane.task), return_exceptions=True
        )


def _event(lane: _Lane, item: Any) -> Event | None:
    """A queued item as an event; ``None`` for a stopped lane's; re-raises a lane's crash."""
    if lane.stopped:
        return None
    if isinstance(item, _Crash):
        raise item.error
    return lane.action, item
