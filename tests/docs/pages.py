"""The documentation a user reads: the site's pages (``docs/``) and the README, and their blocks."""

from __future__ import annotations

import os
import re
from pathlib import Path

from tests.conftest import ROOT

DOCS = ROOT / "docs"
README = ROOT / "README.md"
PAGES = [README, *sorted(DOCS.rglob("*.md"))]

_FENCE = re.compile(r"^```(?P<lang>[a-z]*)\n(?P<body>.*?)^```$", re.MULTILINE | re.DOTALL)


def name(page: Path) -> str:
    """A page as a test id: ``README.md``, ``docs/litellm.md``."""
    return page.relative_to(ROOT).as_posix()


def blocks(page: Path, lang: str) -> list[str]:
    """The bodies of the page's fenced blocks in ``lang``, in order."""
    text = page.read_text(encoding="utf-8")
    return [m["body"] for m in _FENCE.finditer(text) if m["lang"] == lang]


def fences(page: Path, lang: str) -> int:
    """How many fences open a ``lang`` block, indented or not (none may escape ``blocks``)."""
    return len(re.findall(rf"^\s*```{lang}\s*$", page.read_text(encoding="utf-8"), re.MULTILINE))


def generated_block(page: Path, marker: str, rendered: str) -> str:
    """The text between ``<!-- marker -->`` and ``<!-- /marker -->`` lines on a page.

    With ``UPDATE_DOCS=1`` the block is first rewritten to ``rendered``, so a test that renders
    a table from what it asserts can refresh the page it is shown on.
    """
    block = re.compile(rf"(<!-- {marker} -->\n)(.*?)(<!-- /{marker} -->)", re.DOTALL)
    text = page.read_text(encoding="utf-8")
    found = block.search(text)
    assert found is not None, f"{name(page)} lost its <!-- {marker} --> block"
    if os.environ.get("UPDATE_DOCS"):
        text = block.sub(lambda m: m.group(1) + rendered + m.group(3), text)
        page.write_text(text, encoding="utf-8")
        found = block.search(text)
        assert found is not None
    return found.group(2)
