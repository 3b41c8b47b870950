"""Every Python snippet on the site and in the README runs, as a user would run it.

Each block is a script of its own, run by the installed package's interpreter in a temporary
directory outside the repository. Snippets that talk to OpenRouter reach the emulator over
127.0.0.1: ``OPENROUTER_BASE_URL`` (the chat model) and ``OPENROUTER_API_BASE`` (LiteLLM) point
at it and ``OPENROUTER_API_KEY`` holds a dummy key, never the network. Lines ``# > ...`` in a
snippet (the comment form ``ruff format`` keeps) are what it must print, exactly.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import KEY
from tests.docs.pages import PAGES, blocks, fences, name

SNIPPETS: list[tuple[Path, int, str]] = []
for _page in PAGES:
    for _index, _body in enumerate(blocks(_page, "python")):
        if _body not in {body for _, _, body in SNIPPETS}:  # the README repeats some: run once
            SNIPPETS.append((_page, _index, _body))
IDS = [f"{name(page)}-{index}" for page, index, _ in SNIPPETS]

pytestmark = pytest.mark.timeout(180)


OUTPUT = "# > "


def expected_output(snippet: str) -> list[str] | None:
    """The ``# >`` lines of a snippet, or ``None`` when it states no output."""
    lines = [line.removeprefix(OUTPUT) for line in snippet.splitlines() if line.startswith(OUTPUT)]
    return lines or None


def test_every_python_block_is_collected():
    """No Python fence hides from the runner (indented in a list or an admonition)."""
    for page in PAGES:
        assert fences(page, "python") == len(blocks(page, "python")), name(page)
    assert len(SNIPPETS) >= 10


@pytest.mark.parametrize(("page", "index", "snippet"), SNIPPETS, ids=IDS)
def test_snippet_runs_outside_the_repository(emu, tmp_path, page, index, snippet):
    """The snippet exits 0 from a temporary directory and prints what its ``# >`` lines say."""
    script = tmp_path / "snippet.py"
    script.write_text(snippet, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENROUTER", "PYTHON"))}
    env |= {
        "OPENROUTER_API_KEY": KEY,
        "OPENROUTER_BASE_URL": emu.base_url,
        "OPENROUTER_API_BASE": emu.base_url,
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    }
    result = subprocess.run(
        [sys.executable, script.name], cwd=tmp_path, env=env, capture_output=True, text=True,
        timeout=150, check=False,
    )  # fmt: skip
    assert 0 == result.returncode, f"{name(page)} block {index}:\n{result.stderr[-3000:]}"
    expected = expected_output(snippet)
    if expected is not None:
        assert expected == result.stdout.rstrip("\n").splitlines()
