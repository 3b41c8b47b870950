"""Hedging: a slow attempt gets a parallel one; the first token wins, the loser is cancelled."""

from __future__ import annotations

import time

import pytest

from langchain_openrouter_fallback.emulator import Emulator
from tests.health.conftest import PRIMARY, SECONDARY, THIRD, chain, model, requested

KEEPALIVES_ONLY = {"faults": [{"model": PRIMARY, "slow_first_token": "forever"}]}
NO_HEADERS = {"faults": [{"model": PRIMARY, "hang": True}]}
ROOMY = 20.0
"""Seconds for a limit or hedge delay that must not fire, however loaded the machine."""


def hedged(name: str, **hedge: float) -> object:
    return chain(name, hedge={"after": 0.2, **hedge}, breaker={"enabled": False})


def open_responses(emu: Emulator, timeout: float = 3.0) -> int:
    """Responses the emulator is still writing, once they drain (or after ``timeout``)."""
    connections = emu._server.server_state.connections  # type: ignore[union-attr]
    stop = time.monotonic() + timeout
    while True:
        busy = [p for p in list(connections) if p.cycle and not p.cycle.response_complete]
        if not busy or time.monotonic() > stop:
            return len(busy)
        time.sleep(0.02)


def outcomes(metadata: dict) -> list[tuple[str, str]]:
    return [(a["label"], a["outcome"]) for a in metadata["fallback"]["attempts"]]


def check_hedge_won(emu: Emulator, metadata: dict) -> None:
    assert "secondary" == metadata["fallback"]["served_by"]
    assert [("primary", "cancelled"), ("secondary", "ok")] == outcomes(metadata)
    assert "lost the hedge to secondary" == metadata["fallback"]["attempts"][0]["error"]
    # One request each at most; not their arrival order: on a loaded machine the emulator may
    # read the hedge first, or never read a primary cancelled before its request got through.
    seen = requested(emu)
    assert (1, True) == (seen.count(SECONDARY), seen.count(PRIMARY) <= 1), seen
    assert 0 == open_responses(emu)


def test_stream_hedge_wins_and_closes_the_slow_primary(emu):
    """A keep-alive-only primary loses to the secondary; its connection is closed."""
    emu.set_scenario(KEEPALIVES_ONLY)
    chunks = list(model(emu, hedged("hedge-stream")).stream("hi"))
    # The cancelled primary is announced in a content-free chunk before the answer's content.
    assert [[("primary", "cancelled")]] == [
        [(a["label"], a["outcome"]) for a in c.response_metadata["fallback_attempts"]]
        for c in chunks
        if "fallback_attempts" in c.response_metadata
    ]
    assert ("", True) == (chunks[0].content, bool(chunks[1].content))
    check_hedge_won(emu, chunks[-1].response_metadata)


async def test_astream_hedge_wins_and_closes_the_slow_primary(emu):
    """Async twin: the losing task is cancelled and its connection closed."""
    emu.set_scenario(KEEPALIVES_ONLY)
    chunks = [c async for c in model(emu, hedged("hedge-astream")).astream("hi")]
    check_hedge_won(emu, chunks[-1].response_metadata)


def test_invoke_hedge_treats_the_whole_answer_as_the_first_token(emu):
    """Invoke: a primary that never sends headers loses to the secondary."""
    emu.set_scenario(NO_HEADERS)
    message = model(emu, hedged("hedge-invoke")).invoke("hi")
    check_hedge_won(emu, message.response_metadata)


async def test_ainvoke_hedge_treats_the_whole_answer_as_the_first_token(emu):
    """Async invoke: the slow primary's task is cancelled as soon as the secondary answers."""
    emu.set_scenario(NO_HEADERS)
    message = await model(emu, hedged("hedge-ainvoke")).ainvoke("hi")
    check_hedge_won(emu, message.response_metadata)


def test_a_fast_primary_is_never_hedged(emu):
    """No hedge starts when the primary answers within ``after``."""
    message = model(emu, hedged("hedge-fast", after=ROOMY)).invoke("hi")
    assert [("primary", "ok")] == outcomes(message.response_metadata)
    assert [PRIMARY] == requested(emu)


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_max_parallel_caps_concurrent_attempts(emu, mode):
    """With two silent links and ``max_parallel: 2``, the third starts only when one fails.

    Told by outcomes, not by clock gaps: the third link answers at once, so had it started
    beside the two silent ones it would have won and the primary would be ``cancelled``;
    it can only be ``error`` (its first-token limit) if the third waited for that failure.
    """
    slow = [{"model": m, "slow_first_token": "forever"} for m in (PRIMARY, SECONDARY)]
    emu.set_scenario({"faults": slow})
    the_chain = hedged(f"hedge-cap-{mode}", after=0.1)
    first = the_chain.models[0].model_copy(update={"first_token_timeout": 1.0})
    llm = model(emu, the_chain.model_copy(update={"models": [first, *the_chain.models[1:]]}))
    chunks = list(llm.stream("hi")) if mode == "sync" else [c async for c in llm.astream("hi")]
    seen = requested(emu)  # the third last and once; the two silent ones in either order
    assert (THIRD, 1, 1, 1) == (seen[-1], *map(seen.count, (PRIMARY, SECONDARY, THIRD))), seen
    attempts = chunks[-1].response_metadata["fallback"]["attempts"]
    expected = [("primary", "error"), ("secondary", "cancelled"), ("third", "ok")]
    assert expected == outcomes(chunks[-1].response_metadata)
    assert "no first token" in attempts[0]["error"]
    assert 0 == open_responses(emu)


def test_a_hedge_that_fails_leaves_the_primary_running(emu):
    """A hedge that errors is recorded; the slow primary still serves."""
    emu.set_scenario(
        {
            "faults": [
                {"model": PRIMARY, "slow_first_token": 1.5},  # under its 2 s timeout
                {"model": SECONDARY, "error": 503},
                {"model": THIRD, "error": 503},
            ]
        }
    )
    chunks = list(model(emu, hedged("hedge-fail", max_parallel=3)).stream("hi"))
    expected = [("secondary", "error"), ("third", "error"), ("primary", "ok")]
    assert expected == outcomes(chunks[-1].response_metadata)


def test_leaving_a_hedged_stream_early_cancels_it(emu):
    """A consumer that stops after the first chunk leaves no attempt running."""
    emu.set_scenario({"stream": {"chunks": 20, "keepalive_interval": 0.05}, **KEEPALIVES_ONLY})
    stream = model(emu, hedged("hedge-leave")).stream("hi")
    next(stream)
    stream.close()
    assert 0 == open_responses(emu)
