"""Fixtures shared by every test: a clean environment per test."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from langchain_openrouter_fallback._decisions.health import default_registry
from langchain_openrouter_fallback.emulator import Emulator

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_CHAINS = ROOT / "examples" / "chains"
RECORDINGS = Path(__file__).resolve().parent / "data" / "recordings"
KEY = "emulator-test-key-0000"
"""Any bearer value works against the emulator; deliberately not shaped like a real key."""

_ONLINE = pytest.StashKey[list[str]]()

_ENV_KEYS = (
    "OPENROUTER_API_KEY",
    "OPENROUTER_BASE_URL",
    "OPENROUTER_FALLBACK_CATALOG",
    "XDG_CACHE_HOME",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect tests marked ``internet``: the suite never leaves loopback (see addopts)."""
    online = [item for item in items if item.get_closest_marker("internet")]
    if online:
        config.hook.pytest_deselected(items=online)
        items[:] = [item for item in items if item not in online]
        config.stash[_ONLINE] = [item.nodeid for item in online]


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """Name what was deselected for needing the internet, so it is never silent."""
    for nodeid in config.stash.get(_ONLINE, []):
        terminalreporter.write_line(f"DESELECTED (needs the internet) {nodeid}")


@pytest.fixture(autouse=True)
def clean_environ(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Each test starts without keys or endpoint overrides and with an empty user cache."""
    saved = {key: os.environ.pop(key) for key in _ENV_KEYS if key in os.environ}
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("cache"))
    os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
    try:
        yield
    finally:
        for key in _ENV_KEYS:
            os.environ.pop(key, None)
        os.environ.update(saved)


@pytest.fixture(autouse=True)
def reset_breakers() -> Iterator[None]:
    """Circuit-breaker state never leaks from one test into the next."""
    default_registry().reset()
    yield
    default_registry().reset()


@pytest.fixture(scope="module")
def running() -> Iterator[Emulator]:
    """One real emulator on 127.0.0.1 per test module."""
    with Emulator() as emu:
        yield emu


@pytest.fixture
def emu(running: Emulator) -> Iterator[Emulator]:
    """The module's emulator with a clean scenario and an empty log."""
    running.set_scenario(None)
    running.clear_log()
    yield running
    running.set_scenario(None)


@contextmanager
def serve_get(answer: Callable[[BaseHTTPRequestHandler], bytes]) -> Iterator[str]:
    """A plain local HTTP server answering every GET with ``answer(request)`` as JSON.

    Yields its ``/api/v1`` base URL; not our emulator, so it stands for a live endpoint.
    """

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            data = answer(self)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/api/v1"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
