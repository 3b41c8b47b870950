"""HTTP to OpenRouter: pooled httpx clients, lenient JSON, SSE with keep-alives, hard deadlines.

Every attempt runs under its :class:`~langchain_openrouter_fallback._decisions.clock.Progress`, the
one clock of the attempt (a whole-attempt deadline plus optional first-token and stall limits),
which this module enforces. Only output (content, tool calls or reasoning, reported by the
caller through ``Progress.token``) moves the clock; SSE comments such as
``: OPENROUTER PROCESSING`` and whitespace padding never do. httpx's own
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
import functools
import heapq
import itertools
import json
import logging
import math
import socket
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx

from langchain_openrouter_fallback._decisions.clock import AttemptFailure, Limit, Progress
from langchain_openrouter_fallback._errors import ErrorKind, classify_exception

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

__all__ = [
    "SSEDecoder",
    "SSEEvent",
    "Transport",
    "parse_json_body",
    "retry_after_seconds",
]

_MAX_ERROR_BODY = 64 * 1024
_DONE = "[DONE]"


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


def _sync_timeout(progress: Progress) -> dict[str, float | None]:
    """The wait for headers (sync): what is left until the next limit.

    Sync only: async reads are bounded by ``asyncio.timeout_at`` instead. Once headers
    arrive, :func:`_watch_body` hands the body over to the watchdog. The value is httpx's
    documented ``timeout`` request extension (``httpx.Timeout.as_dict()``).
    """
    when, _ = progress.next_deadline()
    remaining = max(0.001, when - time.monotonic())
    connect = min(progress.connect, remaining)
    return {"connect": connect, "read": remaining, "write": remaining, "pool": remaining}


def _async_timeout(progress: Progress) -> dict[str, float | None]:
    """Async: only connecting is bounded by httpx; every read is bounded by the clock."""
    remaining = max(0.001, progress.deadline - time.monotonic())
    connect = min(progress.connect, remaining)
    return {"connect": connect, "read": None, "write": None, "pool": None}


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


_HTTPX_LOG = logging.getLogger("httpx")


def _environment_proxies() -> bool:
    """A proxy is set in the environment (httpx's ``trust_env`` reads the same variables)."""
    proxies = urllib.request.getproxies()
    return any(proxies.get(scheme) for scheme in ("http", "https", "all"))


def _json_headers(client: httpx.Client | httpx.AsyncClient) -> httpx.Headers:
    """The client's headers (httpx's defaults and ours) plus the JSON content type."""
    headers = client.headers.copy()
    headers["Content-Type"] = "application/json"
    return headers


def _log_request(request: httpx.Request, response: httpx.Response) -> None:
    # The line httpx.Client logs for every request, for those who watch the httpx logger.
    _HTTPX_LOG.info(
        'HTTP Request: %s %s "%s %d %s"',
        request.method,
        request.url,
        response.http_version,
        response.status_code,
        response.reason_phrase,
    )


def _pooled(pool: httpx.HTTPTransport) -> Callable[[httpx.Request], httpx.Response]:
    """Send through httpx's connection pool, as ``httpx.Client.send`` does underneath."""

    def send(request: httpx.Request) -> httpx.Response:
        response = pool.handle_request(request)
        response.request = request
        if _HTTPX_LOG.isEnabledFor(logging.INFO):
            _log_request(request, response)
        return response

    return send


def _apooled(
    pool: httpx.AsyncHTTPTransport,
) -> Callable[[httpx.Request], Awaitable[httpx.Response]]:
    """Async twin of :func:`_pooled`."""

    async def send(request: httpx.Request) -> httpx.Response:
        response = await pool.handle_async_request(request)
        response.request = request
        if _HTTPX_LOG.isEnabledFor(logging.INFO):
            _log_request(request, response)
        return response

    return send


@dataclass(frozen=True, slots=True)
class _Sender:
    """How sync requests leave: the client owning the connections and its send."""

    client: httpx.Client
    send: Callable[[httpx.Request], httpx.Response]
    headers: httpx.Headers = field(repr=False)


@dataclass(frozen=True, slots=True)
class _AsyncSender:
    """How async requests leave (one per event loop)."""

    client: httpx.AsyncClient
    send: Callable[[httpx.Request], Awaitable[httpx.Response]]
    headers: httpx.Headers = field(repr=False)


class Transport:
    """Pooled sync and async connections to one endpoint; no retries of its own.

    Requests go straight to httpx's connection pool (``HTTPTransport.handle_request``), built
    once with the client's headers: ``httpx.Client``'s per-request layers (merging, auth,
    redirects, a cookie jar) cost ~0.15 ms a call and do nothing for this one endpoint. With
    a proxy in the environment (``HTTPS_PROXY``, ``ALL_PROXY``...) the request is sent by an
    ``httpx.Client`` instead, so httpx routes it (``NO_PROXY`` included) exactly as before.
    """

    def __init__(
        self,
        *,
        base_url: str,
        headers: dict[str, str],
        max_connections: int = 100,
    ) -> None:
        """Configure the endpoint; connections are made on first use."""
        self.url = base_url.rstrip("/") + "/chat/completions"
        # Parsed once: httpx re-parses a ``str`` URL on every request (~10 us), not a ``URL``.
        self._url: httpx.URL | str = self.url
        with contextlib.suppress(httpx.InvalidURL):  # else httpx raises it per request, as before
            self._url = httpx.URL(self.url)
        self._headers = headers
        self._limits = httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections
        )
        self._sync: _Sender | None = None
        self._async: _AsyncSender | None = None
        self._async_loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Transport(url={self.url!r})"

    @property
    def client(self) -> httpx.Client:
        """The httpx client that owns the sync connections."""
        return self._sender().client

    def _sender(self) -> _Sender:
        """The sync sender (created lazily, thread-safe)."""
        sender = self._sync
        if sender is not None:  # every request after the first: no lock to take
            return sender
        with self._lock:
            if self._sync is None:
                send: Callable[[httpx.Request], httpx.Response]
                if _environment_proxies():
                    client = httpx.Client(headers=self._headers, limits=self._limits)
                    send = functools.partial(client.send, stream=True)
                else:
                    pool = httpx.HTTPTransport(limits=self._limits)
                    client = httpx.Client(headers=self._headers, transport=pool)
                    send = _pooled(pool)
                self._sync = _Sender(client, send, _json_headers(client))
            return self._sync

    def _asender(self) -> _AsyncSender:
        """The async sender of the running event loop (a pool cannot outlive its loop)."""
        loop = asyncio.get_running_loop()
        if self._async is None or self._async_loop is not loop:
            asend: Callable[[httpx.Request], Awaitable[httpx.Response]]
            if _environment_proxies():
                client = httpx.AsyncClient(headers=self._headers, limits=self._limits)
                asend = functools.partial(client.send, stream=True)
            else:
                pool = httpx.AsyncHTTPTransport(limits=self._limits)
                client = httpx.AsyncClient(headers=self._headers, transport=pool)
                asend = _apooled(pool)
            self._async = _AsyncSender(client, asend, _json_headers(client))
            self._async_loop = loop
        return self._async

    def close(self) -> None:
        """Close the sync connections."""
        if self._sync is not None:
            self._sync.client.close()
            self._sync = None

    async def aclose(self) -> None:
        """Close the async connections."""
        if self._async is not None:
            await self._async.client.aclose()
            self._async = None

    def _request(
        self,
        headers: httpx.Headers,
        body: dict[str, Any],
        timeout: dict[str, float | None],
        trace: Callable[..., Any],
    ) -> httpx.Request:
        """The POST of ``body``, as ``httpx.Client.build_request(json=body)`` would build it."""
        content = json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        return httpx.Request(
            "POST",
            self._url,
            headers=headers,
            content=content.encode(),
            extensions={"timeout": timeout, "trace": trace},
        )

    @contextlib.contextmanager
    def _post(self, body: dict[str, Any], progress: Progress) -> Iterator[httpx.Response]:
        """The sync POST: httpx bounds the wait for headers, the trace marks the request sent."""
        sender = self._sender()
        request = self._request(sender.headers, body, _sync_timeout(progress), progress.trace)
        response = sender.send(request)
        try:
            yield response
        finally:
            response.close()

    @contextlib.asynccontextmanager
    async def _apost(
        self, body: dict[str, Any], progress: Progress
    ) -> AsyncIterator[httpx.Response]:
        """The async POST: httpx bounds only connecting; the caller's clock bounds reads."""
        sender = self._asender()
        request = self._request(sender.headers, body, _async_timeout(progress), progress.atrace)
        response = await sender.send(request)
        try:
            yield response
        finally:
            await response.aclose()

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
        retry_after = retry_after_seconds(response.headers)
        return AttemptFailure.from_status(
            response.status_code, _error_body(raw), retry_after=retry_after
        )

    def _parse(self, response: httpx.Response, raw: bytes) -> Any:
        if response.status_code >= 400:  # noqa: PLR2004
            raise self._status_failure(response, raw)
        return _json_or_malformed(raw, response.status_code)
