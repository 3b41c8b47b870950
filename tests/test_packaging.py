"""What a built wheel contains and what its metadata claims.

The examples ship as package data (not only in editable installs); the metadata's Pythons,
URLs and version agree with what ``make test`` runs and with CHANGELOG.md.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
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
