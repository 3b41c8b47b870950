"""The example chains and emulator scenarios shipped inside the package."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

__all__ = ["example_path"]


def example_path(name: str) -> Path:
    """The installed copy of ``examples/<name>``, e.g. ``example_path("chains/default.yaml")``.

    Works wherever the package is installed (wheel or editable), whatever the working directory.

    Raises:
        FileNotFoundError: naming the example and listing the ones that exist.
    """
    root = Path(str(files("langchain_openrouter_fallback") / "examples"))
    path = root / name
    if not path.is_file():
        shipped = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
        msg = f"no example {name!r} in {root}; shipped: {', '.join(shipped)}"
        raise FileNotFoundError(msg)
    return path
