"""The README is the way in: short, the two set-up commands first, and a link to every site page."""

from __future__ import annotations

import re
from typing import Any

import yaml

from tests.conftest import ROOT
from tests.docs.pages import DOCS, README, blocks

MAX_LINES = 200
TEXT = README.read_text(encoding="utf-8")
LINKS = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", TEXT)


def nav_pages(nav: list[Any]) -> list[str]:
    """Every page file of a MkDocs ``nav``, sections flattened."""
    pages: list[str] = []
    for item in nav:
        value = next(iter(item.values())) if isinstance(item, dict) else item
        pages += nav_pages(value) if isinstance(value, list) else [value]
    return pages


def test_readme_is_short():
    """At most ~200 lines: the manual is the site."""
    assert len(TEXT.splitlines()) <= MAX_LINES


def test_the_two_setup_commands_come_first():
    """The first block is exactly ``make demo`` and ``make test``, before any other section."""
    first = blocks(README, "bash")[0]
    assert ["make demo", "make test"] == [line.split("#")[0].strip() for line in first.splitlines()]
    assert TEXT.index(first) < TEXT.index("\n## ")


def test_readme_links_resolve():
    """Every relative link in the README names a file of the repository."""
    local = [link for link in LINKS if "://" not in link]
    assert local
    assert [] == [link for link in local if not (ROOT / link).exists()]


def test_readme_links_every_site_page():
    """Each page of the site's navigation is one click from the README."""
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    pages = [f"docs/{page}" for page in nav_pages(config["nav"])]
    assert all((DOCS.parent / page).is_file() for page in pages)
    assert [] == [page for page in pages if page not in LINKS]
