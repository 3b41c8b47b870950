"""Every chain shown in YAML on the site or in the README is a valid chain file."""

from __future__ import annotations

import pytest

from langchain_openrouter_fallback import load_chains
from tests.docs.pages import PAGES, blocks, name

CHAINS = [(page, body) for page in PAGES for body in blocks(page, "yaml") if "models:" in body]


def test_the_pages_show_chains():
    """The README's own chain is among them (so this check has teeth)."""
    assert any(name(page) == "README.md" for page, _ in CHAINS)


@pytest.mark.parametrize(("page", "body"), CHAINS, ids=[name(page) for page, _ in CHAINS])
def test_chain_block_loads(tmp_path, page, body: str):
    """The block, saved as a file, passes the loader (the same check as ``validate``)."""
    path = tmp_path / "chain.yaml"
    path.write_text(body, encoding="utf-8")
    assert load_chains(path)
