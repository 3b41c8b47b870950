"""What a built wheel contains and what its metadata claims.

The examples and notebooks ship as package data (not only in editable installs), and the
``notebooks`` extra brings what runs them; the metadata's Pythons, URLs and version agree with
what ``make test`` runs and with CHANGELOG.md.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
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


PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def test_the_python_classifiers_are_the_pythons_make_test_runs():
    """One classifier per CPython a `make test` lane runs on, and requires-python from the oldest."""
    lanes = set(re.findall(r"\bpython(3\.1\d)\b", (ROOT / "Makefile").read_text()))
    prefix = "Programming Language :: Python :: "
    declared = {
        c.removeprefix(prefix) for c in PROJECT["classifiers"] if re.match(rf"{prefix}3\.", c)
    }
    assert {"3.11", "3.12", "3.13"} == lanes
    assert lanes == declared
    assert f">={min(lanes)}" == PROJECT["requires-python"]


def test_the_project_urls_all_point_into_the_repository():
    """Documentation, changelog and issues are addresses in the one repository."""
    urls = PROJECT["urls"]
    assert {"Repository", "Documentation", "Changelog", "Issues"} == set(urls)
    for name, url in urls.items():
        assert url.startswith(urls["Repository"]), name
    assert urls["Changelog"].endswith("/CHANGELOG.md")


def test_the_changelog_has_the_version_and_an_unreleased_section():
    """The version lives in pyproject.toml only; CHANGELOG.md has its section and Unreleased."""
    headings = re.findall(r"^## \[([^\]]+)\]", (ROOT / "CHANGELOG.md").read_text(), re.MULTILINE)
    assert "Unreleased" == headings[0]
    assert PROJECT["version"] in headings
