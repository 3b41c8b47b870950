"""Cassette tests run in CI mode by default: ``--record-mode=none`` and no network.

``make record`` passes ``--record-mode=all``; recordings then go to live OpenRouter when
``OPENROUTER_API_KEY`` is set and to a local emulator otherwise.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from langchain_openrouter_fallback.emulator import Emulator
from tests.cassettes.vcr_setup import CASSETTES, LIVE_URL, json_body, vcr_settings

# Read before the autouse ``clean_environ`` fixture hides it from every test.
LIVE_KEY = os.environ.get("OPENROUTER_API_KEY")
EMULATOR_KEY = "emulator-accepts-any-key"
ORIGIN = "openrouter" if LIVE_KEY else "emulator"
"""Where a recording made now comes from."""


def pytest_recording_configure(config: pytest.Config, vcr: Any) -> None:
    vcr.register_matcher("json_body", json_body)


@pytest.fixture
def vcr_config() -> dict[str, Any]:
    return vcr_settings(ORIGIN)


@pytest.fixture
def recording(record_mode: str) -> bool:
    """Whether this run records (``make record``) rather than replays."""
    return record_mode != "none"


@pytest.fixture(scope="module")
def vcr_cassette_dir(request: pytest.FixtureRequest) -> str:
    """Replays prefer a live recording of the module over an emulator one."""
    module = request.node.path.stem.removeprefix("test_")
    mode = request.config.getoption("--record-mode") or "none"
    if mode != "none":
        return str(CASSETTES / module / ORIGIN)
    live = CASSETTES / module / "openrouter"
    return str(live if live.is_dir() else CASSETTES / module / "emulator")


@pytest.fixture(scope="module")
def endpoint(request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    """``(base_url, api_key)`` to point the chat model at while recording or replaying."""
    mode = request.config.getoption("--record-mode") or "none"
    if mode == "none":
        yield LIVE_URL, "replay-without-a-key"
    elif LIVE_KEY:
        yield LIVE_URL, LIVE_KEY
    else:
        with Emulator() as emu:
            yield emu.base_url, EMULATOR_KEY
