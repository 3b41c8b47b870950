"""``openrouter-fallback notebooks DIR``: copy the shipped notebooks out, ready to run.

The notebooks (quickstart, drill, litellm) ship inside the package, like the examples, and
run from any directory against the local emulator, with no key. Their imports and the
``jupyter execute`` / ``jupyter nbconvert --execute`` commands come with the ``notebooks``
extra.
"""

from __future__ import annotations

import shutil
import sys
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any

from langchain_openrouter_fallback._errors import OpenRouterFallbackError

if TYPE_CHECKING:
    import argparse

__all__ = ["NotebooksError", "copy_notebooks", "register", "shipped_notebooks"]

RUN_HINT = (
    "run them with: pip install 'langchain-openrouter-fallback[notebooks]' && "
    "jupyter execute --inplace {dir}/*.ipynb (or: jupyter nbconvert --to notebook --execute "
    "--inplace {dir}/*.ipynb)"
)


class NotebooksError(OpenRouterFallbackError):
    """The notebooks cannot be copied (files in the way, none shipped)."""


def shipped_notebooks() -> list[Path]:
    """The installed notebooks (``*.ipynb``), by name."""
    root = Path(str(files("langchain_openrouter_fallback") / "notebooks"))
    return sorted(root.glob("*.ipynb"))


def copy_notebooks(target: str | Path, *, force: bool = False) -> list[Path]:
    """Copy every shipped notebook into ``target`` (created if needed); return the copies.

    Raises:
        NotebooksError: a notebook of the same name is already there (unless ``force``).
    """
    sources = shipped_notebooks()
    if not sources:
        msg = "no notebooks are installed with this package"
        raise NotebooksError(msg)
    directory = Path(target)
    copies = [directory / source.name for source in sources]
    existing = [str(copy) for copy in copies if copy.exists()]
    if existing and not force:
        msg = f"{', '.join(existing)} already exist(s); pass --force to overwrite"
        raise NotebooksError(msg)
    directory.mkdir(parents=True, exist_ok=True)
    for source, copy in zip(sources, copies, strict=True):
        shutil.copyfile(source, copy)
    return copies


def _cmd_notebooks(args: argparse.Namespace) -> int:
    copies = copy_notebooks(args.directory, force=args.force)
    sys.stdout.write("".join(f"{copy}\n" for copy in copies))
    sys.stderr.write(RUN_HINT.format(dir=args.directory) + "\n")
    return 0


def register(subparsers: Any) -> None:
    """Add the ``notebooks`` subcommand."""
    parser = subparsers.add_parser(
        "notebooks", help="copy the example notebooks (quickstart, drill, litellm) into DIR"
    )
    parser.add_argument("directory", metavar="DIR", help="created if it does not exist")
    parser.add_argument("--force", action="store_true", help="overwrite notebooks already there")
    parser.set_defaults(func=_cmd_notebooks)
