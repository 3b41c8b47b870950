"""``accept`` through LiteLLM: the proxy plugin's guard rejects what it can check, and says so.

An in-process ``litellm.Router`` with the plugin and a real ``litellm --config`` proxy, both
against the independent stand-in: an empty, refused or cut answer from the primary is rejected
before LiteLLM commits it, and the Router falls back to the next link.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import yaml

import litellm_config
from tests.litellm_config.conftest import (
    AUTH,
    TEST_KEY,
    P,
    S,
    answer_of,
    chain,
    run_proxy,
)
from tests.standin import completion, stream

GUARDED = ["non_empty", "no_refusal", "complete"]


def unusable(check: str, *, streamed: bool) -> Any:
    """The primary's answer ``check`` turns down (the same shapes as tests/standin/test_accept)."""
    if check == "non_empty":
        return stream([], model=P) if streamed else completion("", model=P)
    if check == "no_refusal":
        refusal = "I can't help with that."
        return (
            stream([], model=P, refusal=refusal)
            if streamed
            else completion(None, model=P, refusal=refusal)
        )
    if streamed:
        return stream(["The answer", " stops"], model=P, finish_reason="length")
    return completion("The answer stops", model=P, finish_reason="length")


def checked_chain(**overrides: Any) -> Any:
    fields = {"accept": GUARDED, "stream_recovery": "buffer", **overrides}
    return chain(models=[P, S], breaker={"enabled": False}, **fields)


def test_deployments_carry_the_checks_the_guard_applies():
    """``model_info.openrouter_fallback.accept`` lists what the guard can check, nothing else."""
    config = yaml.safe_load(litellm_config.proxy_yaml(chain(accept=["non_empty", "schema"])))
    carried = [d["model_info"]["openrouter_fallback"]["accept"] for d in config["model_list"]]
    assert [["non_empty"]] * 3 == carried


def test_the_linter_names_the_checks_the_proxy_cannot_run():
    """``schema`` (and callables) run only in the chat model: the linter says so."""
    lines = litellm_config.lint(chain(accept=["non_empty", "schema"]))
    assert any(line.startswith("accept: schema: ") for line in lines), lines
    assert not any("accept:" in line for line in litellm_config.lint(chain(accept=GUARDED)))


async def _ask(litellm: Any, kwargs: dict[str, Any], *, streamed: bool) -> str:
    from litellm_config import proxy_plugin  # noqa: PLC0415 - imports litellm, as LiteLLM would

    litellm.callbacks.append(proxy_plugin.handler)
    try:
        response = await litellm.Router(**kwargs).acompletion(
            model="c", messages=[{"role": "user", "content": "hi"}], stream=streamed
        )
        if not streamed:
            return str(response.choices[0].message.content)
        return "".join([c.choices[0].delta.content or "" async for c in response if c.choices])
    finally:
        litellm.callbacks.remove(proxy_plugin.handler)


@pytest.mark.litellm
@pytest.mark.timeout(300)
@pytest.mark.parametrize("streamed", [False, True], ids=["json", "stream-buffer"])
@pytest.mark.parametrize("check", GUARDED)
async def test_a_router_with_the_plugin_rejects_and_falls_back(
    litellm, standin, monkeypatch, check, streamed
):
    """The primary's unusable answer never reaches the caller; the secondary's does."""
    monkeypatch.setenv("OPENROUTER_API_KEY", TEST_KEY)
    kwargs = litellm_config.router_kwargs(checked_chain(), api_base=standin.base_url)
    standin.script(P, unusable(check, streamed=streamed))
    assert answer_of(S) == await _ask(litellm, kwargs, streamed=streamed)
    assert [P, S] == standin.models_seen()


@pytest.mark.litellm
@pytest.mark.timeout(300)
async def test_a_raise_stream_rejects_an_immediate_refusal(litellm, standin, monkeypatch):
    """Without ``buffer`` the guard still turns down a refusal that comes before content."""
    monkeypatch.setenv("OPENROUTER_API_KEY", TEST_KEY)
    kwargs = litellm_config.router_kwargs(
        checked_chain(stream_recovery="raise"), api_base=standin.base_url
    )
    standin.script(P, unusable("no_refusal", streamed=True))
    assert answer_of(S) == await _ask(litellm, kwargs, streamed=True)


@pytest.mark.litellm
@pytest.mark.timeout(600)
def test_the_proxy_rejects_an_empty_answer_and_serves_the_next_link(standin, tmp_path):
    """A real ``litellm --config`` proxy from the generated config: JSON and a buffered stream."""
    text = litellm_config.proxy_yaml(checked_chain(), api_base=standin.base_url)
    with run_proxy(text, tmp_path) as url, httpx.Client(headers=AUTH, timeout=60) as client:
        standin.script(P, completion("", model=P), stream([], model=P))
        body = {"model": "c", "messages": [{"role": "user", "content": "hi"}]}
        answer = client.post(f"{url}/v1/chat/completions", json=body)
        streamed = client.post(f"{url}/v1/chat/completions", json={**body, "stream": True})
    assert 200 == answer.status_code, answer.text
    assert answer_of(S) == answer.json()["choices"][0]["message"]["content"]
    assert 200 == streamed.status_code
    assert answer_of(S).split()[0] in streamed.text
    assert [P, S, P, S] == standin.models_seen()
