"""Fixtures for breaker, shared-state, hedging and soak tests: an emulator and a redis-server."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest

from langchain_openrouter_fallback import ChatOpenRouterFallback, FallbackChain
from langchain_openrouter_fallback.emulator import Emulator
from tests.conftest import KEY
from tests.processes import free_port

PRIMARY = "openai/gpt-4o-mini"
SECONDARY = "anthropic/claude-haiku-4.5"
THIRD = "google/gemini-2.5-flash"


def chain(name: str, **policies: Any) -> FallbackChain:
    """Primary, secondary and third link with short timeouts and no retries."""
    links = [
        {"model": PRIMARY, "label": "primary", "timeout": 2},
        {"model": SECONDARY, "label": "secondary", "timeout": 2},
        {"model": THIRD, "label": "third", "timeout": 2},
    ]
    return FallbackChain.model_validate(
        {"name": name, "models": links, "retry": {"max_retries": 0}, **policies}
    )


def model(emu: Emulator, the_chain: FallbackChain) -> ChatOpenRouterFallback:
    return ChatOpenRouterFallback(chain=the_chain, api_key=KEY, base_url=emu.base_url)


def requested(emu: Emulator) -> list[str]:
    """The model each logged request asked for, in arrival order."""
    return [entry.body["model"] for entry in emu.log]


def _ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@pytest.fixture(scope="session")
def redis_server() -> Iterator[str]:
    """A real redis-server on a free 127.0.0.1 port; its URL. Fails (never skips) without it."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is not installed (make system-deps installs it)")
    port = free_port()
    args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while not _ping(port):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"redis-server did not answer PING on port {port}")
            time.sleep(0.02)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def redis_url(redis_server: str) -> str:
    """The session's redis, emptied for this test."""
    import redis  # noqa: PLC0415 - optional extra, needed only by the redis tests

    client = redis.Redis.from_url(redis_server)
    client.flushdb()
    client.close()
    return redis_server
