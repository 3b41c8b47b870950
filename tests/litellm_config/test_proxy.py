"""A real ``litellm --config generated.yaml`` proxy process serving through the fallback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

import litellm_config
from tests.litellm_config.conftest import TEST_KEY, chain, models_called

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.litellm

LITELLM = Path(sys.executable).with_name("litellm")
STARTUP_TIMEOUT = 60.0


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
            if httpx.get(f"{url}/health/liveliness", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    pytest.fail(f"litellm did not become live in {STARTUP_TIMEOUT}s:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def proxy(running, tmp_path_factory) -> Iterator[str]:
    """The generated config served by `litellm --config` on 127.0.0.1 (stopped afterwards)."""
    if not LITELLM.exists():
        pytest.fail("the litellm proxy is not installed (make test installs it)")
    work = tmp_path_factory.mktemp("proxy")
    config = work / "config.yaml"
    config.write_text(litellm_config.proxy_yaml(chain(), api_base=running.base_url))
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env |= {"LITELLM_LOCAL_MODEL_COST_MAP": "True", "OPENROUTER_API_KEY": TEST_KEY}
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


@pytest.mark.timeout(120)
def test_proxy_serves_through_the_fallback(proxy, emu):
    """A 503 primary behind the proxy: the second link serves and the header names it."""
    emu.set_scenario({"faults": [{"model": "openai/gpt-4o-mini", "error": 503}]})
    response = httpx.post(
        f"{proxy}/v1/chat/completions",
        json={"model": "c", "messages": [{"role": "user", "content": "hi"}]},
        timeout=30,
    )
    assert 200 == response.status_code, response.text
    assert "c/secondary" == response.headers["x-litellm-model-id"]
    assert ["openai/gpt-4o-mini", "anthropic/claude-haiku-4.5"] == models_called(emu)


@pytest.mark.timeout(120)
def test_proxy_serves_a_link_group_directly(proxy, emu):
    """`<chain>/<label>` names one link: no fault, that link serves."""
    response = httpx.post(
        f"{proxy}/v1/chat/completions",
        json={"model": "c/last", "messages": [{"role": "user", "content": "hi"}]},
        timeout=30,
    )
    assert 200 == response.status_code, response.text
    assert "c/last" == response.headers["x-litellm-model-id"]
    assert ["google/gemini-2.5-flash"] == models_called(emu)
