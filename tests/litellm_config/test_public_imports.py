"""litellm_config uses the core through public names only (no ``langchain_openrouter_fallback._x``)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import litellm_config

PACKAGE = Path(litellm_config.__file__).parent
CORE = "langchain_openrouter_fallback"


def private_imports(path: Path) -> list[str]:
    """``module`` for every import of a private core module in ``path`` (typing-only included)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            modules = [node.module]
        elif isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        else:
            continue
        found += [
            f"line {node.lineno}: {m}"
            for m in modules
            if m.split(".")[0] == CORE and any(p.startswith("_") for p in m.split(".")[1:])
        ]
    return found


def test_litellm_config_imports_only_public_core_names():
    """Every module of litellm_config imports public core modules only."""
    offenders = {
        path.name: found
        for path in sorted(PACKAGE.glob("*.py"))
        if (found := private_imports(path))
    }
    assert {} == offenders


def test__private_imports_sees_every_form(tmp_path):
    """``from core._x import``, ``import core._x``, nested and typing-only forms are all caught."""
    source = tmp_path / "m.py"
    source.write_text(
        "from typing import TYPE_CHECKING\n"
        "import langchain_openrouter_fallback._definition.chain\n"
        "from langchain_openrouter_fallback._errors import ErrorKind\n"
        "from langchain_openrouter_fallback.emulator._server import app\n"
        "from langchain_openrouter_fallback import FallbackChain\n"
        "from langchain_openrouter_fallback.definition import group_links\n"
        "if TYPE_CHECKING:\n"
        "    from langchain_openrouter_fallback._decisions.plan import Step\n"
    )
    assert [
        "line 2: langchain_openrouter_fallback._definition.chain",
        "line 3: langchain_openrouter_fallback._errors",
        "line 4: langchain_openrouter_fallback.emulator._server",
        "line 8: langchain_openrouter_fallback._decisions.plan",
    ] == private_imports(source)


def test_generating_a_config_stays_light():
    """Importing litellm_config and generating a config load neither LangChain nor httpx."""
    code = (
        "import sys, litellm_config;"
        "litellm_config.proxy_yaml('examples/chains/default.yaml');"
        "litellm_config.lint_chains({'c': litellm_config._inputs.collect_chains("
        "'examples/chains/default.yaml')['default']});"
        "heavy = [m for m in sys.modules if m.split('.')[0] in ('langchain_core', 'httpx', 'litellm')];"
        "print(heavy); sys.exit(1 if heavy else 0)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=False,
        cwd=PACKAGE.parent,
    )
    assert 0 == result.returncode, result.stdout + result.stderr
