"""Scenario documents: example files load, invalid ones fail with one clear paragraph."""

from __future__ import annotations

import argparse
import contextlib
import threading
from pathlib import Path

import httpx
import pytest
from emulator_helpers import AUTH, chat

from langchain_openrouter_fallback.emulator import (
    Emulator,
    Scenario,
    ScenarioError,
    load_scenario,
    parse_scenario,
)
from langchain_openrouter_fallback.emulator._cli import register

EXAMPLES = Path(__file__).parents[2] / "examples" / "scenarios"


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.name)
def test_example_scenarios_load(path: Path) -> None:
    """Every shipped example scenario validates."""
    assert isinstance(load_scenario(path), Scenario)


def test_one_example_per_fault_family() -> None:
    """The examples cover each fault family."""
    names = {p.stem for p in EXAMPLES.glob("*.yaml")}
    assert {
        "status-errors",
        "hang",
        "slow-first-token",
        "midstream",
        "malformed",
        "flapping",
        "reset",
    } <= names


def test_invalid_file_names_file_field_line_and_reason(tmp_path: Path) -> None:
    """A bad file raises one paragraph naming file, field path, line and reason."""
    bad = tmp_path / "bad.yaml"
    bad.write_text("faults:\n  - model: a/b\n    eror: 503\n  - error: 777\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(bad)
    message = str(info.value)
    assert "\n" not in message
    assert str(bad) in message
    assert "faults.0.eror (line 3): unknown field" in message
    assert "faults.1.error" in message
    assert "777" in message


def test_two_effects_are_rejected() -> None:
    """A fault has at most one effect."""
    with pytest.raises(ScenarioError, match="at most one effect, got error, hang"):
        load_scenario({"faults": [{"error": 503, "hang": True}]})


def test_malformed_yaml_text() -> None:
    """Malformed YAML posted as text is reported, not raised as a traceback."""
    with pytest.raises(ScenarioError, match="<scenario>: malformed YAML"):
        parse_scenario("faults: [")


def test_json_text_is_accepted() -> None:
    """JSON is valid scenario text."""
    assert 42 == parse_scenario('{"seed": 42}').seed


def test_scenario_swap_at_run_time(emu: Emulator, client: httpx.Client) -> None:
    """set_scenario changes behaviour of a running emulator immediately."""
    assert 200 == client.post("/chat/completions", json=chat()).status_code
    emu.set_scenario(EXAMPLES / "reset.yaml")
    emu.set_scenario({"faults": [{"error": 500}]})
    assert 500 == client.post("/chat/completions", json=chat()).status_code


def test_clean_shutdown_leaves_no_threads() -> None:
    """After the context manager exits no emulator thread is left, even with a hang open."""
    before = set(threading.enumerate())
    with Emulator({"faults": [{"hang": True}]}) as emu:
        hung = threading.Thread(target=_post_ignoring_errors, args=(emu.base_url,))
        hung.start()
        assert emu.wait_for_requests(1, timeout=5)
    hung.join(5)
    assert not hung.is_alive()
    assert before == set(threading.enumerate())


def _post_ignoring_errors(base_url: str) -> None:
    with contextlib.suppress(httpx.HTTPError):
        httpx.post(f"{base_url}/chat/completions", json=chat(), headers=AUTH, timeout=10)


def test_start_twice_is_an_error() -> None:
    """Starting a running emulator raises."""
    with Emulator() as emu, pytest.raises(RuntimeError, match="already running"):
        emu.start()


def test_base_url_before_start_is_an_error() -> None:
    """base_url needs a running emulator."""
    with pytest.raises(RuntimeError, match="not running"):
        _ = Emulator().base_url


def test_cli_registers_emulate_subcommand(tmp_path: Path) -> None:
    """``register`` adds ``emulate`` with --host/--port/--scenario; a bad file exits 2."""
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    bad = tmp_path / "bad.yaml"
    bad.write_text("seed: [1]\n")
    args = parser.parse_args(["emulate", "--port", "0", "--scenario", str(bad)])
    assert ("127.0.0.1", 0, str(bad)) == (args.host, args.port, args.scenario)
    assert 2 == args.func(args)
