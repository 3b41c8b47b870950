"""The example chains and scenarios ship inside the package: any working directory finds them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from langchain_openrouter_fallback import FallbackChain, example_path
from tests.conftest import ROOT


def test_example_path_is_the_shipped_copy_of_examples():
    """``example_path`` returns files identical to the repository's ``examples/``."""
    for source in sorted((ROOT / "examples").rglob("*.*")):
        name = source.relative_to(ROOT / "examples").as_posix()
        assert source.read_bytes() == example_path(name).read_bytes()


def test_example_chain_loads_from_any_directory(tmp_path: Path):
    """A notebook copied elsewhere (another cwd) still loads the default chain."""
    code = (
        "from langchain_openrouter_fallback import FallbackChain, example_path;"
        "print(FallbackChain.from_file(example_path('chains/default.yaml')).labels)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert 0 == result.returncode, result.stderr
    labels = FallbackChain.from_file(ROOT / "examples" / "chains" / "default.yaml").labels
    assert str(labels) == result.stdout.strip()


def test_unknown_example_names_what_ships():
    """A wrong name raises an error listing the shipped examples."""
    with pytest.raises(
        FileNotFoundError, match=r"no example 'chains/nope\.yaml'.*chains/default\.yaml"
    ):
        example_path("chains/nope.yaml")
