"""The generator and linter, without litellm: mapping, inputs, snapshots, secrets, CLI."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import yaml

import litellm_config
from langchain_openrouter_fallback import FallbackChain
from langchain_openrouter_fallback._cli.main import main
from langchain_openrouter_fallback._decisions.clock import AttemptFailure
from langchain_openrouter_fallback._decisions.health import default_registry
from langchain_openrouter_fallback._decisions.plan import plan
from langchain_openrouter_fallback._decisions.run import ChainRun, Try
from langchain_openrouter_fallback._definition.catalog import load_catalog
from langchain_openrouter_fallback._errors import ErrorKind
from langchain_openrouter_fallback._wire.attempt import AttemptReader
from langchain_openrouter_fallback.definition import (
    DEFAULT_ATTEMPT_TIMEOUT,
    DEFAULT_FIRST_TOKEN_TIMEOUT,
    DEFAULT_STALL_TIMEOUT,
)
from litellm_config._policies import redis_settings, retry_policy
from tests.conftest import EXAMPLE_CHAINS

SNAPSHOTS = Path(__file__).parent / "snapshots"
UPDATE = os.environ.get("UPDATE_SNAPSHOTS") == "1"
EXAMPLES = sorted(EXAMPLE_CHAINS.iterdir())
KEY_LIKE = re.compile(r"sk-or-|Bearer\s+\S+", re.IGNORECASE)


def _chain(**overrides) -> FallbackChain:
    body = {
        "name": "c",
        "models": [
            {"model": "openai/gpt-4o-mini", "label": "a", "timeout": 20, "first_token_timeout": 5},
            {"model": "anthropic/claude-haiku-4.5", "label": "b"},
            {"model": "google/gemini-2.5-flash", "label": "c"},
        ],
    }
    body.update(overrides)
    return FallbackChain.model_validate(body)


def test_one_deployment_per_link_named_and_identified_by_label():
    """Client mode: one entry per link, model_name == model_info.id == <chain>/<label>."""
    kwargs = litellm_config.router_kwargs(_chain())
    assert ["c/a", "c/b", "c/c"] == [d["model_name"] for d in kwargs["model_list"]]
    assert ["c/a", "c/b", "c/c"] == [d["model_info"]["id"] for d in kwargs["model_list"]]


def test_litellm_params_of_a_link():
    """Model, key reference, timeouts, no SDK retries, catalog limits."""
    first = litellm_config.router_kwargs(_chain())["model_list"][0]
    expected = {
        "model": "openrouter/openai/gpt-4o-mini",
        "api_key": "os.environ/OPENROUTER_API_KEY",
        "timeout": 20.0,
        "stream_timeout": DEFAULT_STALL_TIMEOUT,  # max(first token 5, default stall 10)
        "max_retries": 0,
    }
    assert expected == first["litellm_params"]
    assert {
        "id": "c/a",
        "max_input_tokens": 128000,
        "max_output_tokens": 16384,
        "cooldown_time": 30.0,
        "openrouter_fallback": {
            "timeout": 20.0,
            "first_token_timeout": 5.0,
            "stall_timeout": DEFAULT_STALL_TIMEOUT,
        },
    } == first["model_info"]


CHAT_MODEL_DEFAULTS = {
    "timeout": DEFAULT_ATTEMPT_TIMEOUT,
    "first_token_timeout": DEFAULT_FIRST_TOKEN_TIMEOUT,
    "stall_timeout": DEFAULT_STALL_TIMEOUT,
}


@pytest.mark.parametrize("mode", ["client", "server"])
def test_a_chain_without_limits_carries_the_chat_model_defaults(mode):
    """No limits in the chain: every deployment's guard gets 60 / 15 / 10 s, and LiteLLM's own
    timeouts follow (never its 600 s default)."""
    chain = _chain(mode=mode, models=["openai/gpt-4o-mini", "openai/gpt-4o", "x-ai/grok-4"])
    for entry in litellm_config.router_kwargs(chain)["model_list"]:
        assert CHAT_MODEL_DEFAULTS == entry["model_info"]["openrouter_fallback"]
        params = entry["litellm_params"]
        assert DEFAULT_ATTEMPT_TIMEOUT == params["timeout"]
        assert DEFAULT_FIRST_TOKEN_TIMEOUT == params["stream_timeout"]


@pytest.mark.parametrize("mode", ["client", "server"])
def test_guards_carry_the_limits_the_chat_model_gives_each_step(mode):
    """Step by step, a deployment's guard settings are the limits the chat model's run gives
    that step's stream (own values, defaults, server-group sums, the deadline cap)."""
    chain = _chain(
        mode=mode,
        deadline=45,
        breaker={"enabled": False},
        models=[
            {"model": "openai/gpt-4o-mini", "label": "a", "timeout": 20, "first_token_timeout": 5},
            {"model": "anthropic/claude-haiku-4.5", "label": "b", "stall_timeout": 3},
            {"model": "google/gemini-2.5-flash", "label": "c", "timeout": 50},
            {"model": "openai/gpt-4o", "label": "d", "provider": {"order": ["openai"]}},
        ],
    )
    catalog = load_catalog()
    steps = plan(chain, [{"role": "user", "content": "hi"}], {}, catalog)
    run = ChainRun(
        chain, steps, registry=default_registry(), catalog=catalog,
        endpoint="http://127.0.0.1:9/api/v1", reader=AttemptReader, streaming=True,
    )  # fmt: skip
    guards = [
        d["model_info"]["openrouter_fallback"]
        for d in litellm_config.router_kwargs(chain)["model_list"]
    ]
    applied = []
    while isinstance(action := run.next(), Try):
        progress = action.progress
        applied.append(
            {
                "timeout": pytest.approx(progress.deadline - progress.started, abs=1),
                "first_token_timeout": progress.first_token,
                "stall_timeout": progress.stall,
            }
        )
        run.failed(action, AttemptFailure(ErrorKind.SERVER, "down"))
    assert len(steps) == len(guards)
    assert applied == guards


@pytest.mark.parametrize(
    ("limits", "expected"),
    [
        ({"timeout": 30, "first_token_timeout": 1, "stall_timeout": 5}, 5.0),
        ({"timeout": 30, "first_token_timeout": 10, "stall_timeout": 2}, 10.0),
        ({"timeout": 30, "first_token_timeout": 5}, 10.0),  # the default stall
        ({"first_token_timeout": 1, "stall_timeout": 5}, 5.0),
        ({"first_token_timeout": 1}, 10.0),  # the default stall
        ({}, 15.0),  # the default first token
        ({"timeout": 3, "first_token_timeout": 10, "stall_timeout": 10}, None),  # = timeout
    ],
)
def test_stream_timeout_never_cuts_a_gap_the_chain_allows(limits, expected):
    """stream_timeout (an httpx read timeout on every gap) is max(first token, stall) limits."""
    chain = _chain(models=[{"model": "openai/gpt-4o-mini", "label": "a", **limits}])
    params = litellm_config.router_kwargs(chain)["model_list"][0]["litellm_params"]
    assert expected == params.get("stream_timeout")


def test_chain_group_and_fallbacks_follow_chain_order():
    """<chain> aliases the first link and falls back through the rest in order."""
    kwargs = litellm_config.router_kwargs(_chain())
    assert {"c": "c/a"} == kwargs["model_group_alias"]
    assert [{"c": ["c/b", "c/c"]}] == kwargs["fallbacks"]
    assert kwargs["fallbacks"] == kwargs["context_window_fallbacks"]
    assert kwargs["fallbacks"] == kwargs["content_policy_fallbacks"]
    assert kwargs["enable_pre_call_checks"] is True


def test_base_url_and_api_base_override():
    """The chain's base_url becomes api_base; the argument wins over it."""
    chain = _chain(base_url="https://example.test/api/v1/")
    assert (
        "https://example.test/api/v1"
        == (litellm_config.router_kwargs(chain)["model_list"][0]["litellm_params"]["api_base"])
    )
    override = litellm_config.router_kwargs(chain, api_base="http://127.0.0.1:9/api/v1")
    assert "http://127.0.0.1:9/api/v1" == override["model_list"][1]["litellm_params"]["api_base"]


def test_params_split_between_litellm_params_and_extra_body():
    """OpenAI params are litellm params; others and provider go to extra_body; link wins."""
    chain = _chain(
        params={"temperature": 0.2, "reasoning": {"effort": "low"}},
        models=[
            {
                "model": "openai/gpt-4o-mini",
                "label": "a",
                "params": {"temperature": 0.7},
                "provider": {"order": ["openai"], "allow_fallbacks": False},
            },
            "anthropic/claude-haiku-4.5",
        ],
    )
    mini, haiku = (d["litellm_params"] for d in litellm_config.router_kwargs(chain)["model_list"])
    assert (0.7, 0.2) == (mini["temperature"], haiku["temperature"])
    # gpt-4o-mini takes no reasoning per the catalog: dropped for it, as the chat model does.
    assert {"provider": {"order": ["openai"], "allow_fallbacks": False}} == mini["extra_body"]
    assert {"reasoning": {"effort": "low"}} == haiku["extra_body"]


def test_config_params_are_adapted_per_link_from_the_catalog():
    """max_tokens is clamped to each link's ceiling; fields a link lacks are dropped."""
    chain = _chain(params={"max_tokens": 100_000, "seed": 7})
    mini, haiku, _ = (
        d["litellm_params"] for d in litellm_config.router_kwargs(chain)["model_list"]
    )
    assert (16_384, 7) == (mini["max_tokens"], mini["seed"])
    assert (64_000, None) == (haiku["max_tokens"], haiku.get("seed"))
    strict = _chain(
        params={"seed": 7},
        models=[{"model": "anthropic/claude-haiku-4.5", "provider": {"require_parameters": True}}],
    )
    (kept,) = litellm_config.router_kwargs(strict)["model_list"]
    assert 7 == kept["litellm_params"]["seed"]


def test_lint_lists_the_adaptations_litellm_cannot_make():
    """Structured output and forced tool_choice per link, and max_cost, are linted."""
    chain = _chain(
        max_cost=0.05,
        models=["openai/gpt-4o-mini", "anthropic/claude-haiku-4.5", "amazon/nova-lite-v1"],
    )
    warnings = litellm_config.lint(chain)
    assert any(
        w.startswith(
            "anthropic/claude-haiku-4.5 (tool), amazon/nova-lite-v1 (tool): json_schema requests"
        )
        for w in warnings
    )
    assert any(w.startswith("amazon/nova-lite-v1: a forced tool_choice") for w in warnings)
    assert any(w.startswith("max_cost $0.05: no per-request cost ceiling") for w in warnings)


def test_deadline_caps_timeouts_and_sets_router_timeout():
    """deadline is the router timeout and caps every link's timeout."""
    kwargs = litellm_config.router_kwargs(_chain(deadline=10))
    assert 10 == kwargs["timeout"]
    assert [10.0, 10.0, 10.0] == [d["litellm_params"]["timeout"] for d in kwargs["model_list"]]


def test_breaker_maps_to_allowed_fails_policy_and_cooldown():
    """failures=N cools down after N fails (allowed_fails N-1), for every cooldown type.

    Each deployment cools down for the chain's cooldown; the router's cooldown_time (how long
    LiteLLM keeps the fail count) is twice that, so one failure after a cooldown re-opens.
    """
    kwargs = litellm_config.router_kwargs(_chain(breaker={"failures": 4, "cooldown": 12}))
    assert 3 == kwargs["allowed_fails"]
    assert 24 == kwargs["cooldown_time"]
    assert {12} == {d["model_info"]["cooldown_time"] for d in kwargs["model_list"]}
    assert {3} == set(kwargs["allowed_fails_policy"].values())
    assert "BadRequestErrorAllowedFails" not in kwargs["allowed_fails_policy"]


def test_disabled_breaker_disables_cooldowns():
    """A chain without a breaker turns LiteLLM cooldowns off."""
    kwargs = litellm_config.router_kwargs(_chain(breaker={"enabled": False}))
    assert kwargs["disable_cooldowns"] is True
    assert "allowed_fails_policy" not in kwargs


def test_link_breaker_override_is_deployment_level():
    """A link's own breaker lands in its model_info; a disabled one gets cooldown_time 0."""
    chain = _chain(
        models=[
            {
                "model": "openai/gpt-4o-mini",
                "label": "a",
                "breaker": {"failures": 1, "cooldown": 5},
            },
            {"model": "anthropic/claude-haiku-4.5", "label": "b", "breaker": {"enabled": False}},
            {"model": "google/gemini-2.5-flash", "label": "c"},
        ]
    )
    infos = [d["model_info"] for d in litellm_config.router_kwargs(chain)["model_list"]]
    assert 5 == infos[0]["cooldown_time"]
    assert {0} == set(infos[0]["allowed_fails_policy"].values())
    assert {
        "id": "c/b",
        "cooldown_time": 0,
        "max_input_tokens": 200000,
        "max_output_tokens": 64000,
        "openrouter_fallback": CHAT_MODEL_DEFAULTS,
    } == infos[1]
    assert 30 == infos[2]["cooldown_time"]
    assert "allowed_fails_policy" not in infos[2]


def test__retry_policy():
    """max_retries for the kinds in `on`, an explicit 0 for every other field."""
    chain = _chain(retry={"max_retries": 2, "on": ["rate_limit", "server"]})
    expected = {
        "BadRequestErrorRetries": 0,
        "AuthenticationErrorRetries": 0,
        "TimeoutErrorRetries": 0,
        "RateLimitErrorRetries": 2,
        "ContentPolicyViolationErrorRetries": 0,
        "InternalServerErrorRetries": 2,
        "ServiceUnavailableErrorRetries": 2,
        "DefaultRetries": 0,
    }
    assert expected == retry_policy(chain.retry)
    kwargs = litellm_config.router_kwargs(chain)
    assert expected == kwargs["retry_policy"]
    assert 0 == kwargs["num_retries"]


def test_link_retry_override_goes_to_model_group_retry_policy():
    """A link retry override applies to its group (and to <chain> for the first link)."""
    chain = _chain(
        models=[
            {
                "model": "openai/gpt-4o-mini",
                "label": "a",
                "retry": {"max_retries": 3, "on": ["timeout"]},
            },
            "anthropic/claude-haiku-4.5",
        ]
    )
    overrides = litellm_config.router_kwargs(chain)["model_group_retry_policy"]
    assert ["c/a", "c"] == list(overrides)
    assert 3 == overrides["c"]["TimeoutErrorRetries"]


def test__redis_settings():
    """Plain URLs pass through; a password becomes an os.environ reference."""
    assert {"redis_url": "redis://cache:6379/0"} == redis_settings("redis://cache:6379/0")
    expected = {
        "redis_host": "cache",
        "redis_port": 6380,
        "redis_password": "os.environ/REDIS_PASSWORD",
        "cache_kwargs": {"ssl": True, "db": 2},
    }
    assert expected == redis_settings("rediss://:hunter2@cache:6380/2")


def test_shared_state_in_router_settings_without_secret():
    """shared_state reaches router_settings; its password never does."""
    config = litellm_config.proxy_config(_chain(shared_state="redis://:hunter2@cache:6379"))
    assert "os.environ/REDIS_PASSWORD" == config["router_settings"]["redis_password"]
    assert "hunter2" not in litellm_config.proxy_yaml(
        _chain(shared_state="redis://:hunter2@cache:6379")
    )


def test_server_mode_one_entry_per_group():
    """Server mode: groups of at most three carry extra_body.models and the widest context."""
    models = [
        "openai/gpt-4o-mini",
        "anthropic/claude-haiku-4.5",
        "google/gemini-2.5-flash",
        "openai/gpt-4o",
    ]
    chain = FallbackChain.model_validate({"name": "s", "mode": "server", "models": models})
    kwargs = litellm_config.router_kwargs(chain)
    entries = kwargs["model_list"]
    assert ["s/openai/gpt-4o-mini", "s/openai/gpt-4o"] == [d["model_name"] for d in entries]
    assert models[:3] == entries[0]["litellm_params"]["extra_body"]["models"]
    assert ["openai/gpt-4o"] == entries[1]["litellm_params"]["extra_body"]["models"]
    assert 1048576 == entries[0]["model_info"]["max_input_tokens"]
    assert [{"s": ["s/openai/gpt-4o"]}] == kwargs["fallbacks"]


def test_every_input_form_gives_the_same_config(tmp_path):
    """A chain, a list, a mapping and a path all generate the same config."""
    chain = _chain()
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(chain.model_dump(mode="json", exclude_defaults=True)))
    expected = litellm_config.proxy_config(chain)
    for form in ([chain], {"c": chain}, path, str(path), [path]):
        assert expected == litellm_config.proxy_config(form)


def test_several_chains_do_not_collide():
    """Two chains with the same labels get separate groups, aliases and fallbacks."""
    kwargs = litellm_config.router_kwargs({"x": _chain(), "y": _chain()})
    names = [d["model_name"] for d in kwargs["model_list"]]
    assert len(names) == len(set(names)) == 6
    assert {"x": "x/a", "y": "y/a"} == kwargs["model_group_alias"]
    assert [{"x": ["x/b", "x/c"]}, {"y": ["y/b", "y/c"]}] == kwargs["fallbacks"]


def test_colliding_names_are_an_error():
    """A chain named like another chain's link group is rejected."""
    with pytest.raises(litellm_config.LiteLLMConfigError, match="used twice"):
        litellm_config.router_kwargs({"x": _chain(), "x/a": _chain()})


def test_different_redis_urls_are_an_error():
    """One router has one Redis."""
    chains = {
        "x": _chain(shared_state="redis://a:6379"),
        "y": _chain(shared_state="redis://b:6379"),
    }
    with pytest.raises(litellm_config.LiteLLMConfigError, match="shared_state"):
        litellm_config.proxy_config(chains)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_yaml_matches_snapshot(path):
    """The YAML for each example chain file equals its snapshot (UPDATE_SNAPSHOTS=1 rewrites)."""
    text = litellm_config.proxy_yaml(path)
    snapshot = SNAPSHOTS / f"{path.name}.yaml"
    if UPDATE:
        snapshot.write_text(text, encoding="utf-8")
    assert snapshot.exists(), f"no snapshot {snapshot.name}; run with UPDATE_SNAPSHOTS=1"
    assert snapshot.read_text(encoding="utf-8") == text


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_yaml_round_trips(path):
    """The YAML loads back into exactly proxy_config()."""
    assert litellm_config.proxy_config(path) == yaml.safe_load(litellm_config.proxy_yaml(path))


def test_no_key_like_string_in_generated_files(tmp_path, monkeypatch):
    """Even with OPENROUTER_API_KEY set, no generated file holds a key-like string."""
    monkeypatch.setenv("OPENROUTER_API_KEY", "sk-or-v1-" + "0" * 64)
    out = tmp_path / "config.yaml"
    assert 0 == main(["litellm", *map(str, EXAMPLES), "-o", str(out)])
    texts = [out.read_text(), *(p.read_text() for p in SNAPSHOTS.iterdir())]
    for text in texts:
        assert [] == KEY_LIKE.findall(text)
        assert "0" * 64 not in text


def test_lint_flags_what_litellm_cannot_reproduce():
    """Stalls, stream recovery, capabilities, hedging, fallback_on, deadline, Retry-After."""
    chain = _chain(
        deadline=30,
        requires=["tools"],
        hedge=2,
        fallback_on=["server"],
        stream_recovery="continue",
        models=[
            {"model": "openai/gpt-4o-mini", "label": "a", "timeout": 10, "stall_timeout": 3},
            "openai/gpt-4o",
        ],
    )
    text = "\n".join(litellm_config.lint(chain))
    assert "proxy_plugin" in text  # the limits need the plugin outside the generated proxy
    for needle in (
        "limits a 10/15*/3, openai/gpt-4o 30*/15*/10* s",  # capped by the deadline
        "stream_timeout a 10, openai/gpt-4o 15 s",
        "stream_recovery",
        "requires [tools]",
        "hedge",
        "fallback_on",
        "deadline",
        "Retry-After",
    ):
        assert needle in text


def test_lint_flags_ignored_settings():
    """Prefill, defaulted timeouts, and server-mode link settings that only the first keeps."""
    chain = FallbackChain.model_validate(
        {
            "name": "s",
            "mode": "server",
            "retry": {"max_retries": 0},
            "models": [
                {"model": "openai/gpt-4o-mini", "label": "a", "prefill": True},
                {"model": "openai/gpt-4o", "label": "b", "timeout": 5},
            ],
        }
    )
    warnings = litellm_config.lint(chain)
    assert "a: prefill is ignored by LiteLLM" in warnings
    assert any(w.startswith("limits a 60*/15*/10* s;") for w in warnings)
    assert not any("600" in w for w in warnings)  # LiteLLM's default timeout never applies
    assert any(w.startswith("b: timeout (group of a): ignored") for w in warnings)
    timed = chain.model_copy(
        update={"models": [chain.models[0].model_copy(update={"timeout": 7}), chain.models[1]]}
    )
    # Every link of the group sets a timeout: the attempt gets their sum (7 + 5), as in-process.
    assert [12.0] == [
        d["litellm_params"]["timeout"] for d in litellm_config.router_kwargs(timed)["model_list"]
    ]
    assert not any("(group of a)" in w for w in litellm_config.lint(timed))


def test_lint_clean_chain_names_only_its_limits():
    """A chain the generated proxy reproduces gets one line: the limits its plugin enforces."""
    chain = _chain(
        retry={"max_retries": 0},
        breaker={"enabled": False},
        models=[{"model": "openai/gpt-4o-mini", "timeout": 5}],
    )
    (line,) = litellm_config.lint(chain)
    assert line.startswith(
        "limits openai/gpt-4o-mini 5/15*/10* s; stream_timeout openai/gpt-4o-mini 5 s: "
    )
    assert [] == litellm_config.lint_chains({"c": chain}, notes=False)


def _reproducible_chain_file(tmp_path):
    """A chain file whose generated config LiteLLM reproduces (no warnings, only the note)."""
    chain_file = tmp_path / "c.yaml"
    chain_file.write_text(
        yaml.safe_dump(
            {
                "name": "c",
                "retry": {"max_retries": 0},
                "breaker": {"enabled": False},
                "models": [{"model": "openai/gpt-4o-mini", "timeout": 5}],
            }
        )
    )
    return chain_file


def test_cli_strict_ignores_the_limits_note(tmp_path, capsys):
    """The limits line is a note: a chain LiteLLM reproduces passes --strict."""
    chain_file = _reproducible_chain_file(tmp_path)
    assert 0 == main(["litellm", str(chain_file), "-o", str(tmp_path / "out.yaml"), "--strict"])
    err = capsys.readouterr().err
    assert "note: c: limits openai/gpt-4o-mini 5/15*/10* s" in err
    assert "warning:" not in err


def test_cli_writes_config_and_warns_on_stderr(tmp_path, capsys):
    """`openrouter-fallback litellm` writes the YAML; warnings go to stderr; --strict exits 1."""
    out = tmp_path / "config.yaml"
    default = str(EXAMPLE_CHAINS / "default.yaml")
    assert 0 == main(["litellm", default, "-o", str(out)])
    assert litellm_config.proxy_yaml(default) == out.read_text()
    err = capsys.readouterr().err
    assert "note: default: limits primary 30/10/10, secondary 25/8/10*," in err
    assert "warning: default: " in err
    assert 1 == main(["litellm", default, "-o", str(out), "--strict"])


def test_cli_prints_to_stdout_and_reports_bad_files(tmp_path, capsys):
    """Without -o the YAML goes to stdout; a missing file is a one-line error, exit 2."""
    assert 0 == main(["litellm", str(EXAMPLE_CHAINS / "server-side.yaml")])
    assert yaml.safe_load(capsys.readouterr().out)["model_list"]
    assert 2 == main(["litellm", str(tmp_path / "missing.yaml")])
    assert capsys.readouterr().err.startswith("error: ")


def test_proxy_config_requires_a_master_key_from_the_environment():
    """By default the proxy needs LITELLM_MASTER_KEY; the YAML names it, never a value."""
    config = litellm_config.proxy_config(_chain())
    assert {"master_key": "os.environ/LITELLM_MASTER_KEY"} == config["general_settings"]
    assert "LITELLM_MASTER_KEY" in litellm_config.proxy_yaml(_chain()).splitlines()[1]


def test_opting_out_of_the_master_key_is_explicit_and_warned():
    """require_master_key=False drops general_settings and warns (python and CLI)."""
    with pytest.warns(UserWarning, match="no master_key"):
        config = litellm_config.proxy_config(_chain(), require_master_key=False)
    assert "general_settings" not in config
    with pytest.warns(UserWarning, match="no master_key"):
        text = litellm_config.proxy_yaml(_chain(), require_master_key=False)
    assert "WARNING" in text.splitlines()[2]


def test_cli_no_master_key_flag_warns_and_is_strict(tmp_path, capsys):
    """--no-master-key writes an open config, says so on stderr, and --strict refuses it."""
    out = tmp_path / "config.yaml"
    chain_file = _reproducible_chain_file(tmp_path)
    assert 0 == main(["litellm", str(chain_file), "-o", str(out)])
    assert "master_key" in yaml.safe_load(out.read_text())["general_settings"]
    assert "no master_key" not in capsys.readouterr().err
    assert 0 == main(["litellm", str(chain_file), "-o", str(out), "--no-master-key"])
    assert "general_settings" not in yaml.safe_load(out.read_text())
    assert "no master_key" in capsys.readouterr().err
    assert 1 == main(["litellm", str(chain_file), "-o", str(out), "--no-master-key", "--strict"])


def test_lint_flags_a_rate_based_breaker():
    """A failure-rate breaker has no LiteLLM equivalent, and the linter says so."""
    rated = _chain(breaker={"rate": 0.5, "window": 30})
    assert any(w.startswith("breaker.rate") for w in litellm_config.lint(rated))
    assert not any(w.startswith("breaker.rate") for w in litellm_config.lint(_chain()))


def _two_link(name: str, primary: str) -> FallbackChain:
    return FallbackChain.model_validate(
        {
            "name": name,
            "models": [
                {
                    "model": primary,
                    "label": "primary",
                    "timeout": 30,
                    "first_token_timeout": 10,
                    "stall_timeout": 10,
                },
                {"model": "openai/gpt-4o", "label": "fallback", "timeout": 30},
            ],
        }
    )


def test_lint_chains_groups_findings_per_kind():
    """17 two-link chains: one line per kind naming the chains; an unknown model once."""
    chains = {
        f"app{i}": _two_link(f"app{i}", "unknown/model-x" if i % 2 else "openai/gpt-4o-mini")
        for i in range(17)
    }
    per_chain = [w for chain in chains.values() for w in litellm_config.lint(chain)]
    grouped = litellm_config.lint_chains(chains)
    assert len(grouped) < len(per_chain) / 10
    assert len(grouped) == len({w.split(": ", 1)[1] for w in per_chain})
    unknown = [w for w in grouped if "not in the catalog" in w]
    assert 1 == len(unknown)
    assert unknown[0].startswith("unknown/model-x: not in the catalog")
    assert unknown[0].endswith("(chains app1, app3, app5, app7, app9, app11, app13, app15)")
    assert any(
        w.startswith("limits primary 30/10/10, fallback 30/15*/10* s") and "(all 17 chains)" in w
        for w in grouped
    )


def test_lint_chains_keeps_per_chain_details_apart():
    """A kind whose details differ lists each chain with its own detail; one chain: prefixed."""
    chains = {
        "a": _chain(deadline=30, retry={"max_retries": 0}),
        "b": _chain(deadline=60, retry={"max_retries": 0}),
    }
    grouped = litellm_config.lint_chains(chains)
    assert any("(2 chains: a: deadline 30s; b: deadline 60s)" in w for w in grouped)
    single = litellm_config.lint_chains({"a": chains["a"]})
    assert all(w.startswith("a: ") for w in single)


def test_cli_groups_warnings_and_strict_still_fails(tmp_path, capsys):
    """The CLI prints the grouped lines; --strict exits 1 when there is any."""
    files = []
    for i in range(3):
        path = tmp_path / f"app{i}.yaml"
        chain = _two_link(f"app{i}", "unknown/model-x")
        path.write_text(yaml.safe_dump(chain.model_dump(mode="json", exclude_none=True)))
        files.append(str(path))
    assert 0 == main(["litellm", *files, "-o", str(tmp_path / "out.yaml")])
    err = capsys.readouterr().err
    assert 1 == err.count("not in the catalog")
    assert 1 == main(["litellm", *files, "-o", str(tmp_path / "out.yaml"), "--strict"])
