"""The package's logger: silent in a script that configured no logging, there when asked."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import logging, sys
if sys.argv[1] == "configured":
    logging.basicConfig(level=logging.WARNING, format="%(name)s %(levelname)s %(message)s")
from langchain_openrouter_fallback import ChatOpenRouterFallback
from langchain_openrouter_fallback.emulator import Emulator

with Emulator(scenario={"faults": [{"model": "openai/gpt-4o", "error": 503}]}) as emu:
    llm = ChatOpenRouterFallback(
        models=["openai/gpt-4o", "openai/gpt-4o-mini"], api_key="k", base_url=emu.base_url
    )
    print(llm.invoke("hi").response_metadata["fallback"]["served_by"])
"""


def _failover(logging_setup: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", SCRIPT, logging_setup],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip


def test_failover_prints_nothing_without_logging_configured():
    """No last-resort ``chain default attempt failed`` line on stderr: a NullHandler."""
    result = _failover("unconfigured")
    assert 0 == result.returncode, result.stderr
    assert "openai/gpt-4o-mini" == result.stdout.strip()
    assert "" == result.stderr


def test_failed_attempts_reach_the_application_logging():
    """With logging configured, the failed attempt is logged as a warning."""
    result = _failover("configured")
    assert 0 == result.returncode, result.stderr
    assert "langchain_openrouter_fallback WARNING chain default attempt failed" in result.stderr
