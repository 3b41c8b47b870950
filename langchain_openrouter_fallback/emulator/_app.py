"""The emulator as a plain ASGI application (works under uvicorn and ``httpx.ASGITransport``).

Routes: ``POST /api/v1/chat/completions``, ``GET /api/v1/models`` and the control endpoints
``GET /_emulator/log``, ``GET|POST /_emulator/scenario`` and ``POST /_emulator/reset``.
A plain ASGI callable (rather than Starlette routing) keeps the hot path lean.
"""

from __future__ import annotations

import asyncio
import json
import socket
import struct
import time
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from langchain_openrouter_fallback._errors import ChainValidationError
from langchain_openrouter_fallback.emulator._completion import handle_completion
from langchain_openrouter_fallback.emulator._scenario import dump_json, parse_scenario
from langchain_openrouter_fallback.emulator._state import EmulatorState, LogEntry
from langchain_openrouter_fallback.emulator._wire import dumps, error_body

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, MutableMapping
    from pathlib import Path

    from langchain_openrouter_fallback._definition.catalog import Catalog
    from langchain_openrouter_fallback.emulator._scenario import Framing, Scenario

    Scope = MutableMapping[str, Any]
    Message = MutableMapping[str, Any]
    Receive = Callable[[], Awaitable[Message]]
    Send = Callable[[Message], Awaitable[None]]

__all__ = ["TRANSPORT_EXTENSION", "EmulatorApp", "Exchange", "create_app"]

TRANSPORT_EXTENSION = "emulator.transport"
"""Scope extension key under which the emulator's uvicorn protocol exposes the transport."""
_JSON = (b"content-type", b"application/json")
_SSE_HEADERS = [
    (b"content-type", b"text/event-stream"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]
_MISSING_AUTH = dumps({"error": {"message": "Missing Authentication header", "code": 401}})


class Exchange:
    """One HTTP request/response with the emulator's waiting, cutting and reset primitives."""

    def __init__(self, scope: Scope, receive: Receive, send: Send, closing: asyncio.Event) -> None:
        """Wrap the ASGI triple; ``closing`` is set when the server shuts down."""
        self.scope = scope
        self.receive = receive
        self.send = send
        self._closing = closing
        self._disconnect: asyncio.Task[None] | None = None
        self.framing: Framing | None = None
        """How completion bodies end (``None``: SSE chunked, JSON with ``Content-Length``)."""
        self._raw: asyncio.Transport | None = None
        """Set while a close-delimited response is written straight to the connection."""

    async def read_body(self) -> bytes:
        """The whole request body."""
        chunks = []
        while True:
            message = await self.receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                return b"".join(chunks)

    async def _watch_disconnect(self) -> None:
        while (await self.receive())["type"] != "http.disconnect":
            pass

    async def wait(self, seconds: float | None) -> bool:
        """Sleep ``seconds`` (``None``: forever); ``True`` if the client left or we shut down."""
        if self._disconnect is None:
            self._disconnect = asyncio.ensure_future(self._watch_disconnect())
        closing = asyncio.ensure_future(self._closing.wait())
        try:
            done, _ = await asyncio.wait(
                {self._disconnect, closing}, timeout=seconds, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            closing.cancel()
        return bool(done)

    def finish(self) -> None:
        """Cancel the disconnect watcher (end of the exchange)."""
        if self._disconnect is not None:
            self._disconnect.cancel()

    async def start(self, status: int, headers: list[tuple[bytes, bytes]]) -> None:
        """Send the status line and headers."""
        await self.send({"type": "http.response.start", "status": status, "headers": headers})

    async def body(self, data: bytes, *, more: bool = False) -> None:
        """Send (part of) the body."""
        await self.send({"type": "http.response.body", "body": data, "more_body": more})

    async def json(self, status: int, data: bytes, extra: dict[str, str] | None = None) -> None:
        """A complete JSON response (in this exchange's framing)."""
        await self.open(status, self.json_headers(extra), len(data))
        await self.write(data)
        await self.end()

    @staticmethod
    def json_headers(extra: dict[str, str] | None = None) -> list[tuple[bytes, bytes]]:
        """Headers of a JSON response, plus ``extra``."""
        return [_JSON, *((k.encode(), v.encode()) for k, v in (extra or {}).items())]

    @staticmethod
    def sse_headers(gen_id: str) -> list[tuple[bytes, bytes]]:
        """Headers of an SSE response."""
        return [*_SSE_HEADERS, (b"x-generation-id", gen_id.encode())]

    async def open(
        self, status: int, headers: list[tuple[bytes, bytes]], length: int, *, paced: bool = False
    ) -> None:
        """Start a response of ``length`` bytes (used by ``content-length`` framing only).

        By default SSE and ``paced`` bodies (sent in timed parts) are chunked, other JSON
        bodies carry ``Content-Length``. ``close`` writes the head itself: the body then ends
        when the connection closes, which uvicorn never does.
        """
        sse = _SSE_HEADERS[0] in headers
        framing = self.framing or ("chunked" if sse or paced else "content-length")
        transport = self._transport()
        if framing == "close" and transport is not None:
            lines = [f"HTTP/1.1 {status} {HTTPStatus(status).phrase}".encode()]
            lines += [name + b": " + value for name, value in headers]
            transport.write(b"\r\n".join([*lines, b"connection: close", b"", b""]))
            self._raw = transport
            return
        if framing == "content-length":
            headers = [*headers, (b"content-length", str(length).encode())]
        await self.start(status, headers)

    async def write(self, data: bytes) -> None:
        """Send part of the body."""
        if self._raw is not None:
            self._raw.write(data)
        elif data:
            await self.body(data, more=True)

    async def end(self) -> None:
        """End the body (close-delimited: by closing the connection)."""
        if self._raw is None:
            await self.body(b"")
            return
        self._raw.close()
        await self.wait(None)

    def _transport(self) -> asyncio.Transport | None:
        extensions = self.scope.get("extensions") or {}
        transport: asyncio.Transport | None = extensions.get(TRANSPORT_EXTENSION)
        return transport

    async def cut(self) -> None:
        """Close the connection without finishing the response (FIN, not RST).

        Raises:
            ConnectionAbortedError: in-process (no transport), so the client sees a failure.
        """
        transport = self._transport()
        if transport is None:
            msg = "emulator: connection cut"
            raise ConnectionAbortedError(msg)
        transport.close()
        await self.wait(None)

    async def reset(self) -> None:
        """Abort the connection with a TCP RST (``SO_LINGER`` 0).

        Raises:
            ConnectionResetError: in-process (no transport), so the client sees a failure.
        """
        transport = self._transport()
        if transport is None:
            msg = "emulator: connection reset"
            raise ConnectionResetError(msg)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()
        await self.wait(None)


def _redacted_headers(scope: Scope) -> dict[str, str]:
    headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
    if "authorization" in headers:
        scheme = headers["authorization"].split(" ", 1)[0]
        headers["authorization"] = f"{scheme} ***"
    return headers


def _has_key(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name.lower() == b"authorization":
            scheme, _, key = value.partition(b" ")
            return scheme.lower() == b"bearer" and bool(key.strip())
    return False


class EmulatorApp:
    """ASGI callable serving one :class:`EmulatorState`."""

    def __init__(self, state: EmulatorState) -> None:
        """Serve ``state`` (shared with an :class:`~.Emulator` or the caller)."""
        self.state = state
        self._closing: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def close(self) -> None:
        """Wake every hanging or stalled response (call from the app's event loop)."""
        if self._closing is not None:
            self._closing.set()

    def _closing_event(self) -> asyncio.Event:
        loop = asyncio.get_running_loop()
        if self._closing is None or self._loop is not loop:
            self._closing, self._loop = asyncio.Event(), loop
        return self._closing

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """ASGI entry point."""
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        exchange = Exchange(scope, receive, send, self._closing_event())
        try:
            await self._route(exchange, scope["method"], scope["path"])
        finally:
            exchange.finish()

    async def _route(self, exchange: Exchange, method: str, path: str) -> None:
        if path.startswith("/_emulator/"):
            await self._control(exchange, method, path.removeprefix("/_emulator/"))
            return
        if method == "POST" and path == "/api/v1/chat/completions":
            await self._completion(exchange)
        elif method == "GET" and path == "/api/v1/models":
            await exchange.json(200, self.state.runtime.models_body)
        else:
            await exchange.json(404, dumps(error_body(404, "Not Found", user_id=False)))

    async def _completion(self, exchange: Exchange) -> None:
        raw = await exchange.read_body()
        entry = LogEntry(
            time=time.time(),
            method="POST",
            path=exchange.scope["path"],
            headers=_redacted_headers(exchange.scope),
            body=_loads(raw),
        )
        self.state.record(entry)
        try:
            if not _has_key(exchange.scope):
                entry.status = 401
                await exchange.json(401, _MISSING_AUTH)
            else:
                await handle_completion(exchange, self.state.runtime, entry)
        finally:
            entry.ended = time.time()  # also when the client left (timelines draw from the log)

    async def _control(self, exchange: Exchange, method: str, name: str) -> None:
        state = self.state
        if method == "GET" and name == "log":
            await exchange.json(200, dumps([e.as_dict() for e in state.log]))
        elif method == "GET" and name == "scenario":
            await exchange.json(200, dump_json(state.scenario).encode())
        elif method == "POST" and name == "scenario":
            text = (await exchange.read_body()).decode("utf-8", "replace")
            try:
                state.set_scenario(parse_scenario(text, source="POST /_emulator/scenario"))
            except ChainValidationError as exc:
                await exchange.json(400, dumps(error_body(400, str(exc), user_id=False)))
                return
            await exchange.json(200, b'{"ok":true}')
        elif method == "POST" and name == "reset":
            state.reset()
            await exchange.json(200, b'{"ok":true}')
        else:
            await exchange.json(404, dumps(error_body(404, "Not Found", user_id=False)))


def _loads(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", "replace")


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


def create_app(
    state: EmulatorState | None = None,
    *,
    scenario: Scenario | dict[str, Any] | str | Path | None = None,
    catalog: Catalog | None = None,
) -> EmulatorApp:
    """Build the ASGI app, e.g. for ``httpx.ASGITransport(app=create_app(scenario=...))``.

    Args:
        state: Share an existing state (its scenario and log); built from ``scenario`` if omitted.
        scenario: A :class:`Scenario`, a mapping, or a YAML/JSON file path.
        catalog: Model catalog (default: :func:`load_catalog`).
    """
    return EmulatorApp(state or EmulatorState(scenario, catalog=catalog))
