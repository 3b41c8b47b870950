"""Per-link time limits and honest stream endings, enforced on the HTTP path LiteLLM uses.

LiteLLM's ``timeout`` and ``stream_timeout`` are httpx read timeouts: OpenRouter's keep-alives
(``: OPENROUTER PROCESSING`` on streams, whitespace before a JSON body) reset them, so a link
that only sends keep-alives is waited out. :class:`GuardTransport` wraps the httpx transport
of one link (the proxy plugin installs it per attempt) and applies the chain's limits with the
chat model's own clock and response reader, from the public wire seam
(:class:`~langchain_openrouter_fallback.wire.Progress`,
:class:`~langchain_openrouter_fallback.wire.AttemptReader`):

- ``timeout`` bounds the whole attempt, headers and body, streamed or not;
- a stream is read up to its first content (text or a tool call) or its ``finish_reason``
  (with ``stream_recovery: buffer``, up to its ``finish_reason``) before the response is
  handed to LiteLLM. A failure before that point (first-token limit, a cut, an in-band error)
  is raised by the request itself, an ordinary error the Router's fallback loop moves on from
  wherever the link stands in the chain (a pre-first-chunk error raised while LiteLLM reads a
  fallback's stream would reach the client instead), and the client never sees the failed
  link: not its bytes, not its ``x-litellm-model-id``;
- after content, a stall, a cut without ``finish_reason`` or an in-band error is raised into
  LiteLLM's stream, which the proxy turns into an error event (never a truncated success);
- an ``auto`` limit is what this proxy worker learned of the upstream from the attempts that
  served (``cold`` until enough did), resolved as the chat model does
  (:mod:`litellm_config._learning`).

Nothing here imports litellm or LangChain: the exceptions a stream raises come from the
plugin's :class:`StreamFailureHook`, and events are read as plain values. With
``opentelemetry-api`` installed each attempt is reported as a span and metrics
(:mod:`litellm_config._telemetry`), like the chat model's.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Protocol

import httpx

from langchain_openrouter_fallback.decisions import reject
from langchain_openrouter_fallback.wire import (
    AttemptFailure,
    AttemptReader,
    ErrorKind,
    Progress,
    SSEDecoder,
    SSEEvent,
    classify_exception,
)
from litellm_config._learning import BOOK, attempt_clock
from litellm_config._telemetry import GuardAttempt

if TYPE_CHECKING:
    from collections.abc import AsyncGenerator, AsyncIterator

    from langchain_openrouter_fallback.decisions import LatencyBook
    from litellm_config._limits import LinkLimits

__all__ = ["GuardTransport", "StreamFailureHook"]

_DROPPED_HEADERS = ("content-encoding", "content-length", "transfer-encoding")
"""The guard hands LiteLLM decoded bytes, so these no longer describe the body."""


class StreamFailureHook(Protocol):
    """Builds LiteLLM's exception for a failed stream (the request raises it before content)."""

    def __call__(self, failure: AttemptFailure) -> Exception:
        """LiteLLM's exception for ``failure``."""


Send = Callable[[httpx.Request], Awaitable[httpx.Response]]
"""Sends a request and returns the response with its body unread (``stream=True``)."""


class GuardTransport(httpx.AsyncBaseTransport):
    """An httpx transport applying one link's :class:`LinkLimits` around ``send``."""

    def __init__(
        self,
        send: Send,
        *,
        limits: LinkLimits,
        on_failure: StreamFailureHook,
        link: str = "",
        book: LatencyBook = BOOK,
    ) -> None:
        """Wrap ``send`` (e.g. another client's ``send(request, stream=True)``) for ``link``.

        ``book`` keeps what the upstreams' successful attempts took, for ``auto`` limits
        (default: this process's).
        """
        self._send = send
        self._book = book
        self._limits = limits
        self._on_failure = on_failure
        self._link = link

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send with the link's deadline; the body is guarded as it is read."""
        streaming = _wants_stream(request)
        limits = self._limits
        progress, lesson = attempt_clock(limits, request, streaming=streaming, book=self._book)
        if limits.timeout is not None:
            # The whole attempt is bounded here; httpx's read timeout would cut a gap the
            # chain allows (and race the stall limit).
            request.extensions["timeout"] = {**request.extensions.get("timeout", {}), "read": None}
        seen = GuardAttempt(self._link, request, progress, streaming=streaming, lesson=lesson)
        try:
            async with asyncio.timeout_at(_when(progress)):
                response = await self._send(request)
        except TimeoutError:
            seen.failed(progress.expire())
            raise _read_timeout(progress, request) from None
        except httpx.TransportError as exc:
            seen.failed(AttemptFailure(classify_exception(exc), f"{type(exc).__name__}: {exc}"))
            raise _network_error(exc, request) from exc
        body: httpx.AsyncByteStream
        if not response.is_success:
            seen.answered(response.status_code)
        if streaming and response.is_success and _is_event_stream(response):
            events = _GuardedEvents(
                response,
                progress,
                self._on_failure,
                buffer=limits.buffer,
                accept=limits.accept,
                seen=seen,
            )
            try:
                await events.read_to_content()
            except BaseException:
                await response.aclose()
                raise
            body = events
        elif limits.accept and response.is_success:
            body = await self._checked_body(response, progress, request, seen)
        else:
            body = _GuardedBody(response, progress, request, seen)
        headers = [(k, v) for k, v in response.headers.items() if k.lower() not in _DROPPED_HEADERS]
        return httpx.Response(
            response.status_code,
            headers=headers,
            stream=body,
            extensions=response.extensions,
            request=request,
        )

    async def _checked_body(
        self,
        response: httpx.Response,
        progress: Progress,
        request: httpx.Request,
        seen: GuardAttempt,
    ) -> httpx.ByteStream:
        """A JSON answer read whole and put to the ``accept`` checks before LiteLLM sees it."""
        whole = _GuardedBody(response, progress, request, seen, report=False)
        data = b"".join([chunk async for chunk in whole])
        reader, failure = _parse_whole(data, progress)
        if failure is not None:
            seen.failed(failure, reader)
            return httpx.ByteStream(data)  # not a usable completion: LiteLLM's to judge
        rejection = reject(self._limits.accept, reader.answer)  # no schema check here
        if rejection is not None:
            failure = AttemptFailure(
                ErrorKind.REJECTED, f"rejected: {rejection}", check=rejection.check
            )
            seen.failed(failure, reader)
            raise self._on_failure(failure)
        seen.finished(reader)
        return httpx.ByteStream(data)


def _parse_whole(data: bytes, progress: Progress) -> tuple[AttemptReader, AttemptFailure | None]:
    """A whole JSON body read as a completion: the reader, and what was wrong with it."""
    reader = AttemptReader(progress)
    try:
        reader.read_body(json.loads(data))
    except AttemptFailure as failure:
        return reader, failure
    except ValueError:
        return reader, AttemptFailure(ErrorKind.MALFORMED, "body is not JSON")
    return reader, None


def _wants_stream(request: httpx.Request) -> bool:
    try:
        body = json.loads(request.content)
    except (httpx.RequestNotRead, ValueError):
        return False
    return isinstance(body, dict) and body.get("stream") is True


def _is_event_stream(response: httpx.Response) -> bool:
    content_type: str = response.headers.get("content-type", "")
    return content_type.startswith("text/event-stream")


def _when(progress: Progress) -> float | None:
    """The next deadline on the running loop's clock, ``None`` if there is none."""
    when, _ = progress.next_deadline()
    if math.isinf(when):
        return None
    return asyncio.get_running_loop().time() + (when - time.monotonic())


def _network_error(exc: httpx.TransportError, request: httpx.Request) -> httpx.TransportError:
    """``exc``, or a ``ReadError`` in place of the two errors LiteLLM's handler retries.

    ``AsyncHTTPHandler.post`` answers ``RemoteProtocolError`` / ``ConnectError`` by sending
    the same request again on a fresh, unguarded client; the chain moves on instead.
    """
    if isinstance(exc, httpx.RemoteProtocolError | httpx.ConnectError):
        return httpx.ReadError(f"{type(exc).__name__}: {exc}", request=request)
    return exc


def _read_timeout(progress: Progress, request: httpx.Request) -> httpx.ReadTimeout:
    return httpx.ReadTimeout(progress.expire().message, request=request)


class _GuardedBody(httpx.AsyncByteStream):
    """A body read under the attempt's deadline (keep-alive whitespace does not extend it)."""

    def __init__(
        self,
        response: httpx.Response,
        progress: Progress,
        request: httpx.Request,
        seen: GuardAttempt,
        *,
        report: bool = True,
    ) -> None:
        self._response = response
        self._progress = progress
        self._request = request
        self._seen = seen
        self._read: list[bytes] | None = [] if seen.listening and report else None
        """The body, kept only to report what it said (usage, response id; whether it served)."""

    async def __aiter__(self) -> AsyncIterator[bytes]:
        chunks = self._response.aiter_bytes()
        while True:
            try:
                async with asyncio.timeout_at(_when(self._progress)):
                    chunk = await anext(chunks, None)
            except TimeoutError:
                self._seen.failed(self._progress.expire())
                raise _read_timeout(self._progress, self._request) from None
            except httpx.TransportError as exc:
                failure = AttemptFailure(classify_exception(exc), f"{type(exc).__name__}: {exc}")
                self._seen.failed(failure)
                raise _network_error(exc, self._request) from exc
            if chunk is None:
                self._finished()
                return
            if self._read is not None:
                self._read.append(chunk)
            yield chunk

    def _finished(self) -> None:
        if not self._seen.listening or self._read is None:
            return
        reader, failure = _parse_whole(b"".join(self._read), self._progress)
        if failure is not None:
            self._seen.failed(failure, reader)
        else:
            self._seen.finished(reader)

    async def aclose(self) -> None:
        self._seen.finished(None, cancelled=True)  # no-op once reported
        await self._response.aclose()


class _Lines:
    """Splits a byte stream into complete lines (newline kept); the rest waits for more."""

    def __init__(self) -> None:
        self._pending = b""

    def feed(self, chunk: bytes) -> list[bytes]:
        *lines, self._pending = (self._pending + chunk).split(b"\n")
        return [line + b"\n" for line in lines]

    def rest(self) -> bytes:
        rest, self._pending = self._pending, b""
        return rest


class _GuardedEvents(httpx.AsyncByteStream):
    """An SSE body held back until content, with first-token, stall and total limits.

    :meth:`read_to_content` runs before LiteLLM gets the response; iterating then passes on
    the bytes read so far and the rest as it comes.
    """

    def __init__(
        self,
        response: httpx.Response,
        progress: Progress,
        on_failure: StreamFailureHook,
        *,
        buffer: bool,
        accept: tuple[str, ...] = (),
        seen: GuardAttempt,
    ) -> None:
        self._buffer = buffer
        self._accept = accept
        """Checks still to run when the held bytes are released (then none are left)."""
        self._seen = seen
        self._response = response
        self._progress = progress
        self._on_failure = on_failure
        self._attempt = AttemptReader(progress)
        self._decoder = SSEDecoder()
        self._held: list[bytes] = []
        """Lines of parsed events, kept from LiteLLM until content or the finish arrives."""
        self._pending: list[bytes] = []
        """Lines of the event being read (not parsed yet)."""
        self._flow = self._pass_on()
        self._first = b""
        """What :meth:`read_to_content` read: the held bytes, released."""

    @property
    def _released(self) -> bool:
        """Content (``buffer``: the finish) has arrived: bytes pass on as they come."""
        if self._attempt.finish_reason is not None:
            return True
        return self._attempt.produced and not self._buffer

    async def read_to_content(self) -> None:
        """Read until content (``buffer``: the finish) or the end; raise a failure before it."""
        self._first = await anext(self._flow, b"")

    async def __aiter__(self) -> AsyncIterator[bytes]:
        if self._first:
            yield self._first
        async for out in self._flow:
            yield out

    async def _pass_on(self) -> AsyncGenerator[bytes, None]:
        """The bytes to pass on, as they are released; raises the stream's failure."""
        lines = _Lines()
        chunks = self._response.aiter_bytes()
        while True:
            chunk = await self._read(chunks)
            if chunk is None:
                break
            out, failure = self._scan(lines.feed(chunk))
            if out:
                yield out
            if failure is not None:
                raise self._failed(failure)
        out, failure = self._scan([lines.rest()], end=True)
        if out:
            yield out
        if failure is not None:
            raise self._failed(failure)
        self._seen.finished(self._attempt)

    def _failed(self, failure: AttemptFailure) -> Exception:
        """LiteLLM's exception for ``failure``, reported first."""
        self._seen.failed(failure, self._attempt)
        return self._on_failure(failure)

    async def _read(self, chunks: AsyncIterator[bytes]) -> bytes | None:
        """The next chunk, or ``None`` at the end (or when the grace after the finish ran out)."""
        try:
            async with asyncio.timeout_at(_when(self._progress)):
                return await anext(chunks, None)
        except (TimeoutError, httpx.TransportError) as exc:
            if self._attempt.finish_reason is not None:
                return None  # the answer is complete; only the trailing usage chunk is missing
            if isinstance(exc, TimeoutError):
                failure = self._progress.expire()
            else:
                failure = AttemptFailure(classify_exception(exc), f"{type(exc).__name__}: {exc}")
            raise self._failed(failure) from None

    def _scan(
        self, lines: list[bytes], *, end: bool = False
    ) -> tuple[bytes, AttemptFailure | None]:
        """Parse ``lines``; returns the bytes to pass on now and the failure they showed.

        An event's lines move on only once the event is complete and parsed, so an in-band
        error never reaches LiteLLM's own parser.
        """
        passed: list[bytes] = []
        try:
            for line in lines:
                self._pending.append(line)
                text = line.decode("utf-8", "replace").rstrip("\r\n")
                self._handle(self._decoder.feed(text), passed)
            if end:
                self._handle(self._decoder.flush(), passed)
                self._attempt.end()
        except AttemptFailure as exc:
            return b"".join(passed), exc
        return b"".join(passed), None

    def _handle(self, event: SSEEvent | None, passed: list[bytes]) -> None:
        """Parse a completed event and route the lines read so far (held until content)."""
        if event is None:
            return
        if event.done:
            self._attempt.end()  # ``[DONE]`` does not make a cut stream complete
        else:
            self._attempt.feed(event)
        lines, self._pending = self._pending, []
        if not self._released:
            self._held.extend(lines)
            return
        self._check()
        passed.extend(self._held)
        passed.extend(lines)
        self._held = []

    def _check(self) -> None:
        """Put the answer to the ``accept`` checks as it is released.

        All of them once the finish arrived; else only what shows before content (a refusal).
        """
        if not self._accept:
            return
        answer = self._attempt.answer
        whole = answer.finish_reason is not None
        checks = self._accept if whole else [c for c in self._accept if c == "no_refusal"]
        self._accept = ()
        rejection = reject(checks, answer)
        if rejection is not None:
            raise AttemptFailure(ErrorKind.REJECTED, f"rejected: {rejection}")

    async def aclose(self) -> None:
        # LiteLLM may close a stream once it has the finish without reading to the end.
        self._seen.finished(self._attempt, cancelled=self._attempt.finish_reason is None)
        await self._flow.aclose()
        await self._response.aclose()
