"""Which LiteLLM the proxy plugin accepts: the oldest release the suite tests, and newer.

Judged without litellm: ``litellm_config._compat`` reads version strings only (the check at a
real proxy start is in tests/litellm_config/test_compat.py).
"""

from __future__ import annotations

import re
import tomllib

import pytest

from litellm_config._compat import OLDEST_TESTED_LITELLM, check_litellm_version
from tests.conftest import ROOT


@pytest.mark.parametrize("found", ["1.103.6", "1.80.0", "0.9", "1.103.7rc1", "1.103.7.dev3"])
def test_an_older_litellm_is_refused_in_one_line_naming_both_versions_and_the_fix(found):
    """Older, or a pre-release of the oldest tested one: refused, and the line says what to do."""
    with pytest.raises(RuntimeError) as refused:
        check_litellm_version(found)
    message = str(refused.value)
    assert "\n" not in message
    assert f"LiteLLM {found}:" in message
    assert f"tested on LiteLLM {OLDEST_TESTED_LITELLM} and newer" in message
    assert f"pip install 'litellm[proxy]>={OLDEST_TESTED_LITELLM}'" in message


@pytest.mark.parametrize(
    "found", [OLDEST_TESTED_LITELLM, "1.103.7.post1", "1.103.7.0", "1.108.7", "1.110.2", "2.0"]
)
def test_the_oldest_tested_litellm_and_newer_are_accepted(found):
    """The oldest tested release, its post-releases and anything newer load the plugin."""
    check_litellm_version(found)


@pytest.mark.parametrize("found", [None, "", "unknown"])
def test_a_version_that_cannot_be_read_is_let_through(found):
    """LiteLLM's own fallback when its metadata is missing is ``unknown``: not judged."""
    check_litellm_version(found)


def test_the_oldest_tested_litellm_is_the_lower_bound_and_the_lowest_lock():
    """The refusal's threshold is the version `make test` runs the proxy tests on (the lowest
    lock) and pyproject's lower bound, so the three never drift apart."""
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    (requirement,) = [
        r for r in extras["optional-dependencies"]["litellm"] if r.startswith("litellm")
    ]
    assert re.search(rf">={re.escape(OLDEST_TESTED_LITELLM)}(,|$)", requirement), requirement
    lowest = (ROOT / "requirements-lowest.lock").read_text()
    assert f"\nlitellm=={OLDEST_TESTED_LITELLM}\n" in lowest
