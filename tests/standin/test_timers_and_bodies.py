"""Issue 11, items 2-5 and 8, against the independent stand-in in every framing, four drivers.

The stand-in shares no code with our emulator: these hold against any server that frames its
bodies by chunks, by ``Content-Length`` or by closing the connection.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, message_chunk_to_message

from langchain_openrouter_fallback import ChatOpenRouterFallback, FallbackChain
from langchain_openrouter_fallback._decisions.run import DEFAULT_FIRST_TOKEN_TIMEOUT
from tests.standin import (
    FRAMINGS,
    Reply,
    StandIn,
    auto,
    completion,
    error,
    keepalive_only,
    stream,
)

PRIMARY = "openai/gpt-4o-mini"
SECONDARY = "anthropic/claude-haiku-4.5"
KEY = "standin-test-key-0000"
METHODS = ("invoke", "ainvoke", "stream", "astream")
STREAMS = ("stream", "astream")
THOUGHTS = ["Let me", " think", " about", " this", " a bit."]


def make_model(server: StandIn, primary: dict[str, Any], **chain: Any) -> ChatOpenRouterFallback:
    doc = {
        "name": "standin",
        "models": [
            {"model": PRIMARY, "label": "primary", **primary},
            {"model": SECONDARY, "label": "secondary", "timeout": 10},
        ],
        "breaker": {"enabled": False},
        "retry": {"max_retries": 0},
        **chain,
    }
    return ChatOpenRouterFallback(
        chain=FallbackChain.model_validate(doc), api_key=KEY, base_url=server.base_url
    )


@dataclass
class Result:
    message: AIMessage | None
    error: Exception | None
    seconds: float

    @property
    def attempts(self) -> list[dict[str, Any]]:
        if self.error is not None:
            return [a.as_dict() for a in self.error.attempts]  # type: ignore[attr-defined]
        assert self.message is not None
        return self.message.response_metadata["fallback"]["attempts"]

    @property
    def served_by(self) -> str | None:
        assert self.message is not None, self.error
        return self.message.response_metadata["fallback"]["served_by"]


def run(llm: ChatOpenRouterFallback, method: str, messages: Any = "Say it") -> Result:
    """One request through ``method``; streams are aggregated into one message."""
    started = time.monotonic()

    async def drive() -> AIMessage:
        try:
            if method == "ainvoke":
                return await llm.ainvoke(messages)
            total = None
            async for chunk in llm.astream(messages):
                total = chunk if total is None else total + chunk
            return _whole(total)
        finally:
            await llm._transport.aclose()

    try:
        if method == "invoke":
            message = llm.invoke(messages)
        elif method == "stream":
            total = None
            for chunk in llm.stream(messages):
                total = chunk if total is None else total + chunk
            message = _whole(total)
        else:
            message = asyncio.run(drive())
    except Exception as exc:
        return Result(None, exc, time.monotonic() - started)
    return Result(message, None, time.monotonic() - started)


def _whole(total: Any) -> AIMessage:
    assert total is not None
    message = message_chunk_to_message(total)
    assert isinstance(message, AIMessage)
    return message


# -- item 2: first_token until the first output, stall between outputs, timeout overall ------


@pytest.mark.parametrize("framing", FRAMINGS)
@pytest.mark.parametrize("method", STREAMS)
def test_gaps_longer_than_first_token_limit_but_within_stall_are_fine(framing, method):
    """First token at once, then 1 s gaps: first_token_timeout 0.6 must not cut them."""
    with StandIn() as server:
        server.script(
            PRIMARY, stream(["one ", "two ", "three"], keepalives=0, gap=1.0, framing=framing)
        )
        llm = make_model(server, {"timeout": 20, "first_token_timeout": 0.6, "stall_timeout": 5})
        result = run(llm, method)
    assert result.error is None, result.error
    assert result.message is not None
    assert result.message.text == "one two three"
    assert result.served_by == "primary"


@pytest.mark.parametrize("framing", FRAMINGS)
@pytest.mark.parametrize("method", STREAMS)
def test_stall_limit_fires_between_outputs(framing, method):
    """A gap over stall_timeout after the first token is a stall (buffered, so it fails over)."""
    with StandIn() as server:
        server.script(PRIMARY, stream(["one ", "two"], keepalives=0, gap=3, framing=framing))
        llm = make_model(
            server,
            {"timeout": 20, "first_token_timeout": 2, "stall_timeout": 0.5},
            stream_recovery="buffer",
        )
        result = run(llm, method)
    assert result.served_by == "secondary"
    primary = result.attempts[0]
    assert primary["error_kind"] == "timeout"
    assert "stall timeout" in primary["error"]
    # a stall fires only before the next output: so before the primary's second token


@pytest.mark.parametrize("framing", FRAMINGS)
@pytest.mark.parametrize("method", STREAMS)
def test_whole_attempt_timeout_bounds_a_steady_stream(framing, method):
    """Outputs every 0.3 s never stall, but the attempt's ``timeout`` still ends it."""
    with StandIn() as server:
        server.script(PRIMARY, stream(["tick "] * 20, gap=0.3, framing=framing))
        llm = make_model(
            server,
            {"timeout": 1.5, "first_token_timeout": 1, "stall_timeout": 1},
            stream_recovery="buffer",
        )
        result = run(llm, method)
    assert result.served_by == "secondary"
    primary = result.attempts[0]
    assert primary["error_kind"] == "timeout"
    assert "total timeout" in primary["error"]


# -- item 3: reasoning surfaced, kept, sent back, and counted as output --------------------


def _check_reasoning(message: AIMessage) -> None:
    thought = "".join(THOUGHTS)
    assert message.additional_kwargs["reasoning_content"] == thought
    blocks = message.content_blocks
    assert blocks[0] == {"type": "reasoning", "reasoning": thought}
    assert [b["type"] for b in blocks[1:]] == ["text"]
    details = message.additional_kwargs["reasoning_details"]
    assert [(d["type"], d["text"], d["index"]) for d in details] == [("reasoning.text", thought, 0)]


@pytest.mark.parametrize("framing", FRAMINGS)
@pytest.mark.parametrize("method", METHODS)
def test_reasoning_is_surfaced_and_sent_back(framing, method):
    """Reasoning reaches ``reasoning_content``, content blocks and ``reasoning_details``,
    and the details go back on the assistant message of the next turn."""
    with StandIn() as server:
        if method in STREAMS:
            reply = stream(["The answer."], reasoning=THOUGHTS, gap=0.05, framing=framing)
        else:
            reply = completion("The answer.", reasoning="".join(THOUGHTS), framing=framing)
        server.script(PRIMARY, reply)
        llm = make_model(server, {"timeout": 10})
        first = run(llm, method)
        assert first.message is not None, first.error
        _check_reasoning(first.message)
        assert first.message.text == "The answer."
        history = [HumanMessage("Q1"), first.message, HumanMessage("Q2")]
        second = run(llm, method, history)
        assert second.error is None, second.error
        sent = server.requests[-1].body["messages"]
    assert sent[1]["role"] == "assistant"
    assert sent[1]["reasoning_details"] == first.message.additional_kwargs["reasoning_details"]
    assert "reasoning_details" not in sent[0]
    assert "reasoning_details" not in sent[2]


@pytest.mark.parametrize("framing", FRAMINGS)
@pytest.mark.parametrize("method", STREAMS)
def test_reasoning_counts_for_the_first_token_and_stall_clocks(framing, method):
    """Thinking for ~1.5 s in 0.3 s steps: over first_token_timeout 1 before any text, yet
    served, because reasoning is output; keep-alives in between never are."""
    with StandIn() as server:
        reply = stream(["Done."], reasoning=THOUGHTS, reasoning_gap=0.3, gap=0.3, framing=framing)
        server.script(PRIMARY, reply)
        llm = make_model(server, {"timeout": 20, "first_token_timeout": 1, "stall_timeout": 1})
        result = run(llm, method)
    assert result.error is None, result.error
    assert result.served_by == "primary"
    assert result.message is not None
    assert result.message.text == "Done."
    assert result.message.additional_kwargs["reasoning_content"] == "".join(THOUGHTS)


# -- item 4: the limit that fired is the error kind, in every framing and driver -----------


@pytest.mark.parametrize("framing", FRAMINGS)
@pytest.mark.parametrize("method", METHODS)
def test_keepalive_only_primary_times_out_and_falls_back(framing, method):
    """Keep-alives only (SSE comments for streams, whitespace for JSON): a timeout, never a
    network error or a malformed body, even when the body ends by closing the connection."""
    with StandIn() as server:
        whitespace = method not in STREAMS
        server.script(
            PRIMARY, keepalive_only(10, every=0.1, framing=framing, whitespace=whitespace)
        )
        llm = make_model(
            server,
            {"timeout": 1, "first_token_timeout": 0.5, "stall_timeout": 0.5},
            fallback_on=["timeout"],
        )
        result = run(llm, method)
    assert result.error is None, result.error
    assert result.served_by == "secondary"
    primary = result.attempts[0]
    assert primary["error_kind"] == "timeout", primary
    limit = "within 0.5 s (first_token timeout)" if method in STREAMS else "within 1 s (total"
    assert limit in primary["error"]


# -- item 5: a JSON error body answering a stream request ---------------------------------


@pytest.mark.parametrize("framing", FRAMINGS)
@pytest.mark.parametrize("method", METHODS)
def test_json_error_body_is_classified_the_same_for_streams(framing, method):
    """``200 application/json`` ``{"error": {"code": 502, "message": "upstream boom"}}``:
    server 502 'upstream boom', whether the request asked for a stream or not."""
    with StandIn() as server:
        server.script(PRIMARY, error(200, "upstream boom", code=502, framing=framing))
        llm = make_model(server, {"timeout": 5})
        result = run(llm, method)
    assert result.served_by == "secondary"
    primary = result.attempts[0]
    assert (primary["error_kind"], primary["status_code"], primary["error"]) == (
        "server",
        502,
        "upstream boom",
    )


@pytest.mark.parametrize("framing", FRAMINGS)
@pytest.mark.parametrize("method", STREAMS)
def test_whole_completion_answering_a_stream_request_is_used(framing, method):
    """A server that ignores ``stream: true`` and sends a padded completion still serves."""
    with StandIn() as server:
        server.script(PRIMARY, completion("Whole answer.", padding=2, framing=framing))
        llm = make_model(server, {"timeout": 5})
        result = run(llm, method)
    assert result.error is None, result.error
    assert result.served_by == "primary"
    assert result.message is not None
    assert result.message.text == "Whole answer."


# -- item 8: default first-token and stall limits for streams -----------------------------


def test_streams_have_a_default_first_token_limit():
    """No ``first_token_timeout`` set: a primary silent for longer than the default is left
    for the secondary after the default, not after its whole attempt ``timeout``."""
    with StandIn() as server:
        server.default = auto("Fallback answer.")
        server.script(PRIMARY, keepalive_only(DEFAULT_FIRST_TOKEN_TIMEOUT + 15, every=0.5))
        llm = make_model(server, {"timeout": 60})
        result = run(llm, "astream")
    assert result.served_by == "secondary"
    primary = result.attempts[0]
    assert primary["error_kind"] == "timeout"
    assert f"no first token within {DEFAULT_FIRST_TOKEN_TIMEOUT:g} s" in primary["error"]


@pytest.mark.parametrize("framing", FRAMINGS)
@pytest.mark.parametrize("method", METHODS)
def test_non_json_body_labelled_json_is_malformed_both_ways(framing, method):
    """``application/json`` that is not JSON is ``malformed``, stream request or not."""
    with StandIn() as server:
        body = b"<html>upstream proxy error</html>"
        server.script(PRIMARY, Reply(events=((0.0, body),), framing=framing))
        llm = make_model(server, {"timeout": 5})
        result = run(llm, method)
    assert result.served_by == "secondary"
    primary = result.attempts[0]
    assert (primary["error_kind"], primary["status_code"]) == ("malformed", 200)
    assert "not JSON" in primary["error"]
