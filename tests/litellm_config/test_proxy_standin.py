"""A real ``litellm --config`` proxy in front of the independent stand-in (not our emulator).

Checks what a client of the generated proxy sees: the served model id in ``model`` (whatever
the link labels), the link in ``x-litellm-model-id``, and a slow but healthy stream that is
not cut by ``stream_timeout``.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import httpx
import pytest

import litellm_config
from langchain_openrouter_fallback import FallbackChain
from tests.litellm_config.conftest import AUTH, run_proxy
from tests.standin import StandIn, error, reset, stream

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.litellm

PRIMARY = "openai/gpt-4o-mini"
FALLBACK = "anthropic/claude-haiku-4.5"
SLOW = "google/gemini-2.5-flash"
CHAINS = [
    FallbackChain.model_validate(
        {
            "name": "myapp",
            "models": [
                {"model": PRIMARY, "label": "primary", "timeout": 30},
                {"model": FALLBACK, "label": "fallback", "timeout": 30},
            ],
        }
    ),
    FallbackChain.model_validate(
        {
            "name": "nobreaker",  # reruns of one fault, without cooling the primary down
            "breaker": {"enabled": False},
            "models": [
                {"model": PRIMARY, "label": "primary", "timeout": 30},
                {"model": FALLBACK, "label": "fallback", "timeout": 30},
            ],
        }
    ),
    FallbackChain.model_validate(
        {
            "name": "slow",
            "models": [
                {
                    "model": SLOW,
                    "label": "only",
                    "timeout": 30,
                    "first_token_timeout": 1,
                    "stall_timeout": 5,
                }
            ],
        }
    ),
]


@pytest.fixture(scope="module")
def server() -> Iterator[StandIn]:
    with StandIn() as standin:
        yield standin


@pytest.fixture(scope="module")
def proxy(server: StandIn, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    text = litellm_config.proxy_yaml(CHAINS, api_base=server.base_url)
    with run_proxy(text, tmp_path_factory.mktemp("proxy-standin")) as url:
        yield url


@pytest.fixture
def upstream(server: StandIn) -> StandIn:
    server.clear()
    return server


def _ask(proxy: str, model: str, *, streamed: bool) -> tuple[httpx.Response, list[str], str]:
    """POST a chat completion; the response, the `model` of the body or of every chunk, text."""
    body = {"model": model, "messages": [{"role": "user", "content": "hi"}], "stream": streamed}
    response = httpx.post(f"{proxy}/v1/chat/completions", json=body, headers=AUTH, timeout=60)
    assert 200 == response.status_code, response.text
    if not streamed:
        data = response.json()
        return response, [data["model"]], data["choices"][0]["message"]["content"]
    chunks = [
        json.loads(line.removeprefix("data: "))
        for line in response.text.splitlines()
        if line.startswith("data: {")
    ]
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    return response, [c["model"] for c in chunks], text


@pytest.mark.timeout(300)
@pytest.mark.parametrize("streamed", [False, True], ids=["json", "stream"])
def test_model_field_is_the_fallbacks_model_id_after_a_503(proxy, upstream, streamed):
    """Labels primary/fallback, a 503 primary: `model` is the fallback's id, not "myapp/fallback"."""
    upstream.script(PRIMARY, error(503))
    response, models, text = _ask(proxy, "myapp", streamed=streamed)
    assert {FALLBACK} == set(models)
    assert "myapp/fallback" == response.headers["x-litellm-model-id"]
    assert text.startswith("Hello")
    assert [PRIMARY, FALLBACK] == upstream.models_seen()


@pytest.mark.timeout(300)
@pytest.mark.parametrize("streamed", [False, True], ids=["json", "stream"])
def test_model_field_is_the_primarys_model_id_when_healthy(proxy, upstream, streamed):
    """No fallback: `model` is the primary's id, not the chain name the client asked for."""
    response, models, _ = _ask(proxy, "myapp", streamed=streamed)
    assert {PRIMARY} == set(models)
    assert "myapp/primary" == response.headers["x-litellm-model-id"]


@pytest.mark.timeout(300)
def test_json_model_is_what_openrouter_reported(proxy, upstream):
    """A JSON answer keeps the upstream's own id (OpenRouter reports dated variants)."""
    from tests.standin import completion  # noqa: PLC0415 - only this test scripts a body

    upstream.script(PRIMARY, completion("hi", model="openai/gpt-4o-mini-2024-07-18"))
    _, models, _ = _ask(proxy, "myapp", streamed=False)
    assert ["openai/gpt-4o-mini-2024-07-18"] == models


@pytest.mark.timeout(300)
def test_stream_with_2s_gaps_completes_under_first_token_1_stall_5(proxy, upstream):
    """stream_timeout is a read timeout on every gap: 5 s (the stall limit), not 1 s, so a
    healthy stream pausing 2 s between chunks completes."""
    pieces = ["one ", "two ", "three"]
    # keepalives=0: the first piece comes at once (with a keep-alive first, the stand-in waits
    # `gap` before it, and the plugin rightly cuts a first token later than 1 s).
    upstream.script(SLOW, stream(pieces, model=SLOW, gap=2.0, keepalives=0))
    response, models, text = _ask(proxy, "slow", streamed=True)
    assert "one two three" == text
    assert {SLOW} == set(models)
    assert "slow/only" == response.headers["x-litellm-model-id"]
    assert [SLOW] == upstream.models_seen()


@pytest.mark.timeout(300)
@pytest.mark.parametrize("streamed", [False, True], ids=["json", "stream"])
def test_reset_before_any_byte_is_answered_by_the_fallback_every_time(proxy, upstream, streamed):
    """A TCP reset before any byte: one primary attempt, then the fallback, on every rerun
    (the generated `disable_aiohttp_transport: true`; see test_resets.py for why)."""
    for _ in range(4):
        upstream.clear()
        upstream.script(PRIMARY, reset())
        response, models, text = _ask(proxy, "nobreaker", streamed=streamed)
        assert "nobreaker/fallback" == response.headers["x-litellm-model-id"]
        assert ({FALLBACK}, [PRIMARY, FALLBACK]) == (set(models), upstream.models_seen())
        assert text.startswith("Hello")
