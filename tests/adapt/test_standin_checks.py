"""Issue 13's checks through the independent stand-in (tests/standin), not our emulator.

The stand-in answers only what each test scripts, so every reply here is SCRIPTED; what is
checked is what our client sends (recorded by the server) and how it reads the answers.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import BaseModel

from langchain_openrouter_fallback import ChatOpenRouterFallback
from tests.conftest import KEY
from tests.standin import Reply, StandIn, completion, error

MINI, HAIKU, OPUS = "openai/gpt-4o-mini", "anthropic/claude-haiku-4.5", "anthropic/claude-opus-4"
PARIS = {"city": "Paris", "temperature_c": 21.5}


class Weather(BaseModel):
    """Weather in a city."""

    city: str
    temperature_c: float


@pytest.fixture
def server() -> Iterator[StandIn]:
    with StandIn() as standin:
        yield standin


def chat(server: StandIn, links: list[Any], **chain: Any) -> ChatOpenRouterFallback:
    doc = {"name": "standin", "models": links, "retry": {"max_retries": 0}, **chain}
    return ChatOpenRouterFallback(chain=doc, api_key=KEY, base_url=server.base_url)


def bodies(server: StandIn, model: str) -> list[dict[str, Any]]:
    return [seen.body for seen in server.requests if seen.model == model]


def test_json_schema_falls_back_to_a_tools_only_link_and_parses_the_same(server):
    """Haiku is asked through a forced tool (no response_format); both links parse alike."""
    server.script(MINI, completion(json.dumps(PARIS), model=MINI), error(503))
    server.script(HAIKU, completion(None, model=HAIKU, tool_calls=[
        {"name": "Weather", "arguments": PARIS},
    ]))  # fmt: skip
    structured = chat(server, [MINI, HAIKU]).with_structured_output(
        Weather, method="json_schema", include_raw=True
    )
    up, down = structured.invoke("Paris?"), structured.invoke("Paris?")
    assert (Weather(**PARIS), None) == (up["parsed"], up["parsing_error"])
    assert (up["parsed"], None) == (down["parsed"], down["parsing_error"])
    assert up.keys() == down.keys()
    assert HAIKU == down["raw"].response_metadata["fallback"]["served_by"]
    (haiku,) = bodies(server, HAIKU)
    assert "response_format" not in haiku
    assert ["Weather"] == [tool["function"]["name"] for tool in haiku["tools"]]
    assert "Weather" == haiku["tool_choice"]["function"]["name"]
    assert all(b["response_format"]["type"] == "json_schema" for b in bodies(server, MINI))


def test_max_tokens_reaches_gpt_4o_mini_clamped_with_the_clamp_recorded(server):
    """max_tokens=100000 arrives as at most 16384; the attempt records (sent, requested)."""
    message = chat(server, [MINI]).invoke("hello", max_tokens=100_000)
    (body,) = bodies(server, MINI)
    assert body["max_tokens"] <= 16_384
    (attempt,) = message.response_metadata["fallback"]["attempts"]
    assert (16_384, 100_000) == tuple(attempt["adapted"]["max_tokens"])


def test_max_cost_skips_opus_without_sending_it_and_says_why(server):
    """$0.05 with max_tokens=4000: Opus 4's worst case is $0.30, so only mini is sent."""
    message = chat(server, [OPUS, MINI], max_cost=0.05).invoke("hello", max_tokens=4000)
    assert [MINI] == server.models_seen()
    opus = message.response_metadata["fallback"]["attempts"][0]
    assert ("skipped", OPUS) == (opus["outcome"], opus["model"])
    assert opus["error"].startswith("worst case $0.30")
    assert "exceeds the $0.05 left of max_cost $0.05" in opus["error"]


def _failed_but_billed(model: str, cost: float) -> Reply:
    """A 200 whose only choice ended in error, with the usage OpenRouter billed for it."""
    body = {
        "id": f"gen-{int(time.time())}-billed",
        "object": "chat.completion",
        "model": model,
        "provider": "Stand-In Cloud",
        "choices": [{
            "index": 0, "finish_reason": "error", "native_finish_reason": "error",
            "message": {"role": "assistant", "content": ""},
            "error": {"code": 502, "message": "upstream died mid-answer"},
        }],
        "usage": {"prompt_tokens": 10, "completion_tokens": 900, "total_tokens": 910, "cost": cost},
    }  # fmt: skip
    return Reply(events=((0.0, json.dumps(body).encode()),))


def test_costs_of_failed_attempts_are_spent_before_the_next_worst_case(server):
    """$0.04 billed by a failed attempt leaves $0.01: Haiku ($0.02 worst case) is skipped."""
    server.script(MINI, _failed_but_billed(MINI, 0.04))
    links = [MINI, HAIKU, {"model": MINI, "label": "mini-again"}]
    message = chat(server, links, max_cost=0.05).invoke("hello", max_tokens=4000)
    failed, haiku, served = message.response_metadata["fallback"]["attempts"]
    assert ("error", 0.04) == (failed["outcome"], failed["cost"])
    assert "skipped" == haiku["outcome"]
    assert "exceeds the $0.01 left of max_cost $0.05" in haiku["error"]
    assert [MINI, MINI] == server.models_seen()
    total = message.response_metadata["fallback"]["cost"]
    assert total == pytest.approx(0.04 + served["cost"])


def test_profile_of_a_mini_and_haiku_chain(server):
    """profile["max_input_tokens"] is the smaller window: gpt-4o-mini's 128,000."""
    profile = chat(server, [MINI, HAIKU]).profile
    assert profile is not None
    assert 128_000 == profile["max_input_tokens"]
