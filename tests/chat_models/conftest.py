"""A running emulator per module, reset for every test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from langchain_openrouter_fallback.emulator import Emulator

KEY = "emulator-test-key-0000"


@pytest.fixture(scope="module")
def running() -> Iterator[Emulator]:
    with Emulator() as emu:
        yield emu


@pytest.fixture
def emu(running: Emulator) -> Iterator[Emulator]:
    running.set_scenario(None)
    running.clear_log()
    yield running
    running.set_scenario(None)
