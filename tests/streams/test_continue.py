"""``continue`` and ``buffer`` specifics: prefill capability, rejections, tools, limits, overrides."""

from __future__ import annotations

import pytest

from langchain_openrouter_fallback import FallbackChain, StreamInterruptedError
from langchain_openrouter_fallback._decisions.prefill import (
    accepts_prefill,
    continuation_body,
    split_prefill,
)
from langchain_openrouter_fallback._definition.chain import Link
from langchain_openrouter_fallback._errors import ErrorKind
from tests.streams.conftest import (
    PRIMARY,
    REPLY,
    SECONDARY,
    THIRD,
    consume,
    limits_for,
    link,
    make_chain,
    model,
    scenario,
)

METHODS = ["stream", "astream"]


@pytest.mark.parametrize("method", METHODS)
def test_rejected_prefill_ends_with_the_original_break(emu, method):
    """A 400 on the continuation is logged, but the consumer gets the original stream break."""
    emu.set_scenario(scenario({"cut_after": 3}, models={SECONDARY: {"prefill": False}}))
    outcome = consume(model(emu, make_chain("continue")), method)
    error = outcome.error
    assert isinstance(error, StreamInterruptedError)
    assert outcome.text == error.partial_text
    assert REPLY.startswith(error.partial_text)
    assert ErrorKind.NETWORK == error.kind
    assert "stream from primary broke" in str(error)
    primary, secondary = error.attempts
    assert ("interrupted", len(outcome.text)) == (primary.error_kind, primary.contributed_chars)
    assert ("error", "invalid_request", 400) == (
        secondary.outcome,
        secondary.error_kind,
        secondary.status_code,
    )
    assert "continued" == secondary.recovered
    assert "does not support assistant message prefill" in secondary.error
    assert 0 == secondary.contributed_chars


@pytest.mark.parametrize("method", METHODS)
def test_links_without_prefill_are_skipped_then_the_break_is_raised(emu, method):
    """An OpenAI next link has no documented prefill: skipped, and the original break raised."""
    stall = {"stall_after": 2}
    emu.set_scenario(scenario(stall))
    chain = make_chain(
        "continue",
        link(PRIMARY, "primary", **limits_for(stall)),
        link("openai/gpt-4o", "secondary"),
    )
    outcome = consume(model(emu, chain), method)
    error = outcome.error
    assert isinstance(error, StreamInterruptedError)
    assert ErrorKind.TIMEOUT == error.kind
    assert "no later link could continue it" in str(error)
    assert ["interrupted", None] == [a.error_kind for a in error.attempts]
    assert "cannot continue an assistant prefill" == error.attempts[1].error
    assert "skipped" == error.attempts[1].outcome
    assert 1 == len(emu.log)


@pytest.mark.parametrize("method", METHODS)
def test_a_later_prefill_link_continues_past_one_that_cannot(emu, method):
    """Links that cannot prefill are skipped; the next one that can continues the answer."""
    emu.set_scenario(scenario({"cut_after": 2}))
    chain = make_chain(
        "continue",
        link(PRIMARY, "primary"),
        link("openai/gpt-4o", "secondary"),
        link(THIRD, "third"),
    )
    outcome = consume(model(emu, chain), method)
    assert outcome.error is None
    assert REPLY == outcome.text
    assert ["error", "skipped", "ok"] == [a["outcome"] for a in outcome.attempts]
    assert "third" == outcome.last.response_metadata["fallback"]["served_by"]


@pytest.mark.parametrize("method", METHODS)
def test_link_prefill_overrides_the_vendor_default(emu, method):
    """``prefill: true`` on a link lets an OpenAI model continue."""
    emu.set_scenario(scenario({"cut_after": 2}))
    chain = make_chain(
        "continue", link(PRIMARY, "primary"), link("openai/gpt-4o", "secondary", prefill=True)
    )
    outcome = consume(model(emu, chain), method)
    assert REPLY == outcome.text
    assert "continued" == outcome.attempts[-1]["recovered"]


@pytest.mark.parametrize("method", METHODS)
def test_first_token_limit_applies_to_continuations(emu, method):
    """A continuation that sends no first token within its limit moves on to the next link."""
    faults = {"models": {"*": {"scripted": {"reply": REPLY}}}}
    hang = {"slow_first_token": "forever"}
    emu.set_scenario(
        {
            **scenario({"cut_after": 2}),
            "faults": [{"model": PRIMARY, "cut_after": 2}, {"model": SECONDARY, **hang}],
            **faults,
        }
    )
    chain = make_chain(
        "continue",
        link(PRIMARY, "primary"),
        link(SECONDARY, "secondary", **limits_for(hang)),
        link(THIRD, "third"),
    )
    outcome = consume(model(emu, chain), method)
    assert REPLY == outcome.text
    primary, secondary, third = outcome.attempts
    assert ("timeout", "continued") == (secondary["error_kind"], secondary["recovered"])
    assert "first_token" in secondary["error"]
    assert "continued" == third["recovered"]
    assert len(REPLY) == primary["contributed_chars"] + third["contributed_chars"]


@pytest.mark.parametrize("method", METHODS)
def test_stall_limit_applies_while_buffering(emu, method):
    """``buffer`` still enforces the stall limit on held-back attempts."""
    stall = {"stall_after": 2}
    emu.set_scenario(scenario(stall))
    outcome = consume(model(emu, make_chain("buffer", fault=stall)), method)
    assert REPLY == outcome.text
    primary, secondary = outcome.attempts
    assert ("timeout", 0) == (primary["error_kind"], primary["contributed_chars"])
    assert "stall" in primary["error"]
    assert "buffered" == secondary["recovered"]


def _weather(city: str) -> str:
    """Weather for a city."""
    return city


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("mode", ["raise", "continue", "buffer"])
def test_tool_call_streams_are_never_continued(emu, mode, method):
    """A broken tool-call stream raises (``raise``/``continue``) or restarts (``buffer``)."""
    tools = {"scripted": {"tool_calls": [{"name": "_weather", "arguments": {"city": "Paris"}}]}}
    emu.set_scenario({**scenario({"cut_after": 1}), "models": {"*": tools}})
    llm = model(emu, make_chain(mode)).bind_tools([_weather], tool_choice="_weather")
    outcome = consume(llm, method)
    if mode == "buffer":
        assert outcome.error is None
        merged = outcome.chunks[0]
        for chunk in outcome.chunks[1:]:
            merged += chunk
        assert [{"city": "Paris"}] == [call["args"] for call in merged.tool_calls]
        assert "buffered" == outcome.attempts[-1]["recovered"]
        return
    assert isinstance(outcome.error, StreamInterruptedError)
    assert 1 == len(emu.log), "no continuation request for a tool-call stream"


@pytest.mark.parametrize("method", METHODS)
def test_per_call_override_is_never_sent_upstream(emu, method):
    """``stream_recovery=`` per call overrides the chain and stays out of the request body."""
    emu.set_scenario(scenario({"cut_after": 3}))
    llm = model(emu, make_chain("raise"))
    outcome = consume(llm, method, stream_recovery="buffer")
    assert REPLY == outcome.text
    assert all("stream_recovery" not in entry.body for entry in emu.log)
    emu.set_scenario(scenario({"cut_after": 3}))  # fault counters restart
    assert isinstance(consume(llm, method).error, StreamInterruptedError)


def test_per_call_override_is_validated(emu):
    """An unknown ``stream_recovery`` value is rejected before anything is sent."""
    llm = model(emu, make_chain("raise"))
    with pytest.raises(ValueError, match="stream_recovery must be one of"):
        list(llm.stream("hi", stream_recovery="retry"))
    assert not emu.log


@pytest.mark.parametrize("method", METHODS)
def test_trimmed_whitespace_is_not_repeated(emu, method):
    """A prefill loses its trailing whitespace; the continuation's copy of it is dropped."""
    reply = "alpha  beta   gamma"  # pieces end in spaces, so the break leaves whitespace shown
    emu.set_scenario(scenario({"cut_after": 2}, reply=reply, chunks=5))
    outcome = consume(model(emu, make_chain("continue")), method)
    assert reply == outcome.text
    prefill = emu.log[-1].body["messages"][-1]["content"]
    assert prefill == prefill.rstrip()


@pytest.mark.parametrize(
    ("model_id", "prefill", "expected"),
    [
        ("anthropic/claude-3.5-sonnet", None, True),
        ("anthropic/claude-haiku-4.5", None, True),
        ("anthropic/claude-sonnet-4", None, True),
        ("anthropic/claude-3.7-sonnet:thinking", None, False),
        ("anthropic/claude-opus-4.6", None, False),
        ("openai/gpt-4o-mini", None, False),
        ("google/gemini-2.5-flash", None, False),
        ("openai/gpt-4o-mini", True, True),
        ("anthropic/claude-haiku-4.5", False, False),
    ],
)
def test_accepts_prefill(model_id, prefill, expected):
    """Vendor defaults, the Claude 4.6 and extended-thinking cut-offs, and link overrides."""
    assert expected == accepts_prefill(Link(model=model_id, prefill=prefill))


def test_continuation_body():
    """The prefill is the last message; trailing whitespace is held back, empty is a restart."""
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    assert ("Hello", " \n") == split_prefill("Hello \n")
    assert body == continuation_body(body, "")
    assert {"role": "assistant", "content": "Hel"} == continuation_body(body, "Hel")["messages"][-1]
    assert 1 == len(body["messages"])


def test_chain_document_accepts_continue():
    """``stream_recovery: continue`` and ``prefill`` validate in a chain document."""
    chain = FallbackChain.model_validate(
        {"stream_recovery": "continue", "models": [{"model": PRIMARY, "prefill": True}]}
    )
    assert "continue" == chain.stream_recovery
    assert chain.models[0].prefill is True


@pytest.mark.parametrize("method", METHODS)
def test_buffer_trades_first_token_latency_for_a_clean_answer(emu, method):
    """``buffer`` shows nothing until an attempt completes; ``continue`` shows tokens at once.

    Told by order, not by the clock (the latency itself is measured by ``benchmarks.streams``):
    the primary is cut after 5 of 10 chunks, and the consumer looks at the emulator's log
    when the first text reaches it.
    """
    requests_at_first_text: dict[str, int] = {}
    for mode in ("buffer", "continue"):
        emu.set_scenario(scenario({"cut_after": 5}, chunks=10))
        emu.clear_log()
        outcome = consume(model(emu, make_chain(mode)), method, on_text=lambda: len(emu.log))
        assert REPLY == outcome.text
        requests_at_first_text[mode] = outcome.at_first_text
        assert 2 == len(emu.log)
    # buffer: the primary's 5 chunks were held back, and text came only from the secondary;
    # continue: the primary's first tokens were shown while it was still streaming.
    assert {"buffer": 2, "continue": 1} == requests_at_first_text
