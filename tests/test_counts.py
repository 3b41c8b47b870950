"""The docs' counts block (``docs/development.md``) is what ``make counts`` prints: no figure is typed."""

from __future__ import annotations

import re

from tests.counts import counts
from tests.docs.pages import DOCS


def test_docs_counts_match_the_code():
    """Re-run ``python -m tests.counts`` and paste its lines when this fails."""
    page = (DOCS / "development.md").read_text()
    block = re.search(r"<!-- counts -->\n```\n(.*?)```\n<!-- /counts -->", page, re.DOTALL)
    assert block is not None, "docs/development.md lost its <!-- counts --> block"
    assert counts() == block.group(1).splitlines()
