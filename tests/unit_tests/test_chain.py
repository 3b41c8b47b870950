"""FallbackChain: documents, loaders, validation errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from langchain_openrouter_fallback import (
    ChainValidationError,
    FallbackChain,
    ProviderPreferences,
    load_chains,
)
from tests.conftest import EXAMPLE_CHAINS


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_string_links_get_model_as_label():
    """A bare model id is a link labelled with its own id."""
    chain = FallbackChain.model_validate({"models": ["openai/gpt-4o-mini"]})
    assert ["openai/gpt-4o-mini"] == chain.labels
    assert "client" == chain.mode


@pytest.mark.parametrize("suffix", [".yaml", ".toml", ".json"])
def test_same_chain_from_every_format(tmp_path, suffix):
    """YAML, TOML and JSON documents load into equal chains."""
    doc = {"name": "c", "models": [{"model": "openai/gpt-4o", "label": "p", "timeout": 5}]}
    texts = {
        ".yaml": "name: c\nmodels:\n  - {model: openai/gpt-4o, label: p, timeout: 5}\n",
        ".toml": 'name = "c"\n[[models]]\nmodel = "openai/gpt-4o"\nlabel = "p"\ntimeout = 5\n',
        ".json": json.dumps(doc),
    }
    path = write(tmp_path, f"chain{suffix}", texts[suffix])
    assert FallbackChain.model_validate(doc) == FallbackChain.from_file(path)


def test_every_example_chain_loads():
    """The shipped examples are valid and include the seed's chains."""
    names = {}
    for path in sorted(EXAMPLE_CHAINS.iterdir()):
        names.update(load_chains(path))
    assert {"default", "server-side", "provider-order"} <= set(names)
    assert {"tool_calling", "vision", "long_context", "budget"} <= set(names)
    default = names["default"]
    assert ["primary", "secondary", "budget-fallback", "last-resort"] == default.labels
    assert [30, 25, 15, 15] == [link.timeout for link in default.models]
    order = names["provider-order"].models[0].provider
    assert order is not None
    assert ["anthropic", "amazon-bedrock", "google-vertex"] == order.order
    assert order.allow_fallbacks is True


def test_multi_chain_file_needs_a_name():
    """A file with several chains asks which one; ``name`` picks it."""
    path = EXAMPLE_CHAINS / "capabilities.yaml"
    with pytest.raises(ChainValidationError, match="holds several chains"):
        FallbackChain.from_file(path)
    assert "vision" == FallbackChain.from_file(path, name="vision").name
    with pytest.raises(ChainValidationError, match="no chain named 'nope'"):
        FallbackChain.from_file(path, name="nope")


BAD_DOCUMENTS = {
    "empty models": ("name: x\nmodels: []\n", "models (line 2)", "at least 1 item"),
    "duplicate labels": (
        "name: x\nmodels:\n  - openai/gpt-4o\n  - {model: openai/gpt-4o}\n",
        "models.1.label (line 4)",  # the duplicate's line, not the `models:` key's
        "duplicate label",
    ),
    "negative timeout": (
        "name: x\nmodels:\n  - model: openai/gpt-4o\n    timeout: -1\n",
        "models.0.timeout (line 4)",
        "greater than 0",
    ),
    "unknown provider key": (
        "name: x\nmodels:\n  - model: openai/gpt-4o\n    provider:\n      colour: red\n",
        "models.0.provider.colour (line 5)",
        "unknown field",
    ),
    "bad sort": (
        "name: x\nmodels:\n  - model: openai/gpt-4o\n    provider: {sort: cheapest}\n",
        "models.0.provider.sort (line 4)",
        "'price', 'throughput', 'latency' or 'exacto'",
    ),
    "bad model id": (
        "name: x\nmodels:\n  - Not A Model\n",
        "models.0.model (line 3)",
        "not an OpenRouter model id",
    ),
    "bad variant": (
        "name: x\nmodels:\n  - openai/gpt-4o:turbo\n",
        "models.0.model (line 3)",
        "unknown variant",
    ),
    "malformed yaml": ("name: x\nmodels: [\n", "malformed YAML (line 3", "expected"),
    "unmet requirement": (
        "name: x\nrequires: [vision]\nmodels: [meta-llama/llama-3.3-70b-instruct]\n",
        "requires (line 2)",
        "lacks vision",
    ),
    "unknown top-level field": ("name: x\nmodel: openai/gpt-4o\n", "models", "missing"),
    "unknown kind under retry.on": (
        "name: x\nmodels: [openai/gpt-4o]\nretry:\n  on: [server, nope]\n",
        "retry.on.1 (line 4)",
        "'auth'",
    ),
}


@pytest.mark.parametrize("case", BAD_DOCUMENTS, ids=list(BAD_DOCUMENTS))
def test_invalid_documents_name_file_field_and_reason(tmp_path, case):
    """Each invalid document gives one paragraph naming file, field (with line) and reason."""
    text, field, reason = BAD_DOCUMENTS[case]
    path = write(tmp_path, "chain.yaml", text)
    with pytest.raises(ChainValidationError) as info:
        FallbackChain.from_file(path)
    message = str(info.value)
    assert message.startswith(str(path))
    assert field in message
    assert reason in message
    assert "\n" not in message
    assert info.value.__cause__ is None


def test_yaml_keys_on_off_yes_no_stay_strings(tmp_path):
    """``retry: {on: [...]}`` means the ``on`` field (YAML 1.1 would read a ``True`` key)."""
    text = (
        "name: x\nmodels: [openai/gpt-4o]\nretry: {on: [server, network], max_retries: 2}\n"
        "breaker: {enabled: off}\nparams: {yes: 1, no: true}\n"
    )
    chain = FallbackChain.from_file(write(tmp_path, "c.yaml", text))
    assert {"server", "network"} == set(chain.retry.on)
    assert 2 == chain.retry.max_retries
    assert chain.breaker.enabled is False  # `off` as a value still reads as a boolean
    assert {"yes": 1, "no": True} == chain.params


def test_toml_and_json_errors_name_the_field(tmp_path):
    """Non-YAML formats still name file and field (no line numbers there)."""
    path = write(tmp_path, "c.json", '{"models": [{"model": "openai/gpt-4o", "timeout": 0}]}')
    with pytest.raises(ChainValidationError, match=r"c\.json: invalid chain: models\.0\.timeout"):
        FallbackChain.from_file(path)
    path = write(tmp_path, "c.toml", "models = [")
    with pytest.raises(ChainValidationError, match="malformed TOML"):
        FallbackChain.from_file(path)


def test_unsupported_suffix_and_missing_file(tmp_path):
    """Unknown file types and unreadable files are chain errors, not tracebacks."""
    with pytest.raises(ChainValidationError, match="unsupported file type"):
        FallbackChain.from_file(write(tmp_path, "c.ini", "x"))
    with pytest.raises(ChainValidationError, match="cannot read"):
        FallbackChain.from_file(tmp_path / "missing.yaml")


def test_routing_fields_cannot_hide_in_params():
    """``model``/``provider`` in params would fight the chain, so they are rejected."""
    with pytest.raises(ValueError, match="set by the chain"):
        FallbackChain.model_validate({"models": ["a/b"], "params": {"provider": {}}})


def test_policies_have_safe_defaults():
    """Defaults: breaker on with a cooldown of at most 30 s, raise on interrupted streams."""
    chain = FallbackChain.model_validate({"models": ["a/b"]})
    assert chain.breaker.enabled
    assert chain.breaker.cooldown <= 30
    assert "raise" == chain.stream_recovery
    assert chain.hedge is None
    assert 0.2 == FallbackChain.model_validate({"models": ["a/b"], "hedge": 0.2}).hedge.after


def test_provider_preferences_accept_the_real_field_set():
    """Every documented provider field validates and round-trips into the payload."""
    prefs = {
        "order": ["anthropic", "Amazon Bedrock"],
        "allow_fallbacks": False,
        "require_parameters": True,
        "data_collection": "deny",
        "zdr": True,
        "enforce_distillable_text": False,
        "only": ["anthropic"],
        "ignore": ["azure"],
        "quantizations": ["fp8", "bf16"],
        "sort": {"by": "latency", "partition": "model"},
        "preferred_min_throughput": {"p90": 50},
        "preferred_max_latency": 2.5,
        "max_price": {"prompt": 1, "completion": 2, "request": 0.01},
    }
    assert prefs == ProviderPreferences.model_validate(prefs).to_payload()


DOC_STRATEGY = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "name",
                    "mode",
                    "models",
                    "model",
                    "label",
                    "timeout",
                    "provider",
                    "order",
                    "sort",
                    "params",
                    "requires",
                    "chains",
                    "x",
                ]
            ),
            children,
            max_size=5,
        )
    ),
    max_leaves=20,
)


# deadline=None: hypothesis's 200 ms per-example deadline measures the machine, not the loader
# (speed is measured in benchmarks/); a loaded CI core must not fail these.
@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(doc=DOC_STRATEGY)
def test_loader_fuzz_only_raises_its_own_error(tmp_path, doc):
    """No document makes the loader fail with anything but ChainValidationError."""
    path = tmp_path / "fuzz.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    try:
        load_chains(path)
    except ChainValidationError as exc:
        assert str(path) in str(exc)


# deadline=None: hypothesis's 200 ms per-example deadline measures the machine, not the loader
# (speed is measured in benchmarks/); a loaded CI core must not fail these.
@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=st.text(max_size=200))
def test_yaml_fuzz_only_raises_its_own_error(tmp_path, text):
    """Arbitrary YAML text never crashes the loader with a foreign exception."""
    path = tmp_path / "fuzz.yaml"
    path.write_text(text, encoding="utf-8")
    try:
        load_chains(path)
    except ChainValidationError as exc:
        assert str(path) in str(exc)
