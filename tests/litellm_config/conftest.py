"""Shared fixtures for the real-litellm tests: one emulator and one litellm import per module."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from langchain_openrouter_fallback import FallbackChain
from langchain_openrouter_fallback.emulator import Emulator

if TYPE_CHECKING:
    from collections.abc import Iterator

TEST_KEY = "test-key-not-secret"
MASTER_KEY = "proxy-master-key-for-tests"
"""What the proxy's ``LITELLM_MASTER_KEY`` is set to; clients send it as a bearer token."""
AUTH = {"Authorization": f"Bearer {MASTER_KEY}"}
LITELLM = Path(sys.executable).with_name("litellm")
STARTUP_TIMEOUT = 180.0  # a loaded 2-core machine takes minutes to import the proxy
SMALL = "mistralai/mistral-7b-instruct-v0.1"
"""The catalog's smallest context window (2,824 tokens): the pre-call check's victim."""


@pytest.fixture(scope="module")
def litellm() -> Any:
    """litellm, imported once (about 3 s) with the bundled cost map only."""
    os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
    import litellm  # noqa: PLC0415 - heavy; imported once per module, and a missing one must fail

    return litellm


@pytest.fixture
def emu(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> Emulator:
    """The shared emulator (clean scenario, empty log) plus a test key in the environment."""
    monkeypatch.setenv("OPENROUTER_API_KEY", TEST_KEY)
    return emu


def chain(**overrides: Any) -> FallbackChain:
    """A three-link client chain with a fast breaker (2 fails, 1 s cooldown)."""
    body: dict[str, Any] = {
        "name": "c",
        "breaker": {"failures": 2, "cooldown": 1},
        "models": [
            {"model": "openai/gpt-4o-mini", "label": "primary", "timeout": 10},
            {"model": "anthropic/claude-haiku-4.5", "label": "secondary", "timeout": 10},
            {"model": "google/gemini-2.5-flash", "label": "last", "timeout": 10},
        ],
    }
    body.update(overrides)
    return FallbackChain.model_validate(body)


def models_called(emu: Emulator) -> list[str]:
    """Requested model ids, in order, from the emulator's log."""
    return [entry.body["model"] for entry in emu.log]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_live(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"litellm exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{url}/health/liveliness", timeout=1).status_code == httpx.codes.OK:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    pytest.fail(f"litellm did not become live in {STARTUP_TIMEOUT}s:\n{log.read_text()[-3000:]}")


@contextlib.contextmanager
def run_proxy(config_text: str, work: Path, **env_overrides: str) -> Iterator[str]:
    """``litellm --config`` on a free 127.0.0.1 port with ``config_text``; yields its URL.

    The environment holds the test OpenRouter key and ``LITELLM_MASTER_KEY`` = MASTER_KEY
    (override or remove with ``env_overrides``; an empty value removes the variable).
    """
    if not LITELLM.exists():
        pytest.fail("the litellm proxy is not installed (make test installs it)")
    config = work / "config.yaml"
    config.write_text(config_text)
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env |= {
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "OPENROUTER_API_KEY": TEST_KEY,
        "LITELLM_MASTER_KEY": MASTER_KEY,
    }
    env |= env_overrides
    env = {k: v for k, v in env.items() if v}
    log = work / "proxy.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(LITELLM), "--config", str(config), "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=work,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_live(url, process, log)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
