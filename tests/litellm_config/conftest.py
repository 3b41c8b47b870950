"""Shared fixtures for the real-litellm tests: one emulator and one litellm import per module."""

from __future__ import annotations

import os
from typing import Any

import pytest

from langchain_openrouter_fallback import FallbackChain
from langchain_openrouter_fallback.emulator import Emulator

TEST_KEY = "test-key-not-secret"
SMALL = "mistralai/mistral-7b-instruct-v0.1"
"""The catalog's smallest context window (2,824 tokens): the pre-call check's victim."""


@pytest.fixture(scope="module")
def litellm() -> Any:
    """litellm, imported once (about 3 s) with the bundled cost map only."""
    os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
    import litellm  # noqa: PLC0415 - heavy; imported once per module, and a missing one must fail

    return litellm


@pytest.fixture
def emu(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> Emulator:
    """The shared emulator (clean scenario, empty log) plus a test key in the environment."""
    monkeypatch.setenv("OPENROUTER_API_KEY", TEST_KEY)
    return emu


def chain(**overrides: Any) -> FallbackChain:
    """A three-link client chain with a fast breaker (2 fails, 1 s cooldown)."""
    body: dict[str, Any] = {
        "name": "c",
        "breaker": {"failures": 2, "cooldown": 1},
        "models": [
            {"model": "openai/gpt-4o-mini", "label": "primary", "timeout": 10},
            {"model": "anthropic/claude-haiku-4.5", "label": "secondary", "timeout": 10},
            {"model": "google/gemini-2.5-flash", "label": "last", "timeout": 10},
        ],
    }
    body.update(overrides)
    return FallbackChain.model_validate(body)


def models_called(emu: Emulator) -> list[str]:
    """Requested model ids, in order, from the emulator's log."""
    return [entry.body["model"] for entry in emu.log]
