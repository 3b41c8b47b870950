"""A TCP reset before any response byte, through a real Router on LiteLLM's openrouter/ path.

Upstream: the independent stand-in. The generated proxy config sets
``litellm_settings.disable_aiohttp_transport: true``; these tests set the same switch on the
in-process ``litellm`` module and show what it changes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

import litellm_config
from langchain_openrouter_fallback import FallbackChain
from tests.litellm_config.conftest import TEST_KEY
from tests.standin import StandIn, reset

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.litellm

PRIMARY = "openai/gpt-4o-mini"
FALLBACK = "anthropic/claude-haiku-4.5"
HI = [{"role": "user", "content": "hi"}]
CHAIN = FallbackChain.model_validate(
    {
        "name": "c",
        "breaker": {"enabled": False},
        "models": [
            {"model": PRIMARY, "label": "primary", "timeout": 10},
            {"model": FALLBACK, "label": "fallback", "timeout": 10},
        ],
    }
)


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[StandIn]:
    monkeypatch.setenv("OPENROUTER_API_KEY", TEST_KEY)
    with StandIn() as standin:
        yield standin


@pytest.fixture
def transport(litellm: Any, request: pytest.FixtureRequest) -> Iterator[None]:
    """``litellm.disable_aiohttp_transport`` set to the test's parameter, then restored."""
    saved = litellm.disable_aiohttp_transport
    litellm.disable_aiohttp_transport = request.param
    litellm.in_memory_llm_clients_cache.flush_cache()  # clients are built per transport
    yield
    litellm.disable_aiohttp_transport = saved
    litellm.in_memory_llm_clients_cache.flush_cache()


async def _ask(router: Any, *, streamed: bool) -> tuple[str, str]:
    response = await router.acompletion(model="c", messages=HI, stream=streamed)
    if not streamed:
        return response._hidden_params["model_id"], response.choices[0].message.content
    text = ""
    async for chunk in response:
        text += chunk.choices[0].delta.content or ""
    return response._hidden_params["model_id"], text


@pytest.mark.parametrize("transport", [True], indirect=True, ids=["httpx"])
@pytest.mark.parametrize("streamed", [False, True], ids=["json", "stream"])
async def test_reset_before_any_byte_is_one_attempt_then_the_fallback(
    litellm, server, transport, streamed
):
    """With the generated setting, every reset is one failed attempt and the fallback serves,
    five times out of five."""
    router = litellm.Router(**litellm_config.router_kwargs(CHAIN, api_base=server.base_url))
    for _ in range(5):
        server.clear()
        server.script(PRIMARY, reset())
        served, text = await _ask(router, streamed=streamed)
        assert ("c/fallback", [PRIMARY, FALLBACK]) == (served, server.models_seen())
        assert text.startswith("Hello")


@pytest.mark.parametrize("transport", [False], indirect=True, ids=["aiohttp"])
async def test_litellms_default_transport_answers_a_reset_from_the_link_it_called_last(
    litellm, server, transport
):
    """Without the generated setting, on LiteLLM's default aiohttp transport, a reset still
    gets an answer, from the last link called. How it gets there is LiteLLM's and changes
    between releases, so it is not asserted: 1.103.7's HTTP handler retried the reset once on a
    throwaway client whatever the retry settings (the primary twice, then it serves; streams
    then read from a closed client), 1.108.7 makes it one attempt and the fallback serves. The
    setting makes every tested release behave the same (the test above)."""
    router = litellm.Router(**litellm_config.router_kwargs(CHAIN, api_base=server.base_url))
    server.script(PRIMARY, reset())
    served, text = await _ask(router, streamed=False)
    seen = server.models_seen()
    assert seen in ([PRIMARY, PRIMARY], [PRIMARY, FALLBACK]), seen
    assert {PRIMARY: "c/primary", FALLBACK: "c/fallback"}[seen[-1]] == served
    assert text.startswith("Hello")
