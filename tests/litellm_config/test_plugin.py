"""The proxy plugin's wiring: referenced by import path, and litellm only inside the proxy."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

import litellm_config
from tests.litellm_config.conftest import TEST_KEY, P, S, answer_of, chain, stream_chain
from tests.standin import keepalive_only


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
    assert [{"timeout": 9, "first_token_timeout": 1}, {"stall_timeout": 2}] == limits


@pytest.mark.litellm
@pytest.mark.timeout(300)
async def test_an_in_process_router_with_the_plugin_enforces_first_token(
    litellm, standin, monkeypatch
):
    """README: `litellm.callbacks.append(handler)` gives a Router the proxy's limits (async)."""
    from litellm_config import proxy_plugin  # noqa: PLC0415 - imports litellm, as LiteLLM would

    monkeypatch.setenv("OPENROUTER_API_KEY", TEST_KEY)
    kwargs = litellm_config.router_kwargs(stream_chain(), api_base=standin.base_url)
    standin.script(P, keepalive_only(30))
    litellm.callbacks.append(proxy_plugin.handler)
    try:
        response = await litellm.Router(**kwargs).acompletion(
            model="c", messages=[{"role": "user", "content": "hi"}], stream=True
        )
        text = "".join([c.choices[0].delta.content or "" async for c in response if c.choices])
    finally:
        litellm.callbacks.remove(proxy_plugin.handler)
    assert answer_of(S) == text
    assert [P, S] == standin.models_seen()
