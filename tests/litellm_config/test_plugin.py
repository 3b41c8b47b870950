"""The proxy plugin's wiring: referenced by import path, and litellm only inside the proxy."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
import yaml

import litellm_config
from langchain_openrouter_fallback._definition import attempt_limits as _attempt_limits
from langchain_openrouter_fallback.definition import (
    DEFAULT_ATTEMPT_TIMEOUT,
    DEFAULT_FIRST_TOKEN_TIMEOUT,
    DEFAULT_STALL_TIMEOUT,
)
from tests.litellm_config.conftest import (
    STREAM_LINKS,
    TEST_KEY,
    P,
    S,
    T,
    answer_of,
    chain,
    stream_chain,
)
from tests.standin import keepalive_only, stream


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=False,
        env={"LITELLM_LOCAL_MODEL_COST_MAP": "True", "PATH": ""},
    )


def test_generating_a_config_never_imports_litellm():
    """`import litellm_config` and generating every form leave litellm (and the plugin) out."""
    code = (
        "import sys, litellm_config;"
        "litellm_config.proxy_yaml('examples/chains/default.yaml');"
        "litellm_config.router_kwargs('examples/chains/default.yaml');"
        "bad = [m for m in sys.modules if m.split('.')[0] == 'litellm'"
        " or m == 'litellm_config.proxy_plugin'];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = _run(code)
    assert 0 == result.returncode, result.stdout + result.stderr


def test_documented_callbacks_are_attributes_after_a_plain_import():
    """`import litellm, litellm_config` then `litellm_config.proxy_plugin.handler` works."""
    code = (
        "import sys, litellm, litellm_config\n"
        "assert 'litellm_config.proxy_plugin' not in sys.modules\n"
        "litellm.callbacks.append(litellm_config.proxy_plugin.handler)\n"
        "print(type(litellm_config.proxy_plugin.handler).__name__,"
        " type(litellm_config.served_model.handler).__name__,"
        " litellm_config.master_key.RequireMasterKey.__name__)\n"
    )
    result = _run(code)
    assert 0 == result.returncode, result.stderr[-2000:]
    assert "FallbackGuard ServedModel RequireMasterKey" == result.stdout.strip()
    with pytest.raises(AttributeError, match="no attribute 'not_a_module'"):
        _ = litellm_config.not_a_module


def test_config_names_the_plugin_and_each_link_its_limits():
    """`litellm_settings.callbacks` names the plugin; `model_info` carries each link's limits."""
    links = [
        {"model": "openai/gpt-4o-mini", "label": "p", "timeout": 9, "first_token_timeout": 1},
        {"model": "anthropic/claude-haiku-4.5", "label": "s", "stall_timeout": 2},
    ]
    config = yaml.safe_load(litellm_config.proxy_yaml(chain(models=links)))
    assert "litellm_config.proxy_plugin.handler" in config["litellm_settings"]["callbacks"]
    limits = [d["model_info"]["openrouter_fallback"] for d in config["model_list"]]
    assert [
        {"timeout": 9, "first_token_timeout": 1, "stall_timeout": DEFAULT_STALL_TIMEOUT},
        {
            "timeout": DEFAULT_ATTEMPT_TIMEOUT,
            "first_token_timeout": DEFAULT_FIRST_TOKEN_TIMEOUT,
            "stall_timeout": 2,
        },
    ] == limits


async def _stream_with_plugin(litellm: Any, kwargs: dict[str, Any]) -> str:
    """One streamed request to chain ``c`` through a Router with the plugin; the text it got."""
    from litellm_config import proxy_plugin  # noqa: PLC0415 - imports litellm, as LiteLLM would

    litellm.callbacks.append(proxy_plugin.handler)
    try:
        response = await litellm.Router(**kwargs).acompletion(
            model="c", messages=[{"role": "user", "content": "hi"}], stream=True
        )
        return "".join([c.choices[0].delta.content or "" async for c in response if c.choices])
    finally:
        litellm.callbacks.remove(proxy_plugin.handler)


@pytest.mark.litellm
@pytest.mark.timeout(300)
async def test_an_in_process_router_with_the_plugin_enforces_first_token(
    litellm, standin, monkeypatch
):
    """docs/litellm.md: `litellm.callbacks.append(handler)` gives a Router the proxy's limits (async)."""
    monkeypatch.setenv("OPENROUTER_API_KEY", TEST_KEY)
    kwargs = litellm_config.router_kwargs(stream_chain(), api_base=standin.base_url)
    standin.script(P, keepalive_only(30))
    assert answer_of(S) == await _stream_with_plugin(litellm, kwargs)
    assert [P, S] == standin.models_seen()


@pytest.mark.litellm
@pytest.mark.timeout(300)
async def test_a_default_limit_travels_to_the_guard_and_is_applied(litellm, standin, monkeypatch):
    """A chain that sets no limits: its deployments carry the chat model's defaults, and a Router
    with the plugin applies them (the first-token default is shrunk to 1 s for the test)."""
    monkeypatch.setattr(_attempt_limits, "DEFAULT_FIRST_TOKEN_TIMEOUT", 1.0)
    monkeypatch.setenv("OPENROUTER_API_KEY", TEST_KEY)
    no_limits = chain(models=[P, S], breaker={"enabled": False})
    kwargs = litellm_config.router_kwargs(no_limits, api_base=standin.base_url)
    primary = kwargs["model_list"][0]["model_info"]["openrouter_fallback"]
    assert 1.0 == primary["first_token_timeout"]
    assert DEFAULT_ATTEMPT_TIMEOUT == primary["timeout"]
    # Keep-alives for about 4 s, then an answer: without the default it would be served.
    standin.script(P, stream(["late answer"], model=P, keepalives=20, keepalive_gap=0.2))
    assert answer_of(S) == await _stream_with_plugin(litellm, kwargs)
    assert [P, S] == standin.models_seen()


_SECOND_LINK_FAULTS = {
    "keepalives-only": keepalive_only(30),
    "cut-before-content": stream(["hello ", "world"], cut_after=0),
    "inband-error": stream(inband_error={"code": 502, "message": "died"}, error_after=0),
}


@pytest.mark.litellm
@pytest.mark.timeout(300)
@pytest.mark.parametrize("fault", list(_SECOND_LINK_FAULTS))
async def test_a_stream_failing_before_content_on_the_second_link_reaches_the_third(
    litellm, standin, monkeypatch, fault
):
    """The primary's stream is cut before content, then the secondary's fails before content
    too: the last link serves (the Router falls back from a fallback's failure as well)."""
    monkeypatch.setenv("OPENROUTER_API_KEY", TEST_KEY)
    links = [dict(link, first_token_timeout=1) for link in STREAM_LINKS]
    three = chain(models=links, breaker={"enabled": False})
    kwargs = litellm_config.router_kwargs(three, api_base=standin.base_url)
    standin.script(P, stream(["hello "], cut_after=0))
    standin.script(S, _SECOND_LINK_FAULTS[fault])
    assert answer_of(T) == await _stream_with_plugin(litellm, kwargs)
    assert [P, S, T] == standin.models_seen()
