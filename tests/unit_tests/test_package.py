"""The public surface: exports, version, and what importing the package pulls in."""

from __future__ import annotations

import importlib
import inspect
import json
import subprocess
import sys
from importlib.metadata import version

import pytest
from langchain_core.messages import HumanMessage, SystemMessage

import langchain_openrouter_fallback as pkg
from tests.conftest import EXAMPLE_CHAINS


def test_all_is_sorted_and_complete():
    """``__all__`` is sorted and every name in it exists."""
    assert sorted(pkg.__all__) == pkg.__all__
    for name in pkg.__all__:
        assert getattr(pkg, name) is not None


def test_design_names_are_exported():
    """The names DESIGN.md promises import from the package root."""
    for name in ("FallbackChain", "FallbacksExhaustedError", "StreamInterruptedError"):
        assert name in pkg.__all__


def test_version_comes_from_metadata():
    """``__version__`` matches the installed distribution."""
    assert version("langchain-openrouter-fallback") == pkg.__version__


def test_import_pulls_in_neither_litellm_nor_openai():
    """Importing the package (and litellm_config) never imports litellm or the openai SDK."""
    code = (
        "import sys, langchain_openrouter_fallback, litellm_config;"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('litellm', 'openai')];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert 0 == result.returncode, result.stdout + result.stderr


# Modules a chain file, the payloads and the light CLI commands must never load.
HEAVY = (
    "langchain_core",
    "langsmith",
    "httpx",
    "uvicorn",
    "langchain_openrouter_fallback.emulator._server",
    "langchain_openrouter_fallback.chat_models",
    "litellm",
    "openai",
)


def _loaded_heavy_modules(code: str) -> list[str]:
    """Run ``code`` in a fresh interpreter; return the heavy modules it left in sys.modules."""
    probe = f"{code}\nimport sys, json\nprint(json.dumps(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=False
    )
    assert 0 == result.returncode, result.stderr
    loaded = json.loads(result.stdout.splitlines()[-1])
    return [m for m in loaded if any(m == h or m.startswith(f"{h}.") for h in HEAVY)]


def test_a_chain_and_its_payloads_load_without_langchain_or_httpx():
    """``FallbackChain`` from a file and its OpenAI-dict payloads need no LangChain or httpx."""
    code = (
        "from langchain_openrouter_fallback import FallbackChain, load_chains, ErrorKind\n"
        f"chain = FallbackChain.from_file({str(EXAMPLE_CHAINS / 'default.yaml')!r})\n"
        "assert chain.openrouter_payloads([{'role': 'user', 'content': 'hi'}])\n"
    )
    assert [] == _loaded_heavy_modules(code)


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["--version"],
        ["validate", "default.yaml"],
        ["payloads", "default.yaml"],
        ["schema"],
        ["drill", "--help"],
        ["emulate", "--help"],
        ["litellm", "--help"],
    ],
    ids=" ".join,
)
def test_light_commands_load_no_langchain_httpx_or_server(argv):
    """``--help``, ``validate``, ``payloads`` and ``schema`` start without the heavy stack."""
    args = [str(EXAMPLE_CHAINS / a) if a.endswith(".yaml") else a for a in argv]
    code = (
        "import contextlib, io\n"
        "from langchain_openrouter_fallback._cli.main import main\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
        f"    assert 0 == main({args!r})\n"
    )
    assert [] == _loaded_heavy_modules(code)


def test_chat_model_and_langchain_messages_load_on_first_use():
    """The lazy names resolve; LangChain messages still become OpenRouter payloads."""
    assert "ChatOpenRouterFallback" in dir(pkg)
    assert "chat_models" == pkg.ChatOpenRouterFallback.__module__.rsplit(".", 1)[-1]
    chain = pkg.FallbackChain.model_validate({"models": ["openai/gpt-4o-mini"]})
    payload = chain.openrouter_payloads([SystemMessage("be brief"), HumanMessage("hi")])[0]
    assert [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}] == (
        payload["messages"]
    )
    with pytest.raises(AttributeError, match="no attribute 'NotAName'"):
        _ = pkg.NotAName


PUBLIC_MODULES = ("definition", "decisions", "lazy")
"""Public modules beside the root: the seams add-ons such as ``litellm_config`` build on."""


@pytest.mark.parametrize("name", PUBLIC_MODULES)
def test_public_modules_export_documented_names(name):
    """Each public module is documented, and so is every class or function in its ``__all__``."""
    module = importlib.import_module(f"langchain_openrouter_fallback.{name}")
    assert module.__doc__
    for attr in module.__all__:
        value = getattr(module, attr)
        if inspect.isclass(value) or inspect.isfunction(value):
            assert inspect.getdoc(value), f"{name}.{attr} has no docstring"


def test_public_modules_load_without_langchain_or_httpx():
    """The definition and decision seams are as light as a chain file."""
    code = "\n".join(f"import langchain_openrouter_fallback.{name}" for name in PUBLIC_MODULES)
    assert [] == _loaded_heavy_modules(code)
