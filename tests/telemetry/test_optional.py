"""Nothing of OpenTelemetry is imported or paid without the `otel` extra (fresh interpreters)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from tests.conftest import ROOT

BLOCK_OTEL = """
import importlib.abc, sys

class NoOtel(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "opentelemetry":
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, NoOtel())
"""


def run(code: str, *, prelude: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", prelude + textwrap.dedent(code)],
        capture_output=True, text=True, check=False, cwd=ROOT, timeout=60,
    )  # fmt: skip


def test_without_the_extra_requests_serve_and_nothing_of_opentelemetry_loads():
    """Without opentelemetry installed, invoke and stream work and telemetry is off."""
    result = run(
        """
        from langchain_openrouter_fallback import ChatOpenRouterFallback, telemetry
        from langchain_openrouter_fallback.emulator import Emulator

        with Emulator(scenario={"faults": [{"model": "openai/gpt-4o-mini", "error": 503}]}) as emu:
            llm = ChatOpenRouterFallback(
                models=["openai/gpt-4o-mini", "anthropic/claude-haiku-4.5"],
                api_key="k", base_url=emu.base_url,
            )
            served = llm.invoke("hi").response_metadata["fallback"]["served_by"]
            live = [c for c in llm.stream("hi") if c.response_metadata.get("fallback_attempts")]
        loaded = sorted(m for m in sys.modules if m.startswith("opentelemetry"))
        print(served, len(live), telemetry.enabled(), loaded)
        """,
        prelude=BLOCK_OTEL,
    )
    assert 0 == result.returncode, result.stderr[-3000:]
    assert "anthropic/claude-haiku-4.5 1 False []" == result.stdout.strip()


def test_opentelemetry_is_loaded_by_the_first_request_not_by_import():
    """With the API installed, our OpenTelemetry code loads on the first request only.

    (langsmith, under langchain-core, imports ``opentelemetry`` itself when installed.)
    """
    result = run(
        """
        import sys
        from langchain_openrouter_fallback import ChatOpenRouterFallback
        from langchain_openrouter_fallback.emulator import Emulator

        with Emulator() as emu:
            llm = ChatOpenRouterFallback(models=["openai/gpt-4o-mini"], api_key="k", base_url=emu.base_url)
            before = "langchain_openrouter_fallback._face.otel" in sys.modules
            llm.invoke("hi")
        print(before, "langchain_openrouter_fallback._face.otel" in sys.modules)
        """
    )
    assert 0 == result.returncode, result.stderr[-3000:]
    assert "False True" == result.stdout.strip()
