"""Issue 11 item 10: limits set on the constructor apply to every link without its own.

``ChatOpenRouterFallback(models=[...], first_token_timeout=..., stall_timeout=...,
stream_recovery=..., timeout=...)`` needs no chain document; with ``chain=`` a link's own value
wins; a per-call ``stream_recovery=`` wins over the constructor's.
"""

from __future__ import annotations

import asyncio

import pytest

from langchain_openrouter_fallback import ChatOpenRouterFallback, StreamInterruptedError
from tests.standin import StandIn, hang, keepalive_only, stream
from tests.standin.test_timers_and_bodies import METHODS, PRIMARY, SECONDARY, STREAMS, run

KEY = "standin-test-key-0000"


def shorthand(server: StandIn, **limits: object) -> ChatOpenRouterFallback:
    return ChatOpenRouterFallback(
        models=[PRIMARY, SECONDARY], api_key=KEY, base_url=server.base_url, **limits
    )


@pytest.mark.parametrize("method", STREAMS)
def test_first_token_timeout_on_the_constructor(method):
    """A keep-alive-only primary is left after the constructor's 0.5 s, not the 15 s default."""
    with StandIn() as server:
        server.script(PRIMARY, keepalive_only(20))
        result = run(shorthand(server, first_token_timeout=0.5), method)
    assert SECONDARY == result.served_by
    first = result.attempts[0]
    assert ("timeout", PRIMARY) == (first["error_kind"], first["label"])
    assert "within 0.5 s" in first["error"]


@pytest.mark.parametrize("method", STREAMS)
def test_stall_timeout_and_stream_recovery_on_the_constructor(method):
    """A 3 s gap after the first words stalls at 0.5 s; ``buffer`` restarts on the secondary."""
    with StandIn() as server:
        server.script(PRIMARY, stream(["one ", "two"], keepalives=0, gap=3))
        llm = shorthand(server, stall_timeout=0.5, stream_recovery="buffer")
        result = run(llm, method)
    assert result.error is None, result.error
    assert SECONDARY == result.served_by
    assert "stream stalled within 0.5 s" in result.attempts[0]["error"]


@pytest.mark.parametrize("method", STREAMS)
def test_a_per_call_stream_recovery_wins_over_the_constructor(method):
    """``stream(..., stream_recovery="raise")`` beats the constructor's ``buffer``."""
    with StandIn() as server:
        server.script(PRIMARY, stream(["one ", "two"], keepalives=0, gap=3))
        llm = shorthand(server, stall_timeout=0.5, stream_recovery="buffer")
        if method == "stream":
            with pytest.raises(StreamInterruptedError):
                list(llm.stream("hi", stream_recovery="raise"))
        else:

            async def drain() -> None:
                async for _ in llm.astream("hi", stream_recovery="raise"):
                    pass

            with pytest.raises(StreamInterruptedError):
                asyncio.run(drain())


@pytest.mark.parametrize("method", METHODS)
def test_timeout_on_the_constructor(method):
    """A hanging primary is left after the constructor's ``timeout``, in every driver."""
    with StandIn() as server:
        server.script(PRIMARY, hang(30))
        result = run(shorthand(server, timeout=0.5), method)
    assert SECONDARY == result.served_by
    assert "timeout" == result.attempts[0]["error_kind"]
    assert "within 0.5 s (total timeout)" in result.attempts[0]["error"]


@pytest.mark.parametrize("method", STREAMS)
def test_a_links_own_limit_wins_over_the_constructor(method):
    """With ``chain=``: the primary's own 2.5 s first-token limit stands against the
    constructor's 0.3 s; the secondary, which sets none, gets the constructor's."""
    with StandIn() as server:
        server.script(PRIMARY, stream(["late ", "but fine"], keepalives=0, first_delay=1))
        chain = {
            "models": [
                {"model": PRIMARY, "label": "primary", "first_token_timeout": 2.5},
                {"model": SECONDARY, "label": "secondary"},
            ],
        }
        llm = ChatOpenRouterFallback(
            chain=chain, api_key=KEY, base_url=server.base_url, first_token_timeout=0.3
        )
        result = run(llm, method)
        server.script(PRIMARY, keepalive_only(20))
        server.script(SECONDARY, keepalive_only(20))
        exhausted = run(llm, method)
    assert "primary" == result.served_by
    assert result.message is not None
    assert "late but fine" == result.message.text
    errors = [a["error"] for a in exhausted.attempts]
    assert "within 2.5 s" in errors[0]
    assert "within 0.3 s" in errors[1]


def test_limits_are_validated():
    """A limit must be positive; an unknown recovery is refused when the model is built."""
    with pytest.raises(ValueError, match="greater than 0"):
        ChatOpenRouterFallback(models=[PRIMARY], stall_timeout=0)
    with pytest.raises(ValueError, match="stream_recovery"):
        ChatOpenRouterFallback(models=[PRIMARY], stream_recovery="retry")
