"""The hedge budget's share, counted on the wire: hedges the stand-in received per request."""

from __future__ import annotations

from langchain_openrouter_fallback import ChatOpenRouterFallback
from tests.standin import StandIn, stream
from tests.standin.test_timers_and_bodies import PRIMARY, SECONDARY

KEY = "standin-test-key-0000"


def test_a_budget_of_a_tenth_hedges_every_tenth_request():
    """``budget: 0.1``: the full bucket's one hedge, then one per 10 requests (the 11th).

    Ten additions of 0.1 make 0.9999999999999999: a bucket compared with 1.0 exactly hedged
    one request in 11. Counted as requests the stand-in received for the second link, so who
    wins the race does not matter.
    """
    chain = {
        "name": "budget",
        "models": [{"model": PRIMARY, "label": "primary"}, SECONDARY],
        "breaker": {"enabled": False},
        "retry": {"max_retries": 0},
        "hedge": {"after": 0.05, "budget": 0.1},
    }
    with StandIn() as server:
        llm = ChatOpenRouterFallback(
            chain=chain, api_key=KEY, base_url=server.base_url, private_breakers=True
        )
        server.script(PRIMARY, *[stream(first_delay=0.3) for _ in range(11)])
        hedged = []
        for _ in range(11):
            before = server.models_seen().count(SECONDARY)
            "".join(chunk.text for chunk in llm.stream("hi"))
            hedged.append(server.models_seen().count(SECONDARY) > before)
    assert [True] + [False] * 9 + [True] == hedged
