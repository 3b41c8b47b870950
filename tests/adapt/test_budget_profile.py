"""max_cost (skip what cannot fit, count what was spent) and the catalog-derived model profile."""

from __future__ import annotations

from typing import Any

import pytest

from langchain_openrouter_fallback import ChatOpenRouterFallback, FallbacksExhaustedError
from tests.conftest import KEY

MINI, HAIKU, OPUS = "openai/gpt-4o-mini", "anthropic/claude-haiku-4.5", "anthropic/claude-opus-4"


def chat(emu, links: list[Any], **chain: Any) -> ChatOpenRouterFallback:
    doc = {"name": "budget", "models": links, "retry": {"max_retries": 0}, **chain}
    return ChatOpenRouterFallback(chain=doc, api_key=KEY, base_url=emu.base_url)


def sent(emu) -> list[str]:
    return [e.body["model"] for e in emu.log if e.path.endswith("/completions")]


def test_a_link_whose_worst_case_exceeds_max_cost_is_never_sent(emu):
    """$0.05 with max_tokens=4000: Opus 4 (4000 x $75/M = $0.30) is skipped, mini serves."""
    message = chat(emu, [OPUS, MINI], max_cost=0.05).invoke("hello", max_tokens=4000)
    opus, mini = message.response_metadata["fallback"]["attempts"]
    assert ("skipped", "ok") == (opus["outcome"], mini["outcome"])
    assert opus["error"].startswith("worst case $0.3")
    assert "4000 output tokens x $75/M" in opus["error"]
    assert "exceeds the $0.05 left of max_cost $0.05" in opus["error"]
    assert [MINI] == sent(emu)
    fallback = message.response_metadata["fallback"]
    assert fallback["cost"] == message.response_metadata["cost"] == mini["cost"] > 0


def test_unpriced_links_cannot_be_proven_to_fit(emu):
    """Under max_cost, a model the catalog has no price for is skipped, never sent."""
    with pytest.raises(FallbacksExhaustedError) as caught:
        chat(emu, ["acme/unknown-model"], max_cost=1).invoke("hello")
    (attempt,) = caught.value.attempts
    assert "not in the catalog: its price is unknown" in (attempt.error or "")
    assert [] == sent(emu)


def test_per_call_max_cost_overrides_the_chain(emu):
    """``max_cost=`` on a call is a ceiling for that call only (and never sent upstream)."""
    llm = chat(emu, [OPUS, MINI])
    assert OPUS == llm.invoke("hi", max_tokens=4000).response_metadata["fallback"]["served_by"]
    cheap = llm.invoke("hi", max_tokens=4000, max_cost=0.05)
    assert MINI == cheap.response_metadata["fallback"]["served_by"]
    assert all("max_cost" not in e.body for e in emu.log)
    with pytest.raises(ValueError, match="max_cost must be a non-negative number"):
        llm.invoke("hi", max_cost=-1)


def test_stream_reports_the_total_cost_too(emu):
    """A stream's last chunk carries the request's total cost, failed attempts included."""
    emu.set_scenario({"faults": [{"model": MINI, "error": 503}]})
    chunks = list(chat(emu, [MINI, HAIKU], max_cost=1).stream("hello"))
    meta = chunks[-1].response_metadata
    assert meta["fallback"]["cost"] == meta["cost"] > 0


def test_profile_is_what_every_link_guarantees():
    """gpt-4o-mini + Haiku: the smaller window and output ceiling; shared capabilities."""
    profile = ChatOpenRouterFallback(models=[MINI, HAIKU]).profile
    assert profile is not None
    assert (128_000, 16_384) == (profile["max_input_tokens"], profile["max_output_tokens"])
    assert (True, True, True) == (
        profile["tool_calling"],
        profile["image_inputs"],
        profile["structured_output"],
    )
    assert profile["reasoning_output"] is False  # gpt-4o-mini lists no reasoning
    wide = ChatOpenRouterFallback(models=[HAIKU, OPUS]).profile
    assert wide is not None
    assert (200_000, 32_000, True) == (
        wide["max_input_tokens"],
        wide["max_output_tokens"],
        wide["reasoning_output"],
    )
    unknown = ChatOpenRouterFallback(models=[MINI, "acme/unknown-model"]).profile
    assert unknown is not None
    assert (False, 128_000) == (unknown["tool_calling"], unknown["max_input_tokens"])
