"""The drivers: run a chain over the transport, sync and async, whole responses and streams.

Every decision is :class:`~langchain_openrouter_fallback._decisions.run.ChainRun`'s. A driver loop
(:meth:`Executor._drive`, :meth:`Executor._adrive`) performs the run's actions: it starts
tries on lanes (:mod:`~langchain_openrouter_fallback._wire.lanes`: inline, or side by side when
the chain hedges), sleeps, stops losers, and reports each lane event back to the run (an
output, the end of a response, a failure). ``invoke``/``stream`` and their async twins only
say what an attempt's work is and turn what the run shows into LangChain messages.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import TYPE_CHECKING, Any

from langchain_openrouter_fallback._decisions.clock import AttemptFailure
from langchain_openrouter_fallback._decisions.run import (
    Cancel,
    ChainRun,
    Finish,
    Listen,
    Output,
    Show,
    Try,
    Wait,
)
from langchain_openrouter_fallback._face.convert import completion_to_message
from langchain_openrouter_fallback._face.live import AttemptNews
from langchain_openrouter_fallback._face.streaming import (
    StreamAttempt,
    fallback_metadata,
    shown_chunk,
)
from langchain_openrouter_fallback._face.tool_answer import answer_from_tool
from langchain_openrouter_fallback._wire.lanes import END, AsyncInline, Inline, Tasks, Threads

if TYPE_CHECKING:
    from collections.abc import (
        AsyncGenerator,
        AsyncIterator,
        Awaitable,
        Callable,
        Generator,
        Iterator,
    )

    from langchain_core.messages import AIMessage, AIMessageChunk

    from langchain_openrouter_fallback._attempts import Attempt
    from langchain_openrouter_fallback._wire.attempt import AttemptReader
    from langchain_openrouter_fallback._wire.lanes import Event
    from langchain_openrouter_fallback._wire.transport import Transport

    Run = ChainRun[AttemptReader]
    Attempting = Try[AttemptReader]

__all__ = ["Executor"]

_SHOWN = (Show, Finish)
"""Actions that pass outputs on (a tuple: ``Show | Finish`` would build a union per action)."""


def _report(run: Run, event: Event | None) -> None:
    """Tell the run what a lane saw (``None``: nothing within the wait)."""
    if event is None:
        return
    action, item = event
    if isinstance(item, Output):
        run.output(action, item)
    elif item is END:
        run.finished(action)
    else:
        assert isinstance(item, AttemptFailure)  # noqa: S101 - the only other event
        run.failed(action, item)


def _answer(action: Attempting, body: dict[str, Any]) -> Output:
    """A whole response as the caller gets it (a stand-in tool's arguments become the text)."""
    message = completion_to_message(body, action.reader.read_body(body))
    schema_tool = action.step.schema_tool
    if schema_tool is not None:
        message = answer_from_tool(message, schema_tool)
    return Output(message)


class Executor:
    """Runs :class:`ChainRun` decisions over a :class:`Transport`.

    ``report`` / ``areport`` receive the attempts recorded since the last call, after every
    action, so callbacks see each failover as it happens.
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

    def _flush(self, run: Run) -> None:
        if self._report is None:
            return
        attempts = run.take_unreported()
        if attempts:
            self._report(attempts)

    async def _aflush(self, run: Run) -> None:
        if self._areport is None:
            return
        attempts = run.take_unreported()
        if attempts:
            await self._areport(attempts)

    # -- the driver loops ---------------------------------------------------------------

    def _drive(
        self,
        run: Run,
        work: Callable[[Attempting], Iterator[Output]],
        news: AttemptNews | None = None,
    ) -> Generator[Show | Finish[AttemptReader] | list[AIMessageChunk], None, None]:
        """Perform the run's actions until it finishes (the last item) or raises.

        With ``news`` (streams), each attempt that did not serve is passed on as soon as the
        run records it, as a content-free chunk.
        """
        hedge = run.chain.hedge
        lanes = Threads(hedge.max_parallel) if hedge is not None else Inline()
        flush = self._report is not None
        try:
            while True:
                action = run.next()
                if flush:
                    self._flush(run)
                if news is not None and (chunks := news.chunks()):
                    yield chunks
                if isinstance(action, Listen):
                    _report(run, lanes.get(action.timeout))
                elif isinstance(action, _SHOWN):
                    yield action
                    if isinstance(action, Finish):
                        return
                elif isinstance(action, Try):
                    lanes.start(action, work(action))
                elif isinstance(action, Wait):
                    time.sleep(action.seconds)
                elif isinstance(action, Cancel):
                    lanes.stop(action.tries)
                else:
                    raise action.error from None
        finally:
            lanes.stop(run.close())
            lanes.close()
            self._flush(run)

    async def _adrive(
        self,
        run: Run,
        work: Callable[[Attempting], AsyncIterator[Output]],
        news: AttemptNews | None = None,
    ) -> AsyncGenerator[Show | Finish[AttemptReader] | list[AIMessageChunk], None]:
        """Async twin of :meth:`_drive`."""
        hedge = run.chain.hedge
        lanes = Tasks() if hedge is not None else AsyncInline()
        flush = self._areport is not None
        try:
            while True:
                action = run.next()
                if flush:
                    await self._aflush(run)
                if news is not None and (chunks := news.chunks()):
                    yield chunks
                if isinstance(action, Listen):
                    _report(run, await lanes.get(action.timeout))
                elif isinstance(action, _SHOWN):
                    yield action
                    if isinstance(action, Finish):
                        return
                elif isinstance(action, Try):
                    lanes.start(action, work(action))
                elif isinstance(action, Wait):
                    await asyncio.sleep(action.seconds)
                elif isinstance(action, Cancel):
                    await lanes.stop(action.tries)
                else:
                    raise action.error from None
        finally:
            await lanes.stop(run.close())
            await lanes.aclose()
            await self._aflush(run)

    # -- whole responses ----------------------------------------------------------------

    def _whole(self, action: Attempting) -> Iterator[Output]:
        body, _ = self.transport.request(action.body, action.progress)
        yield _answer(action, body)

    async def _awhole(self, action: Attempting) -> AsyncIterator[Output]:
        body, _ = await self.transport.arequest(action.body, action.progress)
        yield _answer(action, body)

    @staticmethod
    def _served(run: Run, finish: Finish[AttemptReader]) -> AIMessage:
        message: AIMessage = finish.outputs[0].item
        message.response_metadata["fallback"] = fallback_metadata(run, finish.attempt.label)
        return message

    def invoke(self, run: Run) -> AIMessage:
        """Run the chain for a whole response."""
        with contextlib.closing(self._drive(run, self._whole)) as actions:
            finish = next(a for a in actions if isinstance(a, Finish))
        return self._served(run, finish)

    async def ainvoke(self, run: Run) -> AIMessage:
        """Async twin of :meth:`invoke`."""
        async with contextlib.aclosing(self._adrive(run, self._awhole)) as actions:
            finish = [a async for a in actions if isinstance(a, Finish)].pop()
        return self._served(run, finish)

    # -- streams ------------------------------------------------------------------------

    def _chunks(self, face: StreamAttempt) -> Iterator[Output]:
        events = self.transport.stream(face.body, face.progress)
        try:
            try:
                for event in events:
                    if event.done:
                        break
                    output = face.handle(event)
                    if output is not None:
                        yield output
                    if face.reader.complete:
                        break
            except AttemptFailure as failure:
                face.reader.absorb(failure)
            face.reader.end()
        finally:
            events.close()  # type: ignore[attr-defined]

    async def _achunks(self, face: StreamAttempt) -> AsyncIterator[Output]:
        events = self.transport.astream(face.body, face.progress)
        try:
            try:
                async for event in events:
                    if event.done:
                        break
                    output = face.handle(event)
                    if output is not None:
                        yield output
                    if face.reader.complete:
                        break
            except AttemptFailure as failure:
                face.reader.absorb(failure)
            face.reader.end()
        finally:
            await events.aclose()  # type: ignore[attr-defined]

    def stream(self, run: Run) -> Iterator[AIMessageChunk]:
        """Run the chain as a stream of chunks; the last chunk carries the metadata."""
        faces: dict[Attempting, StreamAttempt] = {}

        def work(action: Attempting) -> Iterator[Output]:
            face = faces[action] = StreamAttempt(action)
            return self._chunks(face)

        with contextlib.closing(self._drive(run, work, AttemptNews(run))) as actions:
            for action in actions:
                if isinstance(action, list):
                    yield from action  # a failover, as it happens
                    continue
                for output in action.outputs:
                    yield shown_chunk(output)
                if isinstance(action, Finish):
                    yield faces[action.tried].final_chunk(run, action.attempt)

    async def astream(self, run: Run) -> AsyncIterator[AIMessageChunk]:
        """Async twin of :meth:`stream`."""
        faces: dict[Attempting, StreamAttempt] = {}

        def work(action: Attempting) -> AsyncIterator[Output]:
            face = faces[action] = StreamAttempt(action)
            return self._achunks(face)

        async with contextlib.aclosing(self._adrive(run, work, AttemptNews(run))) as actions:
            async for action in actions:
                if isinstance(action, list):
                    for chunk in action:  # a failover, as it happens
                        yield chunk
                    continue
                for output in action.outputs:
                    yield shown_chunk(output)
                if isinstance(action, Finish):
                    yield faces[action.tried].final_chunk(run, action.attempt)
