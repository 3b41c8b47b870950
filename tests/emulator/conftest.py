"""Shared fixtures: one running emulator per module, reset to a clean scenario per test."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import httpx
import pytest
from emulator_helpers import AUTH

from langchain_openrouter_fallback.emulator import Emulator

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture(autouse=True)
def _local_cost_map(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(os.environ, "LITELLM_LOCAL_MODEL_COST_MAP", "True")


@pytest.fixture
def client(emu: Emulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emu.base_url, headers=AUTH, timeout=10) as c:
        yield c
