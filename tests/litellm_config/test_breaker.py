"""A flapping primary through a real ``litellm.Router`` on a compressed clock.

The upstream is the independent stand-in (``tests/standin``), not our emulator. Cooldowns are
2 s; the test drives requests and reads which deployment each one reached (the stand-in's
request log), waiting only for the cooldown the test is about.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

import pytest

import litellm_config
from langchain_openrouter_fallback import FallbackChain
from tests.litellm_config.conftest import TEST_KEY
from tests.standin import StandIn, auto, error

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.litellm

PRIMARY = "openai/gpt-4o-mini"
FALLBACK = "anthropic/claude-haiku-4.5"
COOLDOWN = 2.0
HI = [{"role": "user", "content": "hi"}]


class Flapping:
    """The stand-in's default reply: 503 for the primary while ``down``, else an answer."""

    def __init__(self) -> None:
        self.down = True
        self._ok = auto()

    def __call__(self, body: dict[str, Any]) -> Any:
        if self.down and body.get("model") == PRIMARY:
            return error(503, "primary is down")
        reply = self._ok
        return reply(body) if callable(reply) else reply


@pytest.fixture
def upstream(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[StandIn, Flapping]]:
    monkeypatch.setenv("OPENROUTER_API_KEY", TEST_KEY)
    flapping = Flapping()
    with StandIn(default=flapping) as server:
        yield server, flapping


def _chain() -> FallbackChain:
    return FallbackChain.model_validate(
        {
            "name": "c",
            "retry": {"max_retries": 0},
            "breaker": {"failures": 2, "cooldown": COOLDOWN},
            "models": [
                {"model": PRIMARY, "label": "primary", "timeout": 10},
                {"model": FALLBACK, "label": "fallback", "timeout": 10},
            ],
        }
    )


SERVED: list[str] = []


async def _primary_called(router: Any, server: StandIn) -> bool:
    """Send one request; did it reach the primary? (The answer always comes from somewhere.)"""
    server.clear()
    response = await router.acompletion(model="c", messages=HI)
    assert response.choices[0].message.content
    SERVED.append(response._hidden_params["model_id"])
    return PRIMARY in server.models_seen()


async def _until_primary_called(router: Any, server: StandIn, within: float) -> float:
    """Requests every 50 ms until one reaches the primary; seconds that took."""
    start = time.monotonic()
    while not await _primary_called(router, server):
        assert time.monotonic() - start < within, "the primary was never tried again"
        await asyncio.sleep(0.05)  # request pacing, like a client's; the condition is the log
    return time.monotonic() - start


async def _open_the_breaker(router: Any, server: StandIn) -> None:
    assert await _primary_called(router, server)
    assert await _primary_called(router, server)  # second failure: cooldown starts
    assert not await _primary_called(router, server)


@pytest.mark.timeout(60)
async def test_flapping_primary_reopens_after_one_failed_probe_and_closes_on_success(
    litellm, upstream
):
    """Down: 2 fails open it; after the cooldown one failed probe re-opens it at once (the
    chain's half-open rule); once it is back, the next probe is served by it."""
    server, flapping = upstream
    router = litellm.Router(**litellm_config.router_kwargs(_chain(), api_base=server.base_url))
    await _open_the_breaker(router, server)
    waited = await _until_primary_called(router, server, within=6 * COOLDOWN)
    assert waited > COOLDOWN / 2  # it really was cooling down
    assert not await _primary_called(router, server)  # one failed probe re-opened it
    flapping.down = False
    await _until_primary_called(router, server, within=6 * COOLDOWN)
    assert "c/primary" == SERVED[-1]  # the probe succeeded and served
    assert await _primary_called(router, server)  # closed: the primary serves again
    assert "c/primary" == SERVED[-1]


@pytest.mark.timeout(60)
async def test_a_success_does_not_reset_litellms_fail_count(litellm, upstream):
    """What differs (lint, docs/litellm.md): right after recovery a single failure re-opens, where the
    chain's breaker, closed by the success, would need `failures` new ones."""
    server, flapping = upstream
    router = litellm.Router(**litellm_config.router_kwargs(_chain(), api_base=server.base_url))
    await _open_the_breaker(router, server)
    flapping.down = False
    await _until_primary_called(router, server, within=6 * COOLDOWN)
    flapping.down = True
    assert await _primary_called(router, server)  # one failure...
    assert not await _primary_called(router, server)  # ...and it is cooling down again


@pytest.mark.timeout(60)
async def test_with_litellms_own_window_a_failed_probe_does_not_reopen(litellm, upstream):
    """Evidence for the mapping: with the router's cooldown_time equal to the cooldown (fail
    count kept for one cooldown, LiteLLM's usual setup) the primary needs 2 new fails."""
    server, _ = upstream
    kwargs = litellm_config.router_kwargs(_chain(), api_base=server.base_url)
    kwargs["cooldown_time"] = COOLDOWN
    router = litellm.Router(**kwargs)
    await _open_the_breaker(router, server)
    await _until_primary_called(router, server, within=6 * COOLDOWN)
    assert await _primary_called(router, server)  # still tried: the probe did not re-open
