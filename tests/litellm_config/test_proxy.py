"""A real ``litellm --config generated.yaml`` proxy process serving through the fallback."""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx
import pytest

import litellm_config
from tests.litellm_config.conftest import AUTH, chain, models_called, run_proxy, start_refused

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.litellm


@pytest.fixture(scope="module")
def proxy(running, tmp_path_factory) -> Iterator[str]:
    """The generated config served by `litellm --config` on 127.0.0.1 (stopped afterwards)."""
    text = litellm_config.proxy_yaml(chain(), api_base=running.base_url)
    with run_proxy(text, tmp_path_factory.mktemp("proxy")) as url:
        yield url


@pytest.mark.timeout(300)
def test_proxy_serves_through_the_fallback(proxy, emu):
    """A 503 primary behind the proxy: the second link serves and the header names it."""
    emu.set_scenario({"faults": [{"model": "openai/gpt-4o-mini", "error": 503}]})
    response = httpx.post(
        f"{proxy}/v1/chat/completions",
        json={"model": "c", "messages": [{"role": "user", "content": "hi"}]},
        headers=AUTH,
        timeout=30,
    )
    assert 200 == response.status_code, response.text
    assert "c/secondary" == response.headers["x-litellm-model-id"]
    assert ["openai/gpt-4o-mini", "anthropic/claude-haiku-4.5"] == models_called(emu)


@pytest.mark.timeout(300)
def test_proxy_serves_a_link_group_directly(proxy, emu):
    """`<chain>/<label>` names one link: no fault, that link serves."""
    response = httpx.post(
        f"{proxy}/v1/chat/completions",
        json={"model": "c/last", "messages": [{"role": "user", "content": "hi"}]},
        headers=AUTH,
        timeout=30,
    )
    assert 200 == response.status_code, response.text
    assert "c/last" == response.headers["x-litellm-model-id"]
    assert ["google/gemini-2.5-flash"] == models_called(emu)


@pytest.mark.timeout(300)
def test_proxy_refuses_a_request_without_the_master_key(proxy, emu):
    """No bearer token, or a wrong one: refused, and no upstream call (the key is not spent).

    Only that is asserted, not how LiteLLM words it: without a database it answers a missing
    token with a 500 (a JSON body on 1.103.7, plain-text "Internal Server Error" on 1.108.7)
    and a wrong one with 400 "No connected db." (not 401): all refusals.
    """
    body = {"model": "c", "messages": [{"role": "user", "content": "hi"}]}
    missing = httpx.post(f"{proxy}/v1/chat/completions", json=body, timeout=30)
    wrong = httpx.post(
        f"{proxy}/v1/chat/completions",
        json=body,
        headers={"Authorization": "Bearer not-the-master-key"},
        timeout=30,
    )
    for response in (missing, wrong):
        assert response.status_code >= httpx.codes.BAD_REQUEST, response.text
    assert [] == models_called(emu)


@pytest.mark.timeout(300)
def test_proxy_without_litellm_master_key_refuses_to_start(running, tmp_path):
    """LITELLM_MASTER_KEY unset: LiteLLM alone would serve everyone; the generated config's
    guard makes the proxy exit at start-up, naming the variable."""
    text = litellm_config.proxy_yaml(chain(), api_base=running.base_url)
    output = start_refused(text, tmp_path, LITELLM_MASTER_KEY="")
    assert "LITELLM_MASTER_KEY is not set" in output
