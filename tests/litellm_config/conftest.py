"""Shared fixtures for the real-litellm tests: one emulator and one litellm import per module."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

import litellm_config
from langchain_openrouter_fallback import FallbackChain
from langchain_openrouter_fallback.emulator import Emulator
from tests.processes import free_port, stop
from tests.standin import Reply, StandIn, auto

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


def proxy_launch(
    config_text: str, work: Path, **env_overrides: str
) -> tuple[list[str], dict[str, str]]:
    """Command line (free 127.0.0.1 port) and environment for ``litellm --config``.

    The environment holds the test OpenRouter key and ``LITELLM_MASTER_KEY`` = MASTER_KEY
    (override or remove with ``env_overrides``; an empty value removes the variable).
    """
    if not LITELLM.exists():
        pytest.fail("the litellm proxy is not installed (make test installs it)")
    config = work / "config.yaml"
    config.write_text(config_text)
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env |= {
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "OPENROUTER_API_KEY": TEST_KEY,
        "LITELLM_MASTER_KEY": MASTER_KEY,
    }
    env |= env_overrides
    port = str(free_port())
    command = [str(LITELLM), "--config", str(config), "--host", "127.0.0.1", "--port", port]
    return command, {k: v for k, v in env.items() if v}


@contextlib.contextmanager
def run_proxy(config_text: str, work: Path, **env_overrides: str) -> Iterator[str]:
    """``litellm --config`` on a free 127.0.0.1 port with ``config_text``; yields its URL.

    ``env_overrides`` as for :func:`proxy_launch`.
    """
    command, env = proxy_launch(config_text, work, **env_overrides)
    log = work / "proxy.log"
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=work)
    port = command[-1]
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_live(url, process, log)
        yield url
    finally:
        stop(process, timeout=10)


def start_refused(config_text: str, work: Path, **env_overrides: str) -> str:
    """``litellm --config`` expected to exit at start-up: its output, once it exited non-zero.

    ``env_overrides`` as for :func:`proxy_launch`.
    """
    command, env = proxy_launch(config_text, work, **env_overrides)
    done = subprocess.run(
        command,
        env=env,
        capture_output=True,
        text=True,
        timeout=STARTUP_TIMEOUT,
        check=False,
        cwd=work,
    )
    output = done.stdout + done.stderr
    assert 0 != done.returncode, output[-3000:]
    return output


# -- one proxy for the stream tests (test_proxy_streams, test_parity_streams) ------------------

P, S, T = "openai/gpt-4o-mini", "anthropic/claude-haiku-4.5", "google/gemini-2.5-flash"
STREAM_LINKS = [
    {"model": P, "label": "primary", "timeout": 4, "first_token_timeout": 1, "stall_timeout": 2},
    {"model": S, "label": "secondary", "timeout": 10},
    {"model": T, "label": "last", "timeout": 10},
]
"""The stream tests' links: the primary has every limit, the others only a timeout."""
RECOVERY_CHAINS = {"c": "raise", "b": "buffer", "k": "continue"}
"""Chain name -> its ``stream_recovery``; the same links in each."""


def stream_chain(name: str = "c") -> FallbackChain:
    """The stream tests' chain ``name`` (no breaker, so one test's faults never leak)."""
    recovery = RECOVERY_CHAINS[name]
    return chain(
        name=name, models=STREAM_LINKS, breaker={"enabled": False}, stream_recovery=recovery
    )


AUTO_CHAIN = "a"
"""The proxy's chain whose primary learns ``first_token_timeout`` (test_auto_limits)."""
AUTO_FIRST_TOKEN = {"auto": {"floor": 0.3, "ceiling": 2, "min_samples": 3}}


def auto_chain() -> FallbackChain:
    """Chain ``a``: the primary's first-token limit is learned, between 0.3 and 2 s after 3."""
    links = [
        {"model": P, "label": "primary", "first_token_timeout": AUTO_FIRST_TOKEN},
        {"model": S, "label": "secondary"},
    ]
    return chain(name=AUTO_CHAIN, models=links, breaker={"enabled": False})


def answer_of(model: str) -> str:
    """What the stand-in answers for ``model`` when nothing is scripted."""
    return f"answer from {model}"


def _answer(body: dict[str, Any]) -> Reply:
    return auto(answer_of(str(body.get("model"))))(body)


@pytest.fixture(scope="session")
def stream_server() -> Iterator[StandIn]:
    """The independent stand-in upstream; unscripted models answer ``answer_of(model)``."""
    with StandIn(default=_answer) as stand_in:
        yield stand_in


@pytest.fixture
def standin(stream_server: StandIn) -> StandIn:
    """The session's stand-in with no scripts and no requests seen."""
    stream_server.clear()
    return stream_server


@pytest.fixture(scope="session")
def stream_proxy(stream_server: StandIn, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real proxy from the config generated for chains c, b, k and a, against the stand-in."""
    chains = [*(stream_chain(name) for name in RECOVERY_CHAINS), auto_chain()]
    text = litellm_config.proxy_yaml(chains, api_base=stream_server.base_url)
    with run_proxy(text, tmp_path_factory.mktemp("proxy-streams")) as url:
        yield url


@pytest.fixture(scope="session")
def client(stream_proxy: str) -> Iterator[Any]:
    """The ``openai`` client an application would point at the proxy."""
    import openai  # noqa: PLC0415 - a dev dependency, imported where it is used

    with openai.OpenAI(
        base_url=f"{stream_proxy}/v1", api_key=MASTER_KEY, max_retries=0, timeout=60
    ) as the_client:
        yield the_client


@dataclass
class Received:
    """What a client got: text, the error it raised (if any), the link that served, and when."""

    text: str
    error: str | None
    link: str | None
    seconds: float
    models: set[str]
    """The ``model`` field of the answer or of every chunk (the model id that served)."""


def ask(client: Any, *, stream: bool, chain: str = "c") -> Received:
    """One request to ``chain`` through the proxy; ``link`` from ``x-litellm-model-id``."""
    import openai  # noqa: PLC0415

    started = time.monotonic()
    raw = client.chat.completions.with_raw_response.create(
        model=chain, messages=[{"role": "user", "content": "hi"}], stream=stream
    )
    link = raw.headers.get("x-litellm-model-id")
    parsed = raw.parse()
    if not stream:
        text = parsed.choices[0].message.content
        return Received(text, None, link, time.monotonic() - started, {parsed.model})
    pieces: list[str] = []
    models: set[str] = set()
    failure: str | None = None
    try:
        for chunk in parsed:
            models.add(chunk.model)
            pieces.extend(c.delta.content or "" for c in chunk.choices[:1])
    except openai.APIError as exc:
        failure = str(exc)
    return Received("".join(pieces), failure, link, time.monotonic() - started, models)
