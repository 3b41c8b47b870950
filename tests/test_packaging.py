"""What a built wheel contains: the examples ship as package data (not only in editable installs)."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import ROOT


@pytest.mark.timeout(120)
def test_wheel_ships_the_examples(tmp_path: Path):
    """``hatchling build`` (offline, the dev venv's backend) puts every example in the wheel."""
    subprocess.run(
        [sys.executable, "-m", "hatchling", "build", "-t", "wheel", "-d", str(tmp_path)],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        shipped = {
            name.removeprefix("langchain_openrouter_fallback/examples/"): archive.read(name)
            for name in archive.namelist()
            if name.startswith("langchain_openrouter_fallback/examples/")
        }
    expected = {
        p.relative_to(ROOT / "examples").as_posix(): p.read_bytes()
        for p in (ROOT / "examples").rglob("*.*")
    }
    assert expected == shipped
