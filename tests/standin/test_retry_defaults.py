"""Issue 11 item 7: the default retry, against the independent stand-in, in all four drivers.

One quick retry on the same link after HTTP 500/502/504 or a reset before any response byte;
503 and timeouts move on at once; a retry never outlives the chain deadline.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from langchain_openrouter_fallback import ChatOpenRouterFallback, FallbackChain
from tests.standin import FRAMINGS, Reply, StandIn, completion, error, hang, reset
from tests.standin.test_timers_and_bodies import METHODS, PRIMARY, SECONDARY, run

KEY = "standin-test-key-0000"
TRANSIENT = {"500": error(500), "502": error(502), "504": error(504), "reset": reset()}


def chat(server: StandIn, **chain: Any) -> ChatOpenRouterFallback:
    """Primary and secondary with the default retry policy (only the breaker is off)."""
    doc = {
        "name": "retry-defaults",
        "models": [
            {"model": PRIMARY, "label": "primary", "timeout": 10},
            {"model": SECONDARY, "label": "secondary", "timeout": 10},
        ],
        "breaker": {"enabled": False},
        **chain,
    }
    return ChatOpenRouterFallback(
        chain=FallbackChain.model_validate(doc), api_key=KEY, base_url=server.base_url
    )


def outcomes(attempts: list[dict[str, Any]]) -> list[tuple[str, str, int]]:
    return [(a["label"], a["outcome"], a["retry"]) for a in attempts]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("fault", list(TRANSIENT))
def test_one_transient_failure_is_retried_on_the_primary(fault, method):
    """The model the user wanted serves after one quick retry."""
    with StandIn() as server:
        server.script(PRIMARY, TRANSIENT[fault])
        result = run(chat(server), method)
        seen = server.models_seen()
    assert result.error is None, result.error
    assert "primary" == result.served_by
    assert [PRIMARY, PRIMARY] == seen
    assert [("primary", "error", 0), ("primary", "ok", 1)] == outcomes(result.attempts)
    assert result.attempts[0]["error_kind"] == ("network" if fault == "reset" else "server")


@pytest.mark.parametrize("framing", FRAMINGS)
@pytest.mark.parametrize("method", METHODS)
def test_a_second_transient_failure_moves_on(framing, method):
    """One retry only: two 502s in a row and the secondary serves."""
    with StandIn() as server:
        server.script(PRIMARY, error(502, framing=framing), error(502, framing=framing))
        result = run(chat(server), method)
        seen = server.models_seen()
    assert "secondary" == result.served_by
    assert [PRIMARY, PRIMARY, SECONDARY] == seen


MOVE_ON: dict[str, Reply] = {
    "503": error(503, "No allowed providers are available"),
    "hang": hang(30),
}


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("fault", list(MOVE_ON))
def test_503_and_timeouts_move_on_at_once(fault, method):
    """No provider available, or no answer within ``timeout``: one primary attempt, then next."""
    with StandIn() as server:
        server.script(PRIMARY, MOVE_ON[fault])
        primary = {"model": PRIMARY, "label": "primary", "timeout": 0.5}
        secondary = {"model": SECONDARY, "label": "secondary", "timeout": 10}
        result = run(chat(server, models=[primary, secondary]), method)
        seen = server.models_seen()
    assert "secondary" == result.served_by
    assert [PRIMARY, SECONDARY] == seen


@pytest.mark.parametrize("method", METHODS)
def test_a_retry_that_cannot_fit_the_deadline_moves_on(method):
    """The retry's wait must fit the chain deadline; if it cannot, the next link serves now."""
    with StandIn() as server:
        server.script(PRIMARY, error(500))
        llm = chat(server, deadline=3, retry={"backoff": 5, "max_wait": 10, "jitter": 0})
        result = run(llm, method)
        seen = server.models_seen()
    assert "secondary" == result.served_by
    assert [PRIMARY, SECONDARY] == seen  # a 5 s wait would have left no time for it


@pytest.mark.parametrize("settings", [{"transient": False}, {"max_retries": 0}])
def test_transient_retries_can_be_turned_off(settings):
    """``retry: {transient: false}`` (or ``max_retries: 0``) moves on after a 500 at once."""
    with StandIn() as server:
        server.script(PRIMARY, error(500))
        result = run(chat(server, retry=settings), "invoke")
        seen = server.models_seen()
    assert "secondary" == result.served_by
    assert [PRIMARY, SECONDARY] == seen


@pytest.mark.parametrize("abort", ["reset", "cut"])
@pytest.mark.parametrize("method", METHODS)
def test_a_body_cut_after_the_headers_is_not_retried(abort, method):
    """Only a reset *before* any response byte is retried: the upstream answered and then broke,
    so the next link serves (the headers arrived; the same link may well break again)."""
    whole = completion("Hello from a body that never ends.")
    half = whole.events[0][1][:20]
    # A cut declares a longer Content-Length; a reset breaks a chunked body before its end.
    framing = "chunked" if abort == "reset" else "length"
    broken = replace(whole, events=((0.0, half),), abort=abort, framing=framing)
    with StandIn() as server:
        server.script(PRIMARY, broken)
        result = run(chat(server), method)
        seen = server.models_seen()
    assert "secondary" == result.served_by
    assert [PRIMARY, SECONDARY] == seen
    assert [("primary", "error", 0), ("secondary", "ok", 0)] == outcomes(result.attempts)
    assert result.attempts[0]["request_sent"]


def test_a_refused_connection_is_not_retried():
    """Nothing listening: a retry cannot help; every link is tried once."""
    with StandIn() as server:
        dead = server.base_url
    llm = ChatOpenRouterFallback(
        chain={"models": [PRIMARY, SECONDARY], "breaker": {"enabled": False}},
        api_key=KEY,
        base_url=dead,
    )
    result = run(llm, "invoke")
    assert [(PRIMARY, "error", 0), (SECONDARY, "error", 0)] == outcomes(result.attempts)
