"""Generated Router kwargs in a real ``litellm.Router`` against the emulator."""

from __future__ import annotations

import asyncio
import time

import pytest

import litellm_config
from tests.conftest import EXAMPLE_CHAINS
from tests.litellm_config.conftest import SMALL, chain, models_called

pytestmark = pytest.mark.litellm

HI = [{"role": "user", "content": "hi"}]


def _fail(model, status=503):
    return {"faults": [{"model": model, "error": status}]}


def test_example_chains_load_into_a_router(litellm, emu):
    """Every example file's kwargs build a Router that knows each chain and link group."""
    kwargs = litellm_config.router_kwargs(sorted(EXAMPLE_CHAINS.iterdir()))
    router = litellm.Router(**kwargs)
    names = set(router.get_model_names())
    assert {d["model_name"] for d in kwargs["model_list"]} <= names
    assert kwargs["model_group_alias"] == router.model_group_alias
    assert [d["model_info"]["id"] for d in kwargs["model_list"]] == router.get_model_ids()


async def test_primary_503_is_served_by_the_next_link(litellm, emu):
    """A 503 on the primary falls back to the second link, which the response names."""
    emu.set_scenario(_fail("openai/gpt-4o-mini"))
    router = litellm.Router(**litellm_config.router_kwargs(chain(), api_base=emu.base_url))
    response = await router.acompletion(model="c", messages=HI)
    assert "c/secondary" == response._hidden_params["model_id"]
    assert ["openai/gpt-4o-mini", "anthropic/claude-haiku-4.5"] == models_called(emu)


async def test_request_falls_through_every_link_in_order(litellm, emu):
    """With the first two links down, the third serves after both were tried in order."""
    emu.set_scenario(
        {
            "faults": [
                {"model": "openai/gpt-4o-mini", "error": 503},
                {"model": "anthropic/claude-haiku-4.5", "error": 502},
            ]
        }
    )
    router = litellm.Router(**litellm_config.router_kwargs(chain(), api_base=emu.base_url))
    response = await router.acompletion(model="c", messages=HI)
    assert "c/last" == response._hidden_params["model_id"]
    expected = ["openai/gpt-4o-mini", "anthropic/claude-haiku-4.5", "google/gemini-2.5-flash"]
    assert expected == models_called(emu)


async def test_long_prompt_skips_a_small_context_link(litellm, emu):
    """Pre-call checks route a prompt too long for the primary straight to a larger window."""
    small_first = chain(
        models=[
            {"model": SMALL, "label": "small", "timeout": 10},
            {"model": "openai/gpt-4o-mini", "label": "big"},
        ]
    )
    router = litellm.Router(**litellm_config.router_kwargs(small_first, api_base=emu.base_url))
    long_prompt = [{"role": "user", "content": "hello world " * 3000}]
    response = await router.acompletion(model="c", messages=long_prompt)
    assert "c/big" == response._hidden_params["model_id"]
    assert ["openai/gpt-4o-mini"] == models_called(emu)


async def _primary_calls(router, emu, requests):
    emu.clear_log()
    for _ in range(requests):
        await router.acompletion(model="c", messages=HI)
    return models_called(emu).count("openai/gpt-4o-mini")


async def test_dead_primary_cools_down_then_is_probed_again(litellm, emu):
    """After `failures` fails the primary is skipped until cooldown_time has passed."""
    emu.set_scenario(_fail("openai/gpt-4o-mini"))
    router = litellm.Router(**litellm_config.router_kwargs(chain(), api_base=emu.base_url))
    assert 2 == await _primary_calls(router, emu, 2)
    cooled_at = time.monotonic()
    assert 0 == await _primary_calls(router, emu, 3)
    deadline = cooled_at + 10
    while await _primary_calls(router, emu, 1) == 0:
        assert time.monotonic() < deadline, "the primary was never probed again"
        await asyncio.sleep(0.05)
    assert time.monotonic() - cooled_at >= 0.9


async def test_without_the_policy_a_single_deployment_never_cools_down(litellm, emu):
    """Evidence for the mapping: drop allowed_fails(_policy) and LiteLLM keeps calling the dead link."""
    emu.set_scenario(_fail("openai/gpt-4o-mini"))
    kwargs = litellm_config.router_kwargs(chain(), api_base=emu.base_url)
    del kwargs["allowed_fails"], kwargs["allowed_fails_policy"]
    router = litellm.Router(**kwargs)
    assert 5 == await _primary_calls(router, emu, 5)


async def test_disabled_breaker_never_cools_down(litellm, emu):
    """breaker.enabled false keeps trying the primary on every request."""
    emu.set_scenario(_fail("openai/gpt-4o-mini"))
    kwargs = litellm_config.router_kwargs(chain(breaker={"enabled": False}), api_base=emu.base_url)
    router = litellm.Router(**kwargs)
    assert 4 == await _primary_calls(router, emu, 4)


async def test_server_mode_sends_models_and_provider(litellm, emu):
    """A server-mode group sends `models` (OpenRouter falls back inside the request)."""
    server = chain(mode="server", models=["openai/gpt-4o-mini", "anthropic/claude-haiku-4.5"])
    emu.set_scenario(_fail("openai/gpt-4o-mini"))
    router = litellm.Router(**litellm_config.router_kwargs(server, api_base=emu.base_url))
    response = await router.acompletion(model="c", messages=HI)
    assert "c/openai/gpt-4o-mini" == response._hidden_params["model_id"]
    body = emu.log[-1].body
    assert ["openai/gpt-4o-mini", "anthropic/claude-haiku-4.5"] == body["models"]
    served = [attempt["model"] for attempt in emu.log[-1].attempts if attempt["status"] == 200]
    assert ["anthropic/claude-haiku-4.5"] == served
