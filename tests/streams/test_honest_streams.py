"""Every mode x mid-stream fault x {stream, astream}: one complete answer or the mode's error.

The consumer's concatenated text is never a duplicated or truncated answer presented as
success. Every model answers the same scripted reply, so a complete answer is exactly REPLY.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from langchain_openrouter_fallback import StreamInterruptedError
from tests.streams.conftest import (
    LIMIT,
    PRIMARY,
    REPLY,
    ROOMY,
    SECONDARY,
    Outcome,
    consume,
    link,
    make_chain,
    model,
    scenario,
)

MODES = ["raise", "buffer", "continue"]
METHODS = ["stream", "astream"]
FAULTS: dict[str, Any] = {
    "cut": lambda k: {"cut_after": k},
    "stall": lambda k: {"stall_after": k},
    "midstream-error": lambda k: {"midstream_error": {"after": k, "code": 502}},
    "malformed": lambda k: {"malformed_chunk": {"after": k}},
}
BREAKS = ["cut", "stall", "midstream-error"]


def assert_honest(outcome: Outcome, mode: str, reply: str) -> None:
    """One complete answer, or StreamInterruptedError carrying exactly what was shown."""
    attempts = outcome.attempts
    assert len(outcome.text) == sum(a["contributed_chars"] for a in attempts)
    if outcome.error is None:
        assert reply == outcome.text
        assert "ok" == attempts[-1]["outcome"]
        return
    assert isinstance(outcome.error, StreamInterruptedError), repr(outcome.error)
    assert mode in {"raise", "continue"}
    assert outcome.text, "a failure before any content is invisible"
    assert outcome.error.partial_text == outcome.text
    assert reply.startswith(outcome.text)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("fault", list(FAULTS))
@pytest.mark.parametrize("mode", MODES)
def test_fault_after_three_chunks(emu, mode, fault, method):
    """A primary failing after 3 of 8 chunks ends as the mode documents."""
    spec = FAULTS[fault](3)
    emu.set_scenario(scenario(spec))
    outcome = consume(model(emu, make_chain(mode, fault=spec)), method)
    assert_honest(outcome, mode, REPLY)
    attempts = outcome.attempts
    if fault == "malformed":
        assert outcome.error is None
        assert ["primary"] == [a["label"] for a in attempts]
        assert any("malformed" in note for note in attempts[0]["notes"])
        return
    primary, *rest = attempts
    assert "error" == primary["outcome"]
    if mode == "raise":
        assert isinstance(outcome.error, StreamInterruptedError)
        assert "interrupted" == primary["error_kind"]
        assert not rest
        return
    assert outcome.error is None
    (secondary,) = rest
    assert "secondary" == secondary["label"]
    assert "ok" == secondary["outcome"]
    if mode == "buffer":
        assert 0 == primary["contributed_chars"]
        assert "buffered" == secondary["recovered"]
        assert len(REPLY) == secondary["contributed_chars"]
    else:
        assert "interrupted" == primary["error_kind"]
        assert "continued" == secondary["recovered"]
        assert 0 < primary["contributed_chars"] < len(REPLY)
        shown = REPLY[: primary["contributed_chars"]]
        prefill = emu.log[-1].body["messages"][-1]
        assert {"role": "assistant", "content": shown.rstrip()} == prefill


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("mode", MODES)
def test_break_before_content_is_invisible(emu, mode, method):
    """A stream cut before its first content chunk fails over unseen in every mode."""
    emu.set_scenario(scenario({"cut_after": 0}))
    outcome = consume(model(emu, make_chain(mode)), method)
    assert outcome.error is None
    assert REPLY == outcome.text
    assert [None, None] == [a["recovered"] for a in outcome.attempts]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("mode", MODES)
def test_hedged_streams_recover_the_same_way(emu, mode, method):
    """With hedging on, a mid-stream cut still ends as the mode documents."""
    emu.set_scenario(scenario({"cut_after": 2}))
    outcome = consume(model(emu, make_chain(mode, hedge=ROOMY)), method)
    assert_honest(outcome, mode, REPLY)
    assert (outcome.error is None) == (mode != "raise")


WORDS = st.text(alphabet="abcdefgh", min_size=0, max_size=5)
REPLIES = st.lists(WORDS, min_size=1, max_size=10).map(" ".join).filter(str.strip)


CASES = st.fixed_dictionaries(
    {
        "mode": st.sampled_from(MODES),
        "fault": st.sampled_from(list(FAULTS)),
        "method": st.sampled_from(METHODS),
        "chunks": st.integers(1, 6),
        "reply": REPLIES,
    }
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(case=CASES, data=st.data())
def test_streams_never_lie(emu, case, data):
    """Property: for any fault position and reply, the consumer sees one answer or an error."""
    mode, reply, chunks = case["mode"], case["reply"], case["chunks"]
    after = data.draw(st.integers(0, chunks + 2), label="after")
    spec = FAULTS[case["fault"]](after)
    emu.set_scenario(scenario(spec, reply=reply, chunks=chunks))
    # Both limits tight on a stall: some replies have no text before the stall; whichever
    # limit fires (even early, on a loaded machine), the answer must stay honest.
    tight = {"first_token_timeout": LIMIT, "stall_timeout": LIMIT} if "stall_after" in spec else {}
    chain = make_chain(mode, link(PRIMARY, "primary", **tight), link(SECONDARY, "secondary"))
    outcome = consume(model(emu, chain), case["method"])
    assert_honest(outcome, mode, reply)
    if mode != "raise":
        assert outcome.error is None, "a second link that answers always recovers"
