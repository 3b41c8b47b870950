"""Snippets on the site and in the README that show a shipped file match that file, byte for byte.

A fenced block whose first line is a comment naming a repository file (``# examples/...``)
claims to be that file: the rest of the block must equal it.
"""

from __future__ import annotations

import re

import pytest

from tests.conftest import ROOT
from tests.docs.pages import DOCS, PAGES, name

_BLOCK = re.compile(r"^```[a-z]*\n# (?P<path>[\w./-]+\.(?:yaml|yml|toml|json))\n(?P<body>.*?)^```$",
                    re.MULTILINE | re.DOTALL)  # fmt: skip
SNIPPETS = [
    (page, m["path"], m["body"])
    for page in PAGES
    for m in _BLOCK.finditer(page.read_text(encoding="utf-8"))
]


def test_getting_started_shows_the_default_chain():
    """Getting started quotes ``examples/chains/default.yaml`` (so this check has teeth)."""
    shown = [path for page, path, _ in SNIPPETS if page == DOCS / "getting-started.md"]
    assert "examples/chains/default.yaml" in shown


@pytest.mark.parametrize(
    ("page", "path", "body"), SNIPPETS, ids=[f"{name(page)}:{path}" for page, path, _ in SNIPPETS]
)
def test_snippet_matches_the_shipped_file(page, path: str, body: str):
    """The block after its ``# path`` line is the file's text."""
    assert (ROOT / path).read_text(encoding="utf-8") == body
