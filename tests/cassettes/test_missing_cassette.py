"""In CI mode (record mode ``none``) a deleted cassette fails its test: never passes, never skips."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.cassettes.vcr_setup import CASSETTES, ROOT


def replay_dir(module: str) -> Path:
    live = CASSETTES / module / "openrouter"
    return live if live.is_dir() else CASSETTES / module / "emulator"


def test_deleted_cassettes_fail_in_ci_mode(tmp_path: Path) -> None:
    """Remove one recorded and one converted cassette from a copy: both tests fail."""
    copy = tmp_path / "cassettes"
    shutil.copytree(CASSETTES, copy)
    recorded = (
        replay_dir("chat_model").relative_to(CASSETTES) / "test_invoke_served_by_primary.yaml"
    )
    converted = Path("recordings") / (
        "ruby-llm__chat_basic_chat_functionality_claude-haiku-4-5_can_have_a_basic_conversation.yaml"
    )
    (copy / recorded).unlink()
    (copy / converted).unlink()
    env = {k: v for k, v in os.environ.items() if k != "OPENROUTER_API_KEY"}
    env["OPENROUTER_FALLBACK_CASSETTES"] = str(copy)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-q",
            "--no-header",
            "tests/cassettes/test_chat_model.py::test_invoke_served_by_primary",
            "tests/cassettes/test_recordings.py::test_basic_conversation",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=50,
        check=False,
    )
    out = result.stdout + result.stderr
    assert 1 == result.returncode, out
    assert "2 failed" in out, out
    assert "CannotOverwriteExistingCassetteException" in out
    assert "skipped" not in out
