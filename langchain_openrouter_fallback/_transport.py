"""HTTP to OpenRouter: pooled httpx clients, lenient JSON, SSE with keep-alives, hard deadlines.

Every attempt gets a :class:`Progress`, the one clock of the attempt: a whole-attempt
deadline plus optional first-token and stall limits. Only output (content, tool calls or
reasoning, reported by the caller through :meth:`Progress.token`) moves the clock; SSE
comments such as ``: OPENROUTER PROCESSING`` and whitespace padding never do. httpx's own
read timeout is not a limit: async code enforces the clock per read with
``asyncio.timeout_at``; sync code cannot interrupt a blocking read, so the wait for headers
is bounded by the clock's next deadline and the body by a single watchdog thread that shuts
the socket down when a limit passes. A body that then ends (cleanly, when the server frames
it by closing the connection) is reported as the limit that fired, never as a short answer.

A ``200`` reply to a stream request that is not ``text/event-stream`` (a JSON error body, an
HTML page, an empty body) is passed on as one whole-body event, so it is classified exactly
as on a non-stream request.

httpx's exceptions are translated to :class:`AttemptFailure` at this one boundary.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import json
import math
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import httpx

from langchain_openrouter_fallback._errors import (
    ErrorKind,
    classify,
    classify_exception,
    error_message,
)

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Iterator, Mapping

__all__ = [
    "AttemptFailure",
    "Limit",
    "Progress",
    "SSEDecoder",
    "SSEEvent",
    "Transport",
    "parse_json_body",
    "retry_after_seconds",
]

DEFAULT_CONNECT_TIMEOUT = 10.0
Limit = Literal["connect", "first_token", "stall", "total"]
"""Which limit of an attempt's clock fired."""
_MAX_ERROR_BODY = 64 * 1024
_DONE = "[DONE]"


class AttemptFailure(Exception):  # noqa: N818 - internal signal, not a user-facing error
    """One attempt failed; carries what the executor needs to decide what comes next."""

    def __init__(
        self,
        kind: ErrorKind,
        message: str,
        *,
        status_code: int | None = None,
        retry_after: float | None = None,
        body: Any = None,
        reset_before_response: bool = False,
        limit: Limit | None = None,
        check: str | None = None,
    ) -> None:
        """Record kind, message and optional HTTP context."""
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.status_code = status_code
        self.retry_after = retry_after
        self.body = body
        self.reset_before_response = reset_before_response
        """The connection broke after connecting and before any response byte."""
        self.limit = limit
        """A ``timeout``: which limit of the attempt's clock fired (``None`` for a 408/524)."""
        self.check = check
        """A ``rejected`` answer: the ``accept`` check that turned it down."""

    @classmethod
    def from_status(
        cls, status: int, body: Any, headers: httpx.Headers | None = None
    ) -> AttemptFailure:
        """An HTTP error status (or in-band error object) with its OpenRouter body."""
        message = error_message(body) or (body if isinstance(body, str) else f"HTTP {status}")
        retry_after = retry_after_seconds(headers) if headers is not None else None
        return cls(
            classify(status, body),
            str(message)[:500],
            status_code=status,
            retry_after=retry_after,
            body=body,
        )


def retry_after_seconds(headers: httpx.Headers) -> float | None:
    """Seconds from ``Retry-After`` (delta form) or ``X-RateLimit-Reset`` (epoch ms)."""
    value = headers.get("retry-after")
    if value is not None:
        with contextlib.suppress(ValueError):
            return max(0.0, float(value))
    reset = headers.get("x-ratelimit-reset")
    if reset is not None:
        with contextlib.suppress(ValueError):
            return max(0.0, float(reset) / 1000 - time.time())
    return None


def parse_json_body(raw: bytes | str) -> Any:
    """Parse a response body, tolerating OpenRouter's leading whitespace padding."""
    return json.loads(raw.strip() if isinstance(raw, str) else raw.strip() or b"null")


@dataclass(slots=True)
class Progress:
    """The clock of one attempt; all times are ``time.monotonic()`` seconds."""

    deadline: float
    first_token: float | None = None
    stall: float | None = None
    connect: float = DEFAULT_CONNECT_TIMEOUT
    started: float = field(default_factory=time.monotonic)
    first_token_at: float | None = None
    last_token_at: float | None = None
    expired: Limit | None = None
    """Which limit fired (``total``, ``first_token``, ``stall``), once one has."""
    responded: bool = False
    """The response's status line and headers arrived (set by :class:`Transport`)."""
    armed_at: float = math.inf
    """The deadline the watchdog is currently waiting for (sync only)."""
    rearm: Callable[[], None] | None = None
    request_sent: bool = False
    """The request went out: its headers were written and its body followed (see :meth:`trace`)."""

    def trace(self, event: str, info: Mapping[str, Any]) -> None:
        """The httpx ``trace`` extension (sync): the request counts as sent once its body starts.

        Not ``send_request_body.complete``: an async write can be cancelled after its bytes
        left (anyio yields once more), and a request the upstream may have read must count.
        The hook then takes itself off the request: httpcore would call it at every later
        phase (~2 us each), and the transport knows the headers are in when ``stream`` returns.
        """
        if event.endswith("send_request_body.started"):
            self.request_sent = True
            request = info.get("request")
            if request is not None:
                request.extensions.pop("trace", None)

    async def atrace(self, event: str, info: Mapping[str, Any]) -> None:
        """Async twin of :meth:`trace` (the async client awaits its trace callback)."""
        self.trace(event, info)

    def token(self) -> None:
        """Output arrived: the first-token limit is met and the stall clock restarts."""
        now = time.monotonic()
        if self.first_token_at is None:
            self.first_token_at = now
        self.last_token_at = now
        self._changed()

    def finishing(self, grace: float) -> None:
        """The answer is complete; allow ``grace`` seconds for trailing usage, no more."""
        self.deadline = min(self.deadline, time.monotonic() + grace)
        self._changed()

    def _changed(self) -> None:
        # Deadlines that move later are found by the watchdog when it wakes; one that moves
        # earlier than what it waits for must wake it now.
        if self.rearm is not None and self.next_deadline()[0] < self.armed_at:
            self.rearm()

    def next_deadline(self) -> tuple[float, Limit]:
        """The earliest limit still running, and its name."""
        limits: list[tuple[float, Limit]] = [(self.deadline, "total")]
        if self.first_token is not None and self.first_token_at is None:
            limits.append((self.started + self.first_token, "first_token"))
        if self.stall is not None and self.last_token_at is not None:
            limits.append((self.last_token_at + self.stall, "stall"))
        return min(limits)

    def httpx_timeout(self) -> httpx.Timeout:
        """The wait for headers (sync): what is left until the next limit.

        Sync only: async reads are bounded by ``asyncio.timeout_at`` instead. Once headers
        arrive, :func:`_watch_body` hands the body over to the watchdog.
        """
        when, _ = self.next_deadline()
        remaining = max(0.001, when - time.monotonic())
        return httpx.Timeout(remaining, connect=min(self.connect, remaining))

    def async_timeout(self) -> httpx.Timeout:
        """Async: only connecting is bounded by httpx; every read is bounded by the clock."""
        remaining = max(0.001, self.deadline - time.monotonic())
        return httpx.Timeout(None, connect=min(self.connect, remaining))

    def check(self) -> None:
        """Raise the timeout that fired, if one did (a socket shut down may read as an end)."""
        if self.expired is not None:
            raise self.timeout_failure()

    def expire(self) -> AttemptFailure:
        """A wait ran out: the earliest running limit fired; returns its failure."""
        _, self.expired = self.next_deadline()
        return self.timeout_failure()

    def timeout_failure(self) -> AttemptFailure:
        """The failure to report when a limit fired (``total`` unless another one did)."""
        reason: Limit = self.expired or "total"
        limit = {
            "first_token": self.first_token,
            "stall": self.stall,
            "total": self.deadline - self.started,
        }.get(reason)
        detail = {
            "first_token": "no first token",
            "stall": "stream stalled",
            "total": "no complete answer",
            "connect": "could not connect",
        }.get(reason, reason)
        within = f" within {limit:.3g} s" if limit else ""
        message = f"{detail}{within} ({reason} timeout)"
        return AttemptFailure(ErrorKind.TIMEOUT, message, limit=reason)

    @property
    def elapsed_ms(self) -> float:
        """Milliseconds since the attempt started."""
        return (time.monotonic() - self.started) * 1000

    @property
    def first_token_ms(self) -> float | None:
        """Milliseconds to the first content token, if any arrived."""
        if self.first_token_at is None:
            return None
        return (self.first_token_at - self.started) * 1000


@dataclass(slots=True, frozen=True)
class SSEEvent:
    """One server-sent event: ``data`` (the raw text), or a comment such as a keep-alive."""

    data: str | None = None
    comment: str | None = None
    whole: bool = False
    """``data`` is a whole response body answering a stream request (not an SSE event)."""

    @property
    def done(self) -> bool:
        """The ``[DONE]`` sentinel."""
        return self.data == _DONE


class SSEDecoder:
    """Incremental SSE line decoder (only the fields OpenRouter uses: data and comments)."""

    __slots__ = ("_data",)

    def __init__(self) -> None:
        """Start with no buffered data lines."""
        self._data: list[str] = []

    def feed(self, line: str) -> SSEEvent | None:
        """Feed one line (without its newline); returns an event when one completes."""
        if not line:
            return self.flush()
        if line.startswith(":"):
            return SSEEvent(comment=line[1:].strip())
        name, _, value = line.partition(":")
        if name == "data":
            self._data.append(value.removeprefix(" "))
        return None

    def flush(self) -> SSEEvent | None:
        """The pending event at end of stream or on a blank line."""
        if not self._data:
            return None
        data, self._data = "\n".join(self._data), []
        return SSEEvent(data=data)


class _Watchdog:
    """One daemon thread that shuts down sockets of sync attempts whose deadline passed.

    Per request it costs a heap push under a lock: the thread is woken only when a deadline
    comes before the one it sleeps until, and finished entries are dropped as new ones come.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, int, _Watch]] = []
        self._counter = itertools.count()
        self._thread: threading.Thread | None = None
        self._sleep_until = math.inf
        """When the thread wakes up by itself (``inf``: only when notified)."""

    def watch(self, progress: Progress, sock: socket.socket | None) -> _Watch:
        entry = _Watch(progress, sock)
        progress.rearm = lambda: self._rearm(entry)
        with self._cond:
            self._drop_finished()
            self._push(entry)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="openrouter-fallback-watchdog", daemon=True
                )
                self._thread.start()
        return entry

    def _rearm(self, entry: _Watch) -> None:
        with self._cond:
            self._push(entry)

    def _drop_finished(self) -> None:
        heap = self._heap
        while heap and (heap[0][3].cancelled or heap[0][2] != heap[0][3].generation):
            heapq.heappop(heap)

    def _push(self, entry: _Watch) -> None:
        when, _ = entry.progress.next_deadline()
        entry.progress.armed_at = when
        entry.generation += 1  # older heap items for this entry become stale
        heapq.heappush(self._heap, (when, next(self._counter), entry.generation, entry))
        if when < self._sleep_until:  # the thread would oversleep this deadline
            self._cond.notify()

    def _run(self) -> None:
        with self._cond:
            while True:
                self._drop_finished()
                if not self._heap:
                    self._sleep_until = math.inf
                    self._cond.wait()
                    continue
                when, _, _, entry = self._heap[0]
                now = time.monotonic()
                if when > now:
                    self._sleep_until = when
                    self._cond.wait(when - now)
                    continue
                self._sleep_until = now  # awake: pushes from here on need no notify
                heapq.heappop(self._heap)
                current, reason = entry.progress.next_deadline()
                if current > now:
                    self._push(entry)  # progress moved the deadline; look again later
                else:
                    entry.fire(reason)


class _Watch:
    __slots__ = ("cancelled", "generation", "progress", "sock")

    def __init__(self, progress: Progress, sock: socket.socket | None) -> None:
        self.progress = progress
        self.sock = sock
        self.cancelled = False
        self.generation = 0

    def fire(self, reason: Limit) -> None:
        self.progress.expired = reason
        if self.sock is not None:
            with contextlib.suppress(OSError):
                self.sock.shutdown(socket.SHUT_RDWR)

    def cancel(self) -> None:
        self.cancelled = True
        self.progress.rearm = None


_WATCHDOG = _Watchdog()


def _socket_of(response: httpx.Response) -> socket.socket | None:
    stream = response.extensions.get("network_stream")
    sock = stream.get_extra_info("socket") if stream is not None else None
    return sock if isinstance(sock, socket.socket) else None


def _watch_body(progress: Progress, response: httpx.Response) -> _Watch:
    """From now on the watchdog, not httpx's read timeout, bounds the body's reads.

    httpcore reads ``request.extensions["timeout"]`` (httpx's documented per-request
    timeout extension) when the body iteration starts, after the headers are in. Without a
    socket to shut down (a custom transport), the read timeout stays as a bound.
    """
    sock = _socket_of(response)
    timeouts = response.request.extensions.get("timeout")
    if sock is not None and isinstance(timeouts, dict):
        timeouts["read"] = None
    return _WATCHDOG.watch(progress, sock)


def _failure_from_exception(exc: BaseException, progress: Progress) -> AttemptFailure:
    if progress.expired is not None:
        return progress.timeout_failure()
    if isinstance(exc, httpx.ConnectTimeout):
        progress.expired = "connect"
    elif isinstance(exc, httpx.TimeoutException | TimeoutError):
        _, progress.expired = progress.next_deadline()
    if progress.expired is not None:
        return progress.timeout_failure()
    # A reset before any response byte (a stale pooled connection, a proxy restart) is worth
    # one quick retry; a refused connection or a body cut midway is not.
    reset = not progress.responded and not isinstance(exc, httpx.ConnectError)
    message = f"{type(exc).__name__}: {exc}"[:300]
    return AttemptFailure(classify_exception(exc), message, reset_before_response=reset)


def _is_event_stream(response: httpx.Response) -> bool:
    content_type: str = response.headers.get("content-type", "")
    return content_type.startswith("text/event-stream")


def _body_event(raw: bytes) -> SSEEvent:
    """A whole body answering a stream request (JSON, HTML, empty), as the one event it is.

    A body that is not JSON is ``malformed``, as on a non-stream request; a JSON one is
    judged as a whole completion by the reader (an error, ``choices: null``...).
    """
    _json_or_malformed(raw, 200)
    return SSEEvent(data=raw.strip().decode("utf-8", "replace") or "null", whole=True)


def _json_or_malformed(raw: bytes, status: int) -> Any:
    """The parsed body; a body that is not JSON is a ``malformed`` failure."""
    try:
        return parse_json_body(raw)
    except ValueError:
        snippet = raw[:200].decode("utf-8", "replace")
        msg = f"response body is not JSON: {snippet!r}"
        raise AttemptFailure(ErrorKind.MALFORMED, msg, status_code=status) from None


def _error_body(raw: bytes) -> Any:
    try:
        return parse_json_body(raw[:_MAX_ERROR_BODY])
    except ValueError:
        return raw[:500].decode("utf-8", "replace")


class Transport:
    """Pooled sync and async httpx clients for one endpoint; no retries of its own."""

    def __init__(
        self,
        *,
        base_url: str,
        headers: dict[str, str],
        max_connections: int = 100,
    ) -> None:
        """Configure the endpoint; clients are created on first use."""
        self.url = base_url.rstrip("/") + "/chat/completions"
        # Parsed once: httpx re-parses a ``str`` URL on every request (~10 us), not a ``URL``.
        self._url: httpx.URL | str = self.url
        with contextlib.suppress(httpx.InvalidURL):  # else httpx raises it per request, as before
            self._url = httpx.URL(self.url)
        self._headers = headers
        self._limits = httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections
        )
        self._client: httpx.Client | None = None
        self._aclient: httpx.AsyncClient | None = None
        self._aclient_loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Transport(url={self.url!r})"

    @property
    def client(self) -> httpx.Client:
        """The shared sync client (created lazily, thread-safe)."""
        with self._lock:
            if self._client is None:
                self._client = httpx.Client(headers=self._headers, limits=self._limits)
            return self._client

    @property
    def aclient(self) -> httpx.AsyncClient:
        """The async client of the running event loop (a pool cannot outlive its loop)."""
        loop = asyncio.get_running_loop()
        if self._aclient is None or self._aclient_loop is not loop:
            self._aclient = httpx.AsyncClient(headers=self._headers, limits=self._limits)
            self._aclient_loop = loop
        return self._aclient

    def close(self) -> None:
        """Close the sync client."""
        if self._client is not None:
            self._client.close()
            self._client = None

    async def aclose(self) -> None:
        """Close the async client."""
        if self._aclient is not None:
            await self._aclient.aclose()
            self._aclient = None

    def _post(
        self, body: dict[str, Any], progress: Progress
    ) -> contextlib.AbstractContextManager[httpx.Response]:
        """The sync POST: httpx bounds the wait for headers, the trace marks the request sent."""
        return self.client.stream(
            "POST",
            self._url,
            json=body,
            timeout=progress.httpx_timeout(),
            extensions={"trace": progress.trace},
        )

    def _apost(
        self, body: dict[str, Any], progress: Progress
    ) -> contextlib.AbstractAsyncContextManager[httpx.Response]:
        """The async POST: httpx bounds only connecting; the caller's clock bounds reads."""
        return self.aclient.stream(
            "POST",
            self._url,
            json=body,
            timeout=progress.async_timeout(),
            extensions={"trace": progress.atrace},
        )

    def request(self, body: dict[str, Any], progress: Progress) -> tuple[Any, httpx.Headers]:
        """POST a non-streaming body; returns the parsed JSON body and the headers."""
        watch: _Watch | None = None
        try:
            with self._post(body, progress) as response:
                progress.responded = True
                watch = _watch_body(progress, response)
                raw = response.read()
                progress.check()
                return self._parse(response, raw), response.headers
        except httpx.HTTPError as exc:
            raise _failure_from_exception(exc, progress) from None
        finally:
            if watch is not None:
                watch.cancel()

    async def arequest(self, body: dict[str, Any], progress: Progress) -> tuple[Any, httpx.Headers]:
        """Async twin of :meth:`request`."""
        try:
            async with asyncio.timeout_at(progress.next_deadline()[0]):
                async with self._apost(body, progress) as response:
                    progress.responded = True
                    raw = await response.aread()
                    return self._parse(response, raw), response.headers
        except TimeoutError:
            raise progress.expire() from None
        except httpx.HTTPError as exc:
            raise _failure_from_exception(exc, progress) from None

    def stream(self, body: dict[str, Any], progress: Progress) -> Iterator[SSEEvent]:
        """POST a streaming body and yield SSE events until the body ends."""
        watch: _Watch | None = None
        try:
            with self._post(body, progress) as response:
                progress.responded = True
                if response.status_code >= 400:  # noqa: PLR2004
                    raise self._status_failure(response, response.read())
                watch = _watch_body(progress, response)
                if not _is_event_stream(response):
                    raw = response.read()
                    progress.check()
                    yield _body_event(raw)
                    return
                decoder = SSEDecoder()
                for line in response.iter_lines():
                    event = decoder.feed(line)
                    if event is not None:
                        yield event
                progress.check()
                tail = decoder.flush()
                if tail is not None:
                    yield tail
        except httpx.HTTPError as exc:
            raise _failure_from_exception(exc, progress) from None
        finally:
            if watch is not None:
                watch.cancel()

    async def astream(self, body: dict[str, Any], progress: Progress) -> AsyncIterator[SSEEvent]:
        """Async twin of :meth:`stream`; the deadline is enforced on every read."""
        try:
            async with contextlib.AsyncExitStack() as stack:
                async with asyncio.timeout_at(progress.next_deadline()[0]):
                    response = await stack.enter_async_context(self._apost(body, progress))
                    progress.responded = True
                    if response.status_code >= 400:  # noqa: PLR2004
                        raise self._status_failure(response, await response.aread())
                if not _is_event_stream(response):
                    async with asyncio.timeout_at(progress.next_deadline()[0]):
                        raw = await response.aread()
                    yield _body_event(raw)
                    return
                decoder = SSEDecoder()
                lines = response.aiter_lines()
                while True:
                    async with asyncio.timeout_at(progress.next_deadline()[0]):
                        line = await anext(lines, None)
                    if line is None:
                        break
                    event = decoder.feed(line)
                    if event is not None:
                        yield event
                tail = decoder.flush()
                if tail is not None:
                    yield tail
        except TimeoutError:
            raise progress.expire() from None
        except httpx.HTTPError as exc:
            raise _failure_from_exception(exc, progress) from None

    def _status_failure(self, response: httpx.Response, raw: bytes) -> AttemptFailure:
        return AttemptFailure.from_status(response.status_code, _error_body(raw), response.headers)

    def _parse(self, response: httpx.Response, raw: bytes) -> Any:
        if response.status_code >= 400:  # noqa: PLR2004
            raise self._status_failure(response, raw)
        return _json_or_malformed(raw, response.status_code)
