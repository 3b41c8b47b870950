"""The proxy guard meets the core at its public wire seam, and loads no LangChain."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import litellm_config

GUARD_MODULES = ("_guard.py", "proxy_plugin.py", "served_model.py", "master_key.py")
"""The modules the proxy loads at run time (the generators are checked with the linter's)."""


@pytest.mark.timeout(300)  # importing litellm in a fresh interpreter is slow on a loaded core
def test_loading_the_proxy_plugin_does_not_load_langchain():
    """A fresh interpreter imports the plugin: ``langchain_core`` stays unloaded."""
    code = (
        "import sys, json\nimport litellm_config.proxy_plugin\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] == 'langchain_core')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert 0 == result.returncode, result.stderr
    assert [] == json.loads(result.stdout.splitlines()[-1])


def _core_imports(path: Path) -> list[str]:
    """Every ``langchain_openrouter_fallback`` module ``path`` imports."""
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
        elif isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
    return [n for n in names if n.split(".")[0] == "langchain_openrouter_fallback"]


@pytest.mark.parametrize("name", GUARD_MODULES)
def test_the_guard_imports_only_public_names_of_the_core(name):
    """No ``langchain_openrouter_fallback._private`` module, only the documented seam."""
    path = Path(litellm_config.__file__).parent / name
    private = [m for m in _core_imports(path) if any(p.startswith("_") for p in m.split(".")[1:])]
    assert [] == private
