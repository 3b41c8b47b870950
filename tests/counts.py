"""Print the suite's counts (``make counts``): the docs and closing notes paste them, never type.

``python -m tests.counts`` prints what the counts block of ``docs/development.md`` holds
(tests/test_counts.py checks that block against this); ``--tests`` adds how many tests pytest
collects (slower; not in the docs, since every new test would change it).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable, Iterable
from typing import Any

import yaml

from langchain_openrouter_fallback.emulator._scenario import EFFECTS
from tests.chat_models.test_fault_matrix import CASES, CELLS
from tests.conftest import RECORDINGS, ROOT

CASSETTES = ROOT / "cassettes" / "chat_model"


def _interactions(texts: Iterable[str], load: Callable[[str], Any]) -> int:
    return sum(len(load(text)["interactions"]) for text in texts)


def counts() -> list[str]:
    """The docs' counts block, one line per figure."""
    recordings = sorted(RECORDINGS.glob("*.json"))
    recorded = _interactions((p.read_text() for p in recordings), json.loads)
    cassettes = sorted(CASSETTES.rglob("*.yaml"))
    replayed = _interactions((p.read_text() for p in cassettes), yaml.safe_load)
    chains, scenarios = (
        len(list((ROOT / "examples" / d).iterdir())) for d in ("chains", "scenarios")
    )
    matrix = "fault matrix (tests/chat_models/test_fault_matrix.py)"
    return [
        f"emulator fault effects: {len(EFFECTS)}",
        f"{matrix}: {len(CASES)} faults, {len(CELLS)} cells (only methods where the fault fires)",
        f"recorded OpenRouter interactions: {recorded} in {len(recordings)} recordings",
        f"chat-model cassettes: {len(cassettes)} ({replayed} interactions)",
        f"example chains: {chains}, example scenarios: {scenarios}",
    ]


def collected() -> str:
    """Pytest's own summary line of ``--collect-only`` over the whole suite."""
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:randomly"],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    lines = [line for line in result.stdout.splitlines() if "collected" in line]
    if not lines:
        return f"tests: collection failed\n{result.stdout[-2000:]}"
    return "tests: " + re.sub(r" in [0-9.]+s.*", "", lines[-1])


def main(argv: list[str]) -> int:
    lines = counts()
    if "--tests" in argv:
        lines.append(collected())
    sys.stdout.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
