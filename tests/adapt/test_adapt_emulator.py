"""Per-link adaptation end to end: the chat model against the emulator over real HTTP.

The primary (gpt-4o-mini) fails with a scripted 503, so Claude Haiku 4.5 serves; the bundled
snapshot lists tools but no ``structured_outputs`` for Haiku (a real recording shows OpenRouter
serving json_schema for it later; the catalog in effect is what the chain trusts).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from langchain.agents import create_agent
from langchain.agents.structured_output import ProviderStrategy, ToolStrategy
from pydantic import BaseModel

from langchain_openrouter_fallback import ChatOpenRouterFallback
from tests.conftest import KEY

MINI, HAIKU = "openai/gpt-4o-mini", "anthropic/claude-haiku-4.5"
PRIMARY_DOWN = {"faults": [{"model": MINI, "error": 503}]}


class Weather(BaseModel):
    """Weather in a city."""

    city: str
    temperature_c: float


def chat(emu, links: list[Any] | None = None, **kwargs: Any) -> ChatOpenRouterFallback:
    chain = {"name": "adapt", "models": links or [MINI, HAIKU], "retry": {"max_retries": 0}}
    return ChatOpenRouterFallback(chain=chain, api_key=KEY, base_url=emu.base_url, **kwargs)


def sent(emu, model: str) -> list[dict[str, Any]]:
    return [e.body for e in emu.log if e.path.endswith("/completions") and e.body["model"] == model]


def reference(emu, method: str = "json_schema") -> Weather:
    """What the primary answers when it is up: the object every fallback must reproduce."""
    emu.set_scenario(None)
    parsed = chat(emu).with_structured_output(Weather, method=method).invoke("Paris?")
    emu.set_scenario(PRIMARY_DOWN)
    emu.clear_log()
    assert isinstance(parsed, Weather)
    return parsed


def test_json_schema_falls_back_to_a_tools_only_link_with_the_same_object(emu):
    """Haiku is sent the schema as a forced tool (no response_format) and parses the same."""
    expected = reference(emu)
    structured = chat(emu).with_structured_output(Weather, method="json_schema", include_raw=True)
    out = structured.invoke("Paris?")
    assert (expected, None) == (out["parsed"], out["parsing_error"])
    (body,) = sent(emu, HAIKU)
    assert "response_format" not in body
    assert ["Weather"] == [t["function"]["name"] for t in body["tools"]]
    assert {"type": "function", "function": {"name": "Weather"}} == body["tool_choice"]
    fallback = out["raw"].response_metadata["fallback"]
    assert HAIKU == fallback["served_by"]
    assert "json_schema" == fallback["attempts"][-1]["adapted"]["response_format"][1]
    assert ([], '{"city"') == (out["raw"].tool_calls, out["raw"].content[:7])


@pytest.mark.parametrize("how", ["stream", "astream", "ainvoke"])
def test_every_call_style_gets_the_same_object_from_the_tool_link(emu, how):
    """Streams turn the tool's argument deltas into JSON text; async behaves the same."""
    expected = reference(emu)
    structured = chat(emu).with_structured_output(Weather, method="json_schema")

    async def collect() -> list[Any]:
        return [chunk async for chunk in structured.astream("Paris?")]

    if how == "stream":
        parsed = list(structured.stream("Paris?"))[-1]
    elif how == "astream":
        parsed = asyncio.run(collect())[-1]
    else:
        parsed = asyncio.run(structured.ainvoke("Paris?"))
    assert expected == parsed
    assert "response_format" not in sent(emu, HAIKU)[0]


def test_json_mode_with_schema_instructions_is_the_last_resort(emu):
    """A link with JSON mode but neither structured outputs nor tools gets json_object.

    The emulator never reads prompt text, so the JSON document it returns is SCRIPTED.
    """
    expected = reference(emu)
    links = [MINI, "nousresearch/hermes-4-405b"]
    emu.set_scenario({**PRIMARY_DOWN, "models": {links[1]: {
        "scripted": {"json_object": expected.model_dump()},
    }}})  # fmt: skip
    out = chat(emu, links).with_structured_output(Weather, method="json_schema").invoke("x")
    assert expected == out
    (body,) = sent(emu, links[1])
    assert {"type": "json_object"} == body["response_format"]
    assert '"temperature_c"' in body["messages"][0]["content"]


@pytest.mark.parametrize(
    "response_format",
    [Weather, ProviderStrategy(Weather), ToolStrategy(Weather)],
    ids=["auto", "provider", "tool"],
)
def test_create_agent_response_format_survives_the_fallback(emu, response_format):
    """LangChain's agent gets the same structured_response whichever link served."""
    emu.set_scenario(None)
    up = create_agent(chat(emu), tools=[], response_format=response_format)
    expected = up.invoke({"messages": [("user", "Paris?")]})["structured_response"]
    emu.set_scenario(PRIMARY_DOWN)
    emu.clear_log()
    agent = create_agent(chat(emu), tools=[], response_format=response_format)
    result = agent.invoke({"messages": [("user", "Paris?")]})
    assert expected == result["structured_response"]
    assert isinstance(expected, Weather)
    assert all("response_format" not in body for body in sent(emu, HAIKU))
    native = not isinstance(response_format, ToolStrategy)  # auto picks native for gpt-4o
    assert native == ("response_format" in sent(emu, MINI)[0])
    answer = next(m for m in reversed(result["messages"]) if m.type == "ai")
    assert HAIKU == answer.response_metadata["fallback"]["served_by"]


def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


@pytest.mark.parametrize("choice", ["add", "any"])
def test_forced_tool_choice_on_a_link_without_tool_choice(emu, choice):
    """nova-lite takes tools but not tool_choice: the field is dropped and asked for in words.

    The tool call nova-lite makes is SCRIPTED (the emulator only calls tools unprompted when
    a script says so).
    """
    nova = "amazon/nova-lite-v1"
    emu.set_scenario({**PRIMARY_DOWN, "models": {nova: {
        "scripted": {"tool_calls": [{"name": "add", "arguments": {"a": 1, "b": 2}}]},
    }}})  # fmt: skip
    message = chat(emu, [MINI, nova]).bind_tools([add], tool_choice=choice).invoke("1+2")
    assert [("add", {"a": 1, "b": 2})] == [(c["name"], c["args"]) for c in message.tool_calls]
    (body,) = sent(emu, nova)
    assert "tool_choice" not in body
    assert "You must answer by calling" in body["messages"][0]["content"]
    (primary_body,) = sent(emu, MINI)
    assert "tool_choice" in primary_body
    adapted = message.response_metadata["fallback"]["attempts"][-1]["adapted"]
    assert adapted["tool_choice"][0] is None


def test_max_tokens_reaches_each_link_clamped_and_recorded(emu, caplog):
    """max_tokens=100000 arrives at gpt-4o-mini as 16384 and at Haiku as 64000, logged."""
    caplog.set_level(logging.INFO, logger="langchain_openrouter_fallback")
    emu.set_scenario(PRIMARY_DOWN)
    message = chat(emu, max_tokens=100_000).invoke("hello")
    assert [16_384] == [b["max_tokens"] for b in sent(emu, MINI)]
    assert [64_000] == [b["max_tokens"] for b in sent(emu, HAIKU)]
    attempts = message.response_metadata["fallback"]["attempts"]
    assert [(16_384, 100_000), (64_000, 100_000)] == [a["adapted"]["max_tokens"] for a in attempts]
    assert "request adapted for openai/gpt-4o-mini: max_tokens 100000 -> 16384" in caplog.text


def test_unsupported_fields_never_reach_the_link(emu):
    """seed goes to gpt-4o-mini, not to Haiku (no seed per the catalog)."""
    emu.set_scenario(PRIMARY_DOWN)
    message = chat(emu).invoke("hello", seed=3)
    assert ([3], [None]) == (
        [b.get("seed") for b in sent(emu, MINI)],
        [b.get("seed") for b in sent(emu, HAIKU)],
    )
    assert {"seed": [None, 3]} == {
        k: list(v)
        for k, v in message.response_metadata["fallback"]["attempts"][-1]["adapted"].items()
    }
