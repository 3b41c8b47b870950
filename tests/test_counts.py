"""README's counts block is what ``make counts`` prints, so no figure in it is typed."""

from __future__ import annotations

import re

from tests.conftest import ROOT
from tests.counts import counts


def test_readme_counts_match_the_code():
    """Re-run ``python -m tests.counts`` and paste its lines when this fails."""
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"<!-- counts -->\n```\n(.*?)```\n<!-- /counts -->", readme, re.DOTALL)
    assert block is not None, "README lost its <!-- counts --> block"
    assert counts() == block.group(1).splitlines()
