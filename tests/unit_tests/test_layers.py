"""Imports run downward: the decisions import nothing of the wire, the wire nothing of LangChain.

Layers, top to bottom: the command line and the LangChain face; the wire (transport, SSE,
the response reader, the lanes attempts run on); the decisions (the run engine, plan,
adaptation, budget, health); the chain definition and a shared vocabulary (errors, the
attempt clock and its failure). Every import of a module counts, ``TYPE_CHECKING`` ones too.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import langchain_openrouter_fallback

PACKAGE = Path(langchain_openrouter_fallback.__file__).parent
NAME = "langchain_openrouter_fallback"

DECISIONS = (
    "_run",
    "_plan",
    "_adapt",
    "_adapt_report",
    "_budget",
    "_health",
    "_health_redis",
    "_prefill",
    "_accept",
    "_conforms",
    "_clock",
    "decisions",
)
WIRE = ("_transport", "_wire_attempt", "_lanes", "wire")
FACE = ("chat_models", "_executor", "_streaming", "_live", "_convert", "_structured", "_profile")
COMMAND_LINE = ("_cli", "_drill", "_report", "_demo", "_notebooks", "_examples", "emulator")

BELOW_WIRE = {*WIRE, *FACE, *COMMAND_LINE}
"""What a decisions module may not import."""
BELOW_FACE = {*FACE, *COMMAND_LINE}
"""What a wire module may not import."""


def imported(module: str) -> set[str]:
    """The package modules ``module`` imports (first name under the package), anywhere in it."""
    tree = ast.parse((PACKAGE / f"{module}.py").read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    prefix = f"{NAME}."
    return {n.removeprefix(prefix).split(".")[0] for n in names if n.startswith(prefix)}


@pytest.mark.parametrize("module", DECISIONS)
def test_decisions_import_nothing_of_the_wire_or_above(module):
    """The engine gets its clock from the shared vocabulary and its reader from the driver."""
    assert set() == imported(module) & BELOW_WIRE


@pytest.mark.parametrize("module", WIRE)
def test_the_wire_imports_nothing_of_the_langchain_face(module):
    """The wire yields plain values; the face turns them into LangChain messages."""
    assert set() == imported(module) & BELOW_FACE


def test_the_classified_modules_exist():
    """A renamed module cannot drop out of the rule unnoticed."""
    for module in (*DECISIONS, *WIRE, *FACE, *COMMAND_LINE):
        assert (PACKAGE / f"{module}.py").exists() or (PACKAGE / module).is_dir(), module


def test_decisions_load_neither_httpx_nor_langchain():
    """In a fresh interpreter, the decisions layer runs without the HTTP or LangChain stack."""
    code = (
        "import importlib, json, sys\n"
        f"for name in {list(DECISIONS)!r}:\n"
        f"    importlib.import_module('{NAME}.' + name)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert 0 == result.returncode, result.stderr
    loaded = json.loads(result.stdout.splitlines()[-1])
    heavy = [m for m in loaded if m.split(".")[0] in ("httpx", "langchain_core")]
    wire = [m for m in loaded if m.startswith(f"{NAME}.") and m.split(".")[1] in BELOW_WIRE]
    assert ([], []) == (heavy, wire)
