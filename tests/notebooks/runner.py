"""Execute notebooks top to bottom in a real Jupyter kernel (the venv's ``python3``)."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
CELL_TIMEOUT = 150


def execute(path: Path, *, cwd: Path | None = None) -> nbformat.NotebookNode:
    """Run every cell; a cell that raises raises ``CellExecutionError`` here."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        kernel_name="python3",
        timeout=CELL_TIMEOUT,
        resources={"metadata": {"path": str(cwd or path.parent)}},
    )
    client.execute()
    return nb
