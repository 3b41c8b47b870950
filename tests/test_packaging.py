"""What a built wheel contains: the examples and notebooks ship as package data, and the
``notebooks`` extra brings what runs them (not only in editable installs)."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from email.parser import Parser

import pytest

from tests.conftest import ROOT


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    """``hatchling build`` (offline, the dev venv's backend), once for the module."""
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "hatchling", "build", "-t", "wheel", "-d", str(out)],
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=120,
    )
    (path,) = out.glob("*.whl")
    with zipfile.ZipFile(path) as archive:
        yield archive


def _shipped(wheel: zipfile.ZipFile, folder: str) -> dict[str, bytes]:
    prefix = f"langchain_openrouter_fallback/{folder}/"
    return {
        name.removeprefix(prefix): wheel.read(name)
        for name in wheel.namelist()
        if name.startswith(prefix)
    }


def _in_repo(folder: str, pattern: str) -> dict[str, bytes]:
    return {
        p.relative_to(ROOT / folder).as_posix(): p.read_bytes()
        for p in (ROOT / folder).rglob(pattern)
    }


@pytest.mark.timeout(120)
def test_wheel_ships_the_examples(wheel: zipfile.ZipFile):
    """Every example chain and scenario is in the wheel, byte for byte."""
    assert _in_repo("examples", "*.*") == _shipped(wheel, "examples")


@pytest.mark.timeout(120)
def test_wheel_ships_the_notebooks(wheel: zipfile.ZipFile):
    """The three notebooks are in the wheel, byte for byte (``notebooks DIR`` copies them)."""
    shipped = _shipped(wheel, "notebooks")
    assert {"quickstart.ipynb", "drill.ipynb", "litellm.ipynb"} == set(shipped)
    assert _in_repo("notebooks", "*.ipynb") == shipped


@pytest.mark.timeout(120)
def test_notebooks_extra_can_execute_them(wheel: zipfile.ZipFile):
    """The ``notebooks`` extra brings a kernel and both runners (jupyter execute / nbconvert)."""
    (metadata,) = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
    headers = Parser().parsestr(wheel.read(metadata).decode())
    notebooks = {
        requirement.split(";")[0].split(">")[0].split("<")[0].strip()
        for requirement in headers.get_all("Requires-Dist", [])
        if "extra == 'notebooks'" in requirement or 'extra == "notebooks"' in requirement
    }
    assert {"ipykernel", "nbclient", "nbconvert"} <= notebooks
