"""Issue 26: limits that learn (``auto``) and the hedge budget, against the independent stand-in.

Every learned value here is pinned by ``floor`` / ``ceiling`` wherever the test compares it to a
number, so nothing depends on how fast this machine answers: a learned limit is somewhere in
``[floor, ceiling]``, and the attempts' records, timeout messages and ``llm.limits()`` must agree
on it and on whether it was ``learned`` or ``cold``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from langchain_openrouter_fallback import AutoLimit, ChainValidationError, ChatOpenRouterFallback
from langchain_openrouter_fallback._decisions.health import HealthRegistry
from langchain_openrouter_fallback._decisions.health_redis import RedisBackend
from tests.health.conftest import redis_server, redis_url  # noqa: F401 - the real redis fixtures
from tests.standin import StandIn, completion, hang, keepalive_only, stream
from tests.standin.test_timers_and_bodies import PRIMARY, SECONDARY, STREAMS, run

KEY = "standin-test-key-0000"


def chain_model(server: StandIn, primary: dict[str, Any], **chain: Any) -> ChatOpenRouterFallback:
    doc = {
        "name": "learning",
        "models": [{"model": PRIMARY, "label": "primary", **primary}, SECONDARY],
        "breaker": {"enabled": False},
        "retry": {"max_retries": 0},
        **chain,
    }
    return ChatOpenRouterFallback(
        chain=doc, api_key=KEY, base_url=server.base_url, private_breakers=True
    )


def teach(llm: ChatOpenRouterFallback, server: StandIn, count: int, **reply: Any) -> None:
    """``count`` streams the primary serves (scripted with ``reply``): what auto learns from."""
    server.script(PRIMARY, *[stream(**reply) for _ in range(count)])
    for _ in range(count):
        assert "primary" == run(llm, "stream").served_by


@pytest.mark.parametrize("method", STREAMS)
def test_the_cold_value_applies_until_enough_attempts_served(method):
    """With fewer than ``min_samples`` successes, ``cold`` applies and is named as such."""
    spec = {"auto": {"cold": 0.5, "min_samples": 3}}
    with StandIn() as server:
        llm = chain_model(server, {"first_token_timeout": spec})
        teach(llm, server, 2)
        assert "cold" == llm.limits()["primary"]["first_token_timeout"]["source"]
        server.script(PRIMARY, keepalive_only(20))
        result = run(llm, method)
    assert "anthropic/claude-haiku-4.5" == result.served_by
    first = result.attempts[-2]
    assert "no first token within 0.5 s (first_token timeout, cold)" in first["error"]
    assert {"first_token_timeout": "cold"} == first["auto_limits"]
    assert 0.5 == first["limits"]["first_token_timeout"]


@pytest.mark.parametrize("method", STREAMS)
def test_a_learned_first_token_limit_leaves_a_silent_upstream_early(method):
    """Fast first tokens teach a limit far below the 15 s default; a silent primary is left at it."""
    spec = {"auto": {"floor": 0.3, "ceiling": 2, "min_samples": 5}}
    with StandIn() as server:
        llm = chain_model(server, {"first_token_timeout": spec})
        teach(llm, server, 5)
        shown = llm.limits()["primary"]["first_token_timeout"]
        assert ("learned", 5) == (shown["source"], shown["samples"])
        assert 0.3 <= shown["seconds"] <= 2
        server.script(PRIMARY, keepalive_only(20))
        result = run(llm, method)
    assert "anthropic/claude-haiku-4.5" == result.served_by
    first = result.attempts[-2]
    assert "(first_token timeout, learned)" in first["error"]
    assert {"first_token_timeout": "learned"} == first["auto_limits"]
    assert shown["seconds"] == first["limits"]["first_token_timeout"]
    assert first["elapsed_ms"] < 15_000


def test_floor_and_ceiling_clamp_what_is_learned():
    """Slow first tokens learn at most ``ceiling``; instant ones at least ``floor``."""
    with StandIn() as server:
        llm = chain_model(
            server,
            {
                "first_token_timeout": {"auto": {"ceiling": 0.4, "min_samples": 3}},
                "stall_timeout": {"auto": {"floor": 3, "min_samples": 3}},
            },
        )
        teach(llm, server, 3, first_delay=0.5, pieces=["a", "b", "c"])
        shown = llm.limits()["primary"]
    assert {"seconds": 0.4, "source": "learned", "samples": 3} == shown["first_token_timeout"]
    assert {"seconds": 3.0, "source": "learned", "samples": 3} == shown["stall_timeout"]


def test_reasoning_counts_as_the_first_output():
    """A reasoning model that thinks aloud at once is learned fast, though its text comes late."""
    spec = {"auto": {"floor": 0.5, "ceiling": 5, "min_samples": 3}}
    with StandIn() as server:
        llm = chain_model(server, {"first_token_timeout": spec, "stall_timeout": 30})
        # Reasoning at once, then 2 s of thought before the answer's one piece of text.
        teach(
            llm, server, 3, reasoning=["Let me", " think"], reasoning_gap=0.0, gap=2.0,
            pieces=["The answer."],
        )  # fmt: skip
        shown = llm.limits()["primary"]["first_token_timeout"]
    assert "learned" == shown["source"]
    assert shown["seconds"] < 2.0  # from the text's arrival it would be at least 2 x 1.5


@pytest.mark.parametrize("method", STREAMS)
def test_a_learned_stall_limit_keeps_healthy_gaps_and_cuts_a_stall(method):
    """Gaps of 0.3 s teach a stall limit above them: the same stream passes, a 20 s stall does not."""
    spec = {"auto": {"floor": 0.5, "ceiling": 2, "min_samples": 3}}
    with StandIn() as server:
        llm = chain_model(server, {"stall_timeout": spec}, stream_recovery="buffer")
        teach(llm, server, 3, pieces=["a", "b", "c"], gap=0.3)
        server.script(PRIMARY, stream(["a", "b", "c"], gap=0.3))
        healthy = run(llm, method)
        server.script(PRIMARY, stream(["a", "b"], keepalives=0, gap=20))
        stalled = run(llm, method)
    assert "primary" == healthy.served_by
    assert "anthropic/claude-haiku-4.5" == stalled.served_by
    assert "stream stalled within" in stalled.attempts[0]["error"]
    assert "(stall timeout, learned)" in stalled.attempts[0]["error"]


def test_auto_on_the_constructor_and_per_call():
    """``first_token_timeout="auto"`` on the constructor or per call; a typo names itself."""
    with StandIn() as server:
        llm = ChatOpenRouterFallback(
            models=[PRIMARY, SECONDARY], api_key=KEY, base_url=server.base_url,
            first_token_timeout="auto", private_breakers=True,
        )  # fmt: skip
        assert isinstance(llm.first_token_timeout, AutoLimit)
        shown = llm.limits()[PRIMARY]["first_token_timeout"]
        assert {"seconds": 15.0, "source": "cold", "samples": 0} == shown
        chunks = list(llm.stream("hi", timeout="auto"))
        attempt = chunks[-1].response_metadata["fallback"]["attempts"][0]
        assert {"timeout": "cold", "first_token_timeout": "cold"} == attempt["auto_limits"]
        with pytest.raises(ChainValidationError, match="first_token_timeout='soon'"):
            llm.invoke("hi", first_token_timeout="soon")


def test_auto_is_refused_with_the_field_and_reason():
    """A bad ``auto`` block names the field inside it."""
    with pytest.raises(ValueError, match=r"auto\.floor: Input should be greater than 0"):
        ChatOpenRouterFallback(
            chain={"models": [{"model": PRIMARY, "timeout": {"auto": {"floor": 0}}}]}, api_key=KEY
        )


def test_the_hedge_budget_caps_hedges_to_its_share_of_requests():
    """``budget: 0.2`` over 10 requests that all want a hedge: the first, then one in five."""
    with StandIn() as server:
        llm = chain_model(server, {}, hedge={"after": 0.05, "budget": 0.2})
        server.script(PRIMARY, *[stream(first_delay=0.6) for _ in range(10)])
        results = [run(llm, "stream") for _ in range(10)]
    hedged = [r.served_by == "anthropic/claude-haiku-4.5" for r in results]
    # Request n may hedge while fewer than 0.2 x n of the first n did.
    assert [True, False, False, False, False, True, False, False, False, False] == hedged
    withheld = results[1].attempts[0]
    assert "hedge withheld: budget" in withheld["notes"]
    assert "primary" == results[1].served_by


def test_a_learned_hedge_delay_starts_the_hedge_before_a_slow_primary_answers():
    """``after: auto`` hedges at the primary's learned first-token time, not its cold 5 s."""
    hedge = {"after": {"auto": {"cold": 5, "ceiling": 0.5, "min_samples": 3}}}
    with StandIn() as server:
        llm = chain_model(server, {}, hedge=hedge)
        teach(llm, server, 3)  # cold: no hedge before 5 s, and these answer at once
        server.script(PRIMARY, stream(first_delay=3))
        result = run(llm, "stream")
    assert "anthropic/claude-haiku-4.5" == result.served_by
    primary = result.attempts[0]
    assert ("cancelled", "primary") == (primary["outcome"], primary["label"])


LEARNER = """
import json, sys
from langchain_openrouter_fallback import ChatOpenRouterFallback
url, base_url, key, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
chain = {
    "name": "shared-learning", "shared_state": url, "retry": {"max_retries": 0},
    "models": [
        {"model": "openai/gpt-4o-mini", "label": "primary",
         "first_token_timeout": {"auto": {"floor": 0.3, "ceiling": 2, "min_samples": 4}}},
        "anthropic/claude-haiku-4.5",
    ],
}
llm = ChatOpenRouterFallback(chain=chain, api_key=key, base_url=base_url)
served = [list(llm.stream("hi"))[-1].response_metadata["fallback"]["served_by"] for _ in range(count)]
print(json.dumps({"served": served, "limits": llm.limits()}))
"""


def learn_elsewhere(url: str, base_url: str, count: int) -> dict[str, Any]:
    """``count`` streams from another process sharing the Redis at ``url``; what it saw."""
    args = [sys.executable, "-c", LEARNER, url, base_url, KEY, str(count)]
    done = subprocess.run(args, capture_output=True, text=True, check=True, timeout=120)
    return json.loads(done.stdout)


def test_what_one_process_learns_another_applies_through_redis(redis_url):  # noqa: F811
    """Two processes sharing ``shared_state`` each teach half; a third reads the learned limit."""
    with StandIn() as server:
        first = learn_elsewhere(redis_url, server.base_url, 2)
        second = learn_elsewhere(redis_url, server.base_url, 2)
        third = learn_elsewhere(redis_url, server.base_url, 0)
    assert ["primary"] * 2 == first["served"] == second["served"]
    assert "cold" == first["limits"]["primary"]["first_token_timeout"]["source"]
    shown = third["limits"]["primary"]["first_token_timeout"]
    assert ("learned", 4) == (shown["source"], shown["samples"])
    assert 0.3 <= shown["seconds"] <= 2


def test_a_redis_that_is_down_leaves_learning_to_this_process():
    """``shared_state`` at a dead Redis: requests still serve and this process learns alone."""
    spec = {"auto": {"floor": 0.3, "ceiling": 2, "min_samples": 2}}
    with StandIn() as server:
        llm = chain_model(
            server, {"first_token_timeout": spec}, shared_state="redis://127.0.0.1:9/0"
        )
        llm._health = HealthRegistry(RedisBackend("redis://127.0.0.1:9/0"))  # nothing listens
        teach(llm, server, 2)
        shown = llm.limits()["primary"]["first_token_timeout"]
    assert ("learned", 2) == (shown["source"], shown["samples"])


@pytest.mark.parametrize("method", ["invoke", "ainvoke"])
def test_timeout_auto_learns_whole_answers_and_leaves_a_hang_at_the_learned_value(method):
    """Whole answers teach ``timeout: auto``; a hanging primary is then left at the learned value."""
    spec = {"auto": {"floor": 0.5, "ceiling": 2, "min_samples": 3}}
    with StandIn() as server:
        llm = chain_model(server, {"timeout": spec})
        server.script(PRIMARY, *[completion(padding=2, padding_gap=0.05) for _ in range(3)])
        assert ["primary"] * 3 == [run(llm, method).served_by for _ in range(3)]
        shown = llm.limits()["primary"]["timeout"]
        server.script(PRIMARY, hang(30))
        result = run(llm, method)
    assert ("learned", 3) == (shown["source"], shown["samples"])
    assert "anthropic/claude-haiku-4.5" == result.served_by
    first = result.attempts[0]
    assert "(total timeout, learned)" in first["error"]
    assert {"timeout": "learned"} == first["auto_limits"]
    assert shown["seconds"] == first["limits"]["timeout"]
