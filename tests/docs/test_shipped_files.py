"""README snippets that show a shipped file match that file, byte for byte.

A fenced block whose first line is a comment naming a repository file (``# examples/...``)
claims to be that file: the rest of the block must equal it.
"""

from __future__ import annotations

import re

import pytest

from tests.conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")
_BLOCK = re.compile(r"^```[a-z]*\n# (?P<path>[\w./-]+\.(?:yaml|yml|toml|json))\n(?P<body>.*?)^```$",
                    re.MULTILINE | re.DOTALL)  # fmt: skip
SNIPPETS = [(m["path"], m["body"]) for m in _BLOCK.finditer(README)]


def test_the_readme_shows_the_default_chain():
    """The chain section quotes ``examples/chains/default.yaml`` (so this check has teeth)."""
    assert "examples/chains/default.yaml" in [path for path, _ in SNIPPETS]


@pytest.mark.parametrize(("path", "body"), SNIPPETS, ids=[p for p, _ in SNIPPETS])
def test_snippet_matches_the_shipped_file(path: str, body: str):
    """The block after its ``# path`` line is the file's text."""
    assert (ROOT / path).read_text(encoding="utf-8") == body
