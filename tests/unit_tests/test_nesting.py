"""Absurdly nested documents: one line naming the file and exit 2, in every format.

Each check runs in a fresh interpreter: before the limit, libyaml's composer crashed the
process on such a file (a segfault, not an exception).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from langchain_openrouter_fallback._definition.loader import MAX_DEPTH
from langchain_openrouter_fallback.emulator import ScenarioError, parse_scenario

DEEP = 50_000
DOCUMENTS = {
    "flow.json": '{"name": "deep", "models": ' + "[" * DEEP + "]" * DEEP + "}",
    "flow.yaml": "name: deep\nmodels: " + "[" * DEEP + "]" * DEEP + "\n",
    "block.yaml": "name: deep\nmodels:\n" + "- " * DEEP + "x\n",
    "alias-loop.yaml": "models: [openai/gpt-4o-mini]\nparams: {x: &a [*a]}\n",
    "array.toml": 'name = "deep"\nmodels = ' + "[" * DEEP + "]" * DEEP + "\n",
    "dotted.toml": 'models = ["openai/gpt-4o-mini"]\n[params]\n' + ".".join(["k"] * 100) + " = 1\n",
}
TOO_DEEP = f"refused: lists and mappings nested more than {MAX_DEPTH} levels deep"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, check=False, timeout=60
    )


@pytest.fixture(params=sorted(DOCUMENTS))
def deep_file(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    path = tmp_path / request.param
    path.write_text(DOCUMENTS[request.param], encoding="utf-8")
    return path


@pytest.mark.parametrize("command", ["validate", "payloads"])
def test_cli_refuses_deep_nesting_in_one_line(deep_file, command):
    """``validate`` and ``payloads`` print one error line naming the file and exit 2."""
    result = _run("-m", "langchain_openrouter_fallback._cli.main", command, str(deep_file))
    assert 2 == result.returncode, result.stderr[-500:]
    assert [f"error: {deep_file}: {TOO_DEEP}"] == result.stderr.splitlines()
    assert "" == result.stdout


def test_from_file_raises_the_validation_error(deep_file):
    """``FallbackChain.from_file`` raises ``ChainValidationError``, not ``RecursionError``."""
    code = (
        "import sys\n"
        "from langchain_openrouter_fallback import ChainValidationError, FallbackChain\n"
        "try:\n"
        f"    FallbackChain.from_file({str(deep_file)!r})\n"
        "except ChainValidationError as exc:\n"
        "    print(exc)\n"
    )
    result = _run("-c", code)
    assert 0 == result.returncode, result.stderr[-500:]
    assert f"{deep_file}: {TOO_DEEP}" == result.stdout.strip()


def test_nesting_up_to_the_limit_is_accepted(tmp_path):
    """A ``params`` value nested to exactly the limit loads (the limit is not off by one)."""
    inner = "[" * (MAX_DEPTH - 2) + "]" * (MAX_DEPTH - 2)  # the document and params are 2
    path = tmp_path / "ok.json"
    path.write_text('{"models": ["openai/gpt-4o-mini"], "params": {"x": ' + inner + "}}")
    result = _run("-m", "langchain_openrouter_fallback._cli.main", "validate", str(path))
    assert 0 == result.returncode, result.stderr
    path.write_text('{"models": ["openai/gpt-4o-mini"], "params": {"x": [' + inner + "]}}")
    result = _run("-m", "langchain_openrouter_fallback._cli.main", "validate", str(path))
    assert 2 == result.returncode


def test_emulator_scenario_text_is_refused_too():
    """A scenario posted as text gets the same one-line refusal."""
    with pytest.raises(ScenarioError, match=f"<scenario>: {TOO_DEEP}"):
        parse_scenario("faults: " + "[" * DEEP + "]" * DEEP)
