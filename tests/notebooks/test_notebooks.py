"""The notebooks run top to bottom in a real kernel against the emulator, with no key."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient.exceptions import CellExecutionError
from nbformat.v4 import new_code_cell, new_notebook

from langchain_openrouter_fallback._cli.main import main
from tests.notebooks.runner import NOTEBOOKS, execute

NAMES = ["quickstart", "drill", "litellm"]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.timeout(300)
def test_notebook_runs_clean(name: str, tmp_path: Path) -> None:
    """Every cell executes without an error output, from a directory outside the repository."""
    nb = execute(NOTEBOOKS / f"{name}.ipynb", cwd=tmp_path)
    errors = [
        o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"
    ]
    assert [] == errors


@pytest.mark.timeout(300)
def test_notebooks_command_copies_runnable_notebooks(tmp_path: Path) -> None:
    """``openrouter-fallback notebooks DIR`` copies them out; ``jupyter execute`` runs one there."""
    target = tmp_path / "nbs"
    assert 0 == main(["notebooks", str(target)])
    assert {f"{name}.ipynb" for name in NAMES} == {p.name for p in target.iterdir()}
    for name in NAMES:
        assert (NOTEBOOKS / f"{name}.ipynb").read_bytes() == (target / f"{name}.ipynb").read_bytes()
    assert 2 == main(["notebooks", str(target)])  # never overwrites without --force
    assert 0 == main(["notebooks", str(target), "--force"])
    jupyter = Path(sys.executable).with_name("jupyter")
    result = subprocess.run(
        [str(jupyter), "execute", "--inplace", "quickstart.ipynb"],
        cwd=target, capture_output=True, text=True, check=False, timeout=280,
    )  # fmt: skip
    assert 0 == result.returncode, result.stderr[-2000:]
    last = nbformat.read(target / "quickstart.ipynb", as_version=4).cells[-1]
    assert ["quickstart checks passed\n"] == [o.get("text") for o in last.outputs]


@pytest.mark.parametrize("name", NAMES)
def test_committed_notebook_has_outputs(name: str) -> None:
    """Committed notebooks carry their outputs (they are read on GitHub) and no errors."""
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert sum(1 for c in code if c.outputs) * 2 >= len(code)
    assert not [o for c in code for o in c.outputs if o.output_type == "error"]


@pytest.mark.parametrize("name", NAMES)
def test_notebook_ends_by_checking_its_result(name: str) -> None:
    """The last code cell asserts the served links, so a regression fails the run above."""
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    last = [c for c in nb.cells if c.cell_type == "code"][-1]
    assert last.source.count("assert ") >= 3
    assert "served" in last.source
    assert [f"{name} checks passed\n"] == [o.get("text") for o in last.outputs]


def test_drill_notebook_has_the_plot() -> None:
    """The drill notebook shows a PNG plot."""
    nb = nbformat.read(NOTEBOOKS / "drill.ipynb", as_version=4)
    assert any(
        "image/png" in o.get("data", {})
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.outputs
    )


def test_a_raising_cell_fails_the_run(tmp_path: Path) -> None:
    """A cell that raises stops the run with CellExecutionError (so the test above fails)."""
    path = tmp_path / "broken.ipynb"
    cells = [
        new_code_cell("x = 1"),
        new_code_cell("raise ValueError('boom')"),
        new_code_cell("y = 2"),
    ]
    nbformat.write(new_notebook(cells=cells), path)
    with pytest.raises(CellExecutionError, match="boom"):
        execute(path)
