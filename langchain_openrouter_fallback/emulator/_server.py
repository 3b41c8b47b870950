"""Run the emulator app under uvicorn in a background thread with its own event loop."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from typing import TYPE_CHECKING, Any, Self

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from langchain_openrouter_fallback.emulator._app import TRANSPORT_EXTENSION, EmulatorApp
from langchain_openrouter_fallback.emulator._state import DEFAULT_LOG_LIMIT, EmulatorState

if TYPE_CHECKING:
    from pathlib import Path
    from types import TracebackType

    from langchain_openrouter_fallback._definition.catalog import Catalog
    from langchain_openrouter_fallback.emulator._scenario import Scenario
    from langchain_openrouter_fallback.emulator._state import LogEntry

__all__ = ["DEFAULT_HOST", "Emulator"]

DEFAULT_HOST = "127.0.0.1"
_STARTUP_TIMEOUT = 30.0
_BACKLOG = 4096


class _Protocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, exposing the transport to the app (cuts and resets)."""

    def on_message_begin(self) -> None:
        super().on_message_begin()
        # The ASGI typing wants dict values per extension; ours is a transport object.
        self.scope["extensions"] = {TRANSPORT_EXTENSION: self.transport}  # type: ignore[dict-item]


class _Server(uvicorn.Server):
    """A uvicorn server that reports readiness and stops on an event instead of polling."""

    def __init__(self, config: uvicorn.Config, app: EmulatorApp) -> None:
        super().__init__(config)
        self.ready = threading.Event()
        self.loop: asyncio.AbstractEventLoop | None = None
        self._app = app
        self._stop: asyncio.Event | None = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        self.loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        await super().startup(sockets=sockets)
        self.ready.set()

    async def main_loop(self) -> None:
        await self.on_tick(0)
        if self._stop is not None:
            await self._stop.wait()

    def request_stop(self) -> None:
        """Begin a graceful shutdown (call in the server's loop)."""
        self.should_exit = True
        self._app.close()
        if self._stop is not None:
            self._stop.set()


def _new_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop  # noqa: PLC0415 - optional speed-up
    except ImportError:  # pragma: no cover - uvloop ships with the emulator extra
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def _bind(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(_BACKLOG)
    return sock


def _config(app: EmulatorApp) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        http=_Protocol,
        ws="none",
        lifespan="on",
        log_config=None,
        access_log=False,
        proxy_headers=False,
        server_header=False,
        backlog=_BACKLOG,
        timeout_graceful_shutdown=2,
    )


class Emulator:
    """A local OpenRouter-compatible server with scripted faults.

    Example:
        ```python
        with Emulator(scenario={"faults": [{"model": "openai/gpt-4o", "error": 503}]}) as emu:
            client = httpx.Client(base_url=emu.base_url, headers={"Authorization": "Bearer x"})
            client.post("/chat/completions", json={...})
            emu.log[-1].status
        ```

    Args:
        scenario: A :class:`Scenario`, a mapping, or a YAML/JSON file path (``None``: no faults).
        host: Interface to bind (loopback by default).
        port: TCP port; ``0`` picks a free one.
        catalog: Model catalog, or a saved ``/models`` response to serve as given (path);
            default: :func:`load_catalog`.
        log_limit: How many requests the log keeps (oldest dropped first).
    """

    def __init__(
        self,
        scenario: Scenario | dict[str, Any] | str | Path | None = None,
        *,
        host: str = DEFAULT_HOST,
        port: int = 0,
        catalog: Catalog | str | Path | None = None,
        log_limit: int = DEFAULT_LOG_LIMIT,
    ) -> None:
        """Validate the scenario; nothing listens until :meth:`start` (or ``with``)."""
        self.state = EmulatorState(scenario, catalog=catalog, log_limit=log_limit)
        self.app = EmulatorApp(self.state)
        self.host = host
        self._requested_port = port
        self.port: int | None = None
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    def __repr__(self) -> str:
        where = self.url if self.port is not None else "not started"
        return f"Emulator({where})"

    @property
    def url(self) -> str:
        """Root URL, e.g. ``http://127.0.0.1:12345``."""
        if self.port is None:
            msg = "the emulator is not running; use `with Emulator(...)` or call start()"
            raise RuntimeError(msg)
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def base_url(self) -> str:
        """OpenRouter-style base URL ending in ``/api/v1``."""
        return f"{self.url}/api/v1"

    @property
    def scenario(self) -> Scenario:
        """The installed scenario."""
        return self.state.scenario

    @property
    def log(self) -> list[LogEntry]:
        """Snapshot of the request log (API keys redacted), oldest first."""
        return self.state.log

    def set_scenario(self, scenario: Scenario | dict[str, Any] | str | Path | None) -> None:
        """Swap the scenario at run time; counters and the flap clock restart."""
        self.state.set_scenario(scenario)

    def reset(self) -> None:
        """Restart counters and the flap clock, and clear the log."""
        self.state.reset()

    def wait_for_requests(self, count: int, timeout: float | None = None) -> bool:
        """Block until ``count`` requests arrived (since the last reset); ``False`` on timeout."""
        return self.state.wait_for_requests(count, timeout)

    def clear_log(self) -> None:
        """Forget logged requests (counters keep running)."""
        self.state.clear_log()

    def _run(self, sock: socket.socket) -> None:
        assert self._server is not None  # noqa: S101 - set by start()
        loop = _new_loop()
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._server.serve(sockets=[sock]))
        except BaseException as exc:  # noqa: BLE001 - reported to the starting thread
            self._error = exc
        finally:
            self._server.ready.set()
            with contextlib.suppress(RuntimeError):
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.run_until_complete(loop.shutdown_default_executor())
            asyncio.set_event_loop(None)
            loop.close()
            sock.close()

    def start(self) -> Self:
        """Bind, start the server thread and wait until it accepts connections.

        Raises:
            RuntimeError: already running, or the server failed to start.
        """
        if self._thread is not None:
            msg = "the emulator is already running"
            raise RuntimeError(msg)
        sock = _bind(self.host, self._requested_port)
        self.port = sock.getsockname()[1]
        self._error = None
        self._server = _Server(_config(self.app), self.app)
        self._thread = threading.Thread(
            target=self._run, args=(sock,), name=f"openrouter-emulator:{self.port}", daemon=True
        )
        self._thread.start()
        self._server.ready.wait(_STARTUP_TIMEOUT)
        if self._error is not None or not self._server.started:
            self.stop()
            msg = f"the emulator failed to start: {self._error!r}"
            raise RuntimeError(msg)
        return self

    def stop(self) -> None:
        """Shut down gracefully: wake hanging responses, close connections, join the thread."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        if server.loop is not None and thread.is_alive():
            with contextlib.suppress(RuntimeError):
                server.loop.call_soon_threadsafe(server.request_stop)
        thread.join()
        self._server = self._thread = None
        self.port = None

    def __enter__(self) -> Self:
        """Start; see :meth:`start`."""
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop; see :meth:`stop`."""
        self.stop()

    async def __aenter__(self) -> Self:
        """Start without blocking the caller's event loop."""
        return await asyncio.to_thread(self.start)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop without blocking the caller's event loop."""
        await asyncio.to_thread(self.stop)
