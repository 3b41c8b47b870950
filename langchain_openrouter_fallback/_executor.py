"""Run a chain over the transport: sync and async twins for whole responses and streams.

The decisions live in :class:`~langchain_openrouter_fallback._run.ChainRun`; this module only
performs them. Streams fail over invisibly until content reaches the consumer; after that,
:mod:`~langchain_openrouter_fallback._streaming` applies the chain's ``stream_recovery``.
With ``hedge`` set, attempts race (:mod:`~langchain_openrouter_fallback._hedging`).
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from langchain_openrouter_fallback._adapt import answer_from_tool
from langchain_openrouter_fallback._convert import completion_to_message
from langchain_openrouter_fallback._hedging import AsyncRace, Lane, Race
from langchain_openrouter_fallback._live import AttemptNews
from langchain_openrouter_fallback._run import ChainRun, Try, Wait
from langchain_openrouter_fallback._streaming import (
    Recovery,
    StreamAttempt,
    fallback_metadata,
)
from langchain_openrouter_fallback._transport import AttemptFailure

if TYPE_CHECKING:
    from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterator

    from langchain_core.messages import AIMessage, AIMessageChunk

    from langchain_openrouter_fallback._attempts import Attempt
    from langchain_openrouter_fallback._transport import Transport

__all__ = ["Executor"]


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
        if action.step.schema_tool is not None:
            message = answer_from_tool(message, action.step.schema_tool)
        attempt = run.succeeded(action)
        message.response_metadata["fallback"] = fallback_metadata(run, attempt.label)
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
                    message = completion_to_message(body, action.reader.read_body(body))
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
                    message = completion_to_message(body, action.reader.read_body(body))
                except AttemptFailure as failure:
                    run.failed(action, failure)
                    continue
                return self._served(run, action, message)
            raise run.exhausted()
        finally:
            await self._aflush(run)

    def _whole(self, lane: Lane) -> Iterator[AIMessage]:
        action = lane.action
        body, _ = self.transport.request(action.step.body, action.progress)
        yield completion_to_message(body, action.reader.read_body(body))

    async def _awhole(self, lane: Lane) -> AsyncGenerator[AIMessage, None]:
        action = lane.action
        body, _ = await self.transport.arequest(action.step.body, action.progress)
        yield completion_to_message(body, action.reader.read_body(body))

    def _invoke_hedged(self, run: ChainRun) -> AIMessage:
        race = Race(run, self._whole, lambda: self._flush(run))
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
        race = AsyncRace(run, self._awhole, lambda: self._aflush(run))
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

    def _chunks(self, state: StreamAttempt) -> Iterator[AIMessageChunk]:
        events = self.transport.stream(state.body, state.progress)
        try:
            try:
                for event in events:
                    if event.done:
                        break
                    chunk = state.handle(event)
                    if chunk is not None:
                        yield chunk
                    if state.reader.complete:
                        break
            except AttemptFailure as failure:
                state.reader.absorb(failure)
            state.reader.end()
        finally:
            events.close()  # type: ignore[attr-defined]

    async def _achunks(self, state: StreamAttempt) -> AsyncGenerator[AIMessageChunk, None]:
        events = self.transport.astream(state.body, state.progress)
        try:
            try:
                async for event in events:
                    if event.done:
                        break
                    chunk = state.handle(event)
                    if chunk is not None:
                        yield chunk
                    if state.reader.complete:
                        break
            except AttemptFailure as failure:
                state.reader.absorb(failure)
            state.reader.end()
        finally:
            await events.aclose()  # type: ignore[attr-defined]

    def stream(self, run: ChainRun) -> Iterator[AIMessageChunk]:
        """Run the chain as a stream of chunks; the last chunk carries the metadata."""
        if run.chain.hedge is not None:
            yield from self._stream_hedged(run)
            return
        recovery, news = Recovery(run), AttemptNews(run)
        try:
            while (action := run.next()) is not None:
                self._flush(run)
                yield from news.chunks()  # a failover, before the answer's content
                if isinstance(action, Wait):
                    time.sleep(action.seconds)
                    continue
                state = recovery.attempt(action)
                try:
                    for chunk in self._chunks(state):
                        if (shown := recovery.pass_on(state, chunk)) is not None:
                            yield shown
                except AttemptFailure as failure:
                    if (error := recovery.failed(state, failure)) is not None:
                        raise error from None
                    continue
                yield from recovery.release(state)
                yield recovery.final(state)
                return
            raise recovery.exhausted()
        finally:
            self._flush(run)

    async def astream(self, run: ChainRun) -> AsyncIterator[AIMessageChunk]:  # noqa: C901 - async has no `yield from`
        """Async twin of :meth:`stream`."""
        if run.chain.hedge is not None:
            async for chunk in self._astream_hedged(run):
                yield chunk
            return
        recovery, news = Recovery(run), AttemptNews(run)
        try:
            while (action := run.next()) is not None:
                await self._aflush(run)
                for chunk in news.chunks():  # a failover, before the answer's content
                    yield chunk
                if isinstance(action, Wait):
                    await asyncio.sleep(action.seconds)
                    continue
                state = recovery.attempt(action)
                try:
                    async for chunk in self._achunks(state):
                        if (shown := recovery.pass_on(state, chunk)) is not None:
                            yield shown
                except AttemptFailure as failure:
                    if (error := recovery.failed(state, failure)) is not None:
                        raise error from None
                    continue
                for chunk in recovery.release(state):
                    yield chunk
                yield recovery.final(state)
                return
            raise recovery.exhausted()
        finally:
            await self._aflush(run)

    def _stream_hedged(self, run: ChainRun) -> Iterator[AIMessageChunk]:
        recovery, news = Recovery(run), AttemptNews(run)
        race = Race(
            run, lambda lane: self._chunks(lane.state), lambda: self._flush(run), recovery.attempt
        )
        try:
            while (first := race.first()) is not None:
                lane, item = first
                race.win(lane)
                yield from news.chunks()  # failed and cancelled lanes, before content
                try:
                    for chunk in race.rest(lane, item):
                        if (shown := recovery.pass_on(lane.state, chunk)) is not None:
                            yield shown
                except AttemptFailure as failure:
                    race.done(lane)
                    if (error := recovery.failed(lane.state, failure)) is not None:
                        raise error from None
                    continue
                race.done(lane)
                yield from recovery.release(lane.state)
                yield recovery.final(lane.state)
                return
            raise recovery.exhausted()
        finally:
            race.close()
            self._flush(run)

    async def _astream_hedged(self, run: ChainRun) -> AsyncIterator[AIMessageChunk]:
        recovery, news = Recovery(run), AttemptNews(run)
        race = AsyncRace(
            run, lambda lane: self._achunks(lane.state), lambda: self._aflush(run), recovery.attempt
        )
        try:
            while (first := await race.first()) is not None:
                lane, item = first
                race.win(lane)
                for chunk in news.chunks():  # failed and cancelled lanes, before content
                    yield chunk
                try:
                    async for chunk in race.rest(lane, item):
                        if (shown := recovery.pass_on(lane.state, chunk)) is not None:
                            yield shown
                except AttemptFailure as failure:
                    race.done(lane)
                    if (error := recovery.failed(lane.state, failure)) is not None:
                        raise error from None
                    continue
                race.done(lane)
                for chunk in recovery.release(lane.state):
                    yield chunk
                yield recovery.final(lane.state)
                return
            raise recovery.exhausted()
        finally:
            await race.aclose()
            await self._aflush(run)
