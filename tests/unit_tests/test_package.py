"""The public surface: exports, version, and what importing the package pulls in."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import version

import langchain_openrouter_fallback as pkg


def test_all_is_sorted_and_complete():
    """``__all__`` is sorted and every name in it exists."""
    assert sorted(pkg.__all__) == pkg.__all__
    for name in pkg.__all__:
        assert getattr(pkg, name) is not None


def test_design_names_are_exported():
    """The names DESIGN.md promises import from the package root."""
    for name in ("FallbackChain", "FallbacksExhaustedError", "StreamInterruptedError"):
        assert name in pkg.__all__


def test_version_comes_from_metadata():
    """``__version__`` matches the installed distribution."""
    assert version("langchain-openrouter-fallback") == pkg.__version__


def test_import_pulls_in_neither_litellm_nor_openai():
    """Importing the package (and litellm_config) never imports litellm or the openai SDK."""
    code = (
        "import sys, langchain_openrouter_fallback, litellm_config;"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('litellm', 'openai')];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert 0 == result.returncode, result.stdout + result.stderr
