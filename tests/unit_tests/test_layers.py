"""Imports run downward: the decisions import nothing of the wire, the wire nothing of LangChain.

The layers are the package's private sub-packages, top to bottom: ``_cli`` (the command),
``_face`` (LangChain and OpenTelemetry), ``_wire`` (transport, the response reader, lanes),
``_decisions`` (the run engine, plan, adaptation, checks, budget, health, the attempt clock),
``_definition`` (the chain, loader, catalog, payloads); ``_errors``, ``_attempts``, ``_log``
and ``_lazy`` are the shared vocabulary. Every import counts, ``TYPE_CHECKING`` ones too.
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

LAYERS = ("_definition", "_decisions", "_wire", "_face", "_cli")
"""The private sub-packages, bottom to top: a layer may import the layers below it only."""
SHARED = ("_errors", "_attempts", "_log", "_lazy")
"""The vocabulary every layer shares (top-level modules)."""


def modules(layer: str) -> list[str]:
    """The modules of ``layer``, as ``layer.name``."""
    return sorted(f"{layer}.{p.stem}" for p in (PACKAGE / layer).glob("*.py"))


BELOW = [(layer, LAYERS[: i + 1]) for i, layer in enumerate(LAYERS)]
CASES = [(module, allowed) for layer, allowed in BELOW for module in modules(layer)]
DECISIONS = [*modules("_definition"), *modules("_decisions")]


def imported(module: str) -> set[str]:
    """The package layers and modules ``module`` imports (first name under the package)."""
    tree = ast.parse((PACKAGE / f"{module.replace('.', '/')}.py").read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    prefix = f"{NAME}."
    return {n.removeprefix(prefix).split(".")[0] for n in names if n.startswith(prefix)}


@pytest.mark.parametrize(("module", "allowed"), CASES, ids=[m for m, _ in CASES])
def test_each_layer_imports_only_the_layers_below_it(module, allowed):
    """Every import counts, ``TYPE_CHECKING`` ones too: the engine gets its reader from the
    driver, and the wire yields plain values that the face turns into LangChain messages."""
    above = {layer for layer in LAYERS if layer not in allowed}
    if "_face" in above:
        above.add("chat_models")  # the face's public module
    assert set() == imported(module) & above


def test_the_package_reads_like_the_layers():
    """Every private module lives in a layer or is shared vocabulary; no stray module."""
    loose = {p.stem for p in PACKAGE.glob("_*.py")} - {"__init__"}
    assert loose <= set(SHARED), sorted(loose - set(SHARED))
    assert all(modules(layer) for layer in LAYERS)


def test_decisions_load_neither_httpx_nor_langchain():
    """In a fresh interpreter, the definition and decisions layers load without the HTTP or
    LangChain stack, and without any layer above them."""
    code = (
        "import importlib, json, sys\n"
        f"for name in {DECISIONS!r}:\n"
        f"    importlib.import_module('{NAME}.' + name)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert 0 == result.returncode, result.stderr
    loaded = json.loads(result.stdout.splitlines()[-1])
    heavy = [m for m in loaded if m.split(".")[0] in ("httpx", "langchain_core")]
    above = [m for m in loaded if m.startswith(f"{NAME}.") and m.split(".")[1] in LAYERS[2:]]
    assert ([], []) == (heavy, above)
