"""Time limits and cost ceilings: finite, positive and at most a day, wherever they are written."""

from __future__ import annotations

import json
import math

import jsonschema
import pytest
import yaml

from langchain_openrouter_fallback import (
    ChainValidationError,
    ChatOpenRouterFallback,
    FallbacksExhaustedError,
    load_chains,
)
from langchain_openrouter_fallback._cli.main import main

ABSURD = [
    pytest.param(".inf", math.inf, id="inf"),
    pytest.param(".nan", math.nan, id="nan"),
    pytest.param("-5", -5.0, id="negative"),
    pytest.param("1.0e+300", 1e300, id="absurdly-large"),
]
LINK_LIMITS = ("timeout", "first_token_timeout", "stall_timeout")


@pytest.mark.parametrize(("text", "_value"), ABSURD)
@pytest.mark.parametrize("field", LINK_LIMITS)
def test_chain_file_refuses_an_absurd_link_limit(tmp_path, capsys, field, text, _value):
    """``validate`` exits 2 with one line naming the file, the field and its line."""
    path = tmp_path / "c.yaml"
    path.write_text(f"models:\n  - model: openai/gpt-4o-mini\n    {field}: {text}\n")
    with pytest.raises(ChainValidationError, match=f"models.0.{field} \\(line 3\\)"):
        load_chains(path)
    assert 2 == main(["validate", str(path)])
    err = capsys.readouterr().err
    assert f"c.yaml: invalid chain: models.0.{field} (line 3)" in err
    assert 1 == len(err.splitlines())


@pytest.mark.parametrize(
    ("document", "field"),
    [
        ("deadline: .inf", "deadline"),
        ("hedge: .inf", "hedge.after"),
        ("hedge: {after: 1.0e+300}", "hedge.after"),
        ("max_cost: .nan", "max_cost"),
        ("max_cost: .inf", "max_cost"),
        ("retry: {max_wait: .inf}", "retry.max_wait"),
        ("retry: {backoff: .inf}", "retry.backoff"),
        ("breaker: {cooldown: .nan}", "breaker.cooldown"),
    ],
)
def test_chain_level_limits_are_finite(tmp_path, document, field):
    """Chain policies (deadline, hedge, cost, retry waits, breaker) refuse inf and NaN."""
    path = tmp_path / "c.yaml"
    path.write_text(f"models: [openai/gpt-4o-mini]\n{document}\n")
    with pytest.raises(ChainValidationError, match=f"invalid chain: {field} "):
        load_chains(path)


def test_provider_prices_are_finite(tmp_path):
    """An infinite ``max_price`` would be sent as non-JSON ``Infinity``: refused instead."""
    path = tmp_path / "c.yaml"
    path.write_text(
        "models:\n  - model: openai/gpt-4o-mini\n    provider: {max_price: {prompt: .inf}}\n"
    )
    with pytest.raises(ChainValidationError, match=r"models\.0\.provider\.max_price\.prompt"):
        load_chains(path)


def test_schema_refuses_what_validate_refuses(capsys):
    """The JSON Schema caps every time limit at a day, so editors flag ``.inf`` too."""
    assert 0 == main(["schema"])
    validator = jsonschema.Draft202012Validator(json.loads(capsys.readouterr().out))
    ok = yaml.safe_load("models: [{model: openai/gpt-4o-mini, timeout: 86400}]\ndeadline: 60")
    assert [] == list(validator.iter_errors(ok))
    for document in (
        "models: [{model: openai/gpt-4o-mini, timeout: .inf}]",
        "models: [{model: openai/gpt-4o-mini, stall_timeout: 86401}]",
        "models: [openai/gpt-4o-mini]\ndeadline: .inf",
        "models: [openai/gpt-4o-mini]\nhedge: .inf",
    ):
        assert list(validator.iter_errors(yaml.safe_load(document))), document


@pytest.mark.parametrize(("_text", "value"), ABSURD)
@pytest.mark.parametrize("field", LINK_LIMITS)
def test_constructor_refuses_an_absurd_limit(field, _text, value):
    """``ChatOpenRouterFallback(timeout=inf)`` fails at construction, naming the field."""
    with pytest.raises(ValueError, match=field):
        ChatOpenRouterFallback(models=["openai/gpt-4o-mini"], api_key="k", **{field: value})
    links = [{"model": "openai/gpt-4o-mini", field: value}]
    with pytest.raises(ValueError, match=f"models.0.{field}"):
        ChatOpenRouterFallback(models=links, api_key="k")


@pytest.mark.parametrize(("_text", "value"), ABSURD)
@pytest.mark.parametrize("field", LINK_LIMITS)
def test_per_call_limit_is_validated_before_anything_is_sent(field, _text, value):
    """``llm.invoke(..., timeout=inf)`` is a validation error naming the argument."""
    # Port 9 (discard) on loopback: a request that got through would fail differently.
    llm = ChatOpenRouterFallback(
        models=["openai/gpt-4o-mini"], api_key="k", base_url="http://127.0.0.1:9/api/v1"
    )
    with pytest.raises(ChainValidationError, match=f"^{field}="):
        llm.invoke("hi", **{field: value})


@pytest.mark.parametrize("value", [math.inf, math.nan])
def test_per_call_max_cost_is_finite(value):
    """``max_cost=nan`` used to admit every link silently; now it is refused."""
    llm = ChatOpenRouterFallback(
        models=["openai/gpt-4o-mini"], api_key="k", base_url="http://127.0.0.1:9/api/v1"
    )
    with pytest.raises(ChainValidationError, match="max_cost must be"):
        llm.invoke("hi", max_cost=value)


def test_per_call_timeout_limits_the_attempt_and_is_not_sent(emu):
    """A per-call ``timeout`` bounds each attempt like the field; it never reaches the body."""
    llm = ChatOpenRouterFallback(
        models=["openai/gpt-4o-mini"], api_key="k", base_url=emu.base_url, max_retries=0
    )
    llm.invoke("hi", timeout=30)
    assert "timeout" not in emu.log[-1].body
    emu.set_scenario({"faults": [{"model": "openai/gpt-4o-mini", "hang": True}]})
    with pytest.raises(FallbacksExhaustedError) as caught:
        llm.invoke("hi", timeout=0.2)
    assert ["timeout"] == [a.error_kind for a in caught.value.attempts]


@pytest.mark.parametrize("value", ["inf", "nan", "-1", "1e300", "soon"])
def test_catalog_refresh_timeout_is_a_limit_too(capsys, value):
    """``catalog refresh --timeout inf`` is a usage error, not an OverflowError traceback."""
    with pytest.raises(SystemExit) as exited:
        main(["catalog", "refresh", "--base-url", "http://127.0.0.1:9/api/v1", "--timeout", value])
    assert 2 == exited.value.code
    assert f"argument --timeout: {value}: expected seconds" in capsys.readouterr().err
