"""Per-link adaptation decided from the bundled catalog (no I/O): what each link is sent."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import AIMessage, AIMessageChunk, ToolCallChunk

from langchain_openrouter_fallback import FallbackChain
from langchain_openrouter_fallback._decisions.plan import plan
from langchain_openrouter_fallback._definition.catalog import Catalog
from langchain_openrouter_fallback._face.tool_answer import ToolAnswer, answer_from_tool

MINI, HAIKU = "openai/gpt-4o-mini", "anthropic/claude-haiku-4.5"
NO_TOOLS_JSON = "nousresearch/hermes-4-405b"
"""Per the snapshot: ``response_format`` but neither ``structured_outputs`` nor ``tools``."""
NO_TOOL_CHOICE = "amazon/nova-lite-v1"
"""Per the snapshot: ``tools`` without ``tool_choice``."""
SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "temperature_c": {"type": "number"}},
    "required": ["city", "temperature_c"],
}
JSON_SCHEMA = {"type": "json_schema", "json_schema": {"name": "Weather", "schema": SCHEMA}}
USER = [{"role": "user", "content": "Weather in Paris?"}]


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.bundled()


def steps(catalog: Catalog, links: list[Any], params: dict[str, Any], **chain: Any) -> list[Any]:
    doc = FallbackChain.model_validate({"name": "t", "models": links, **chain})
    return plan(doc, list(USER), params, catalog)


def test_json_schema_becomes_a_forced_tool_on_a_tools_only_link(catalog):
    """Haiku (no structured_outputs per the snapshot) gets the schema as a forced tool."""
    mini, haiku = steps(catalog, [MINI, HAIKU], {"response_format": JSON_SCHEMA})
    assert (mini.body["response_format"], mini.adapted, mini.skip) == (JSON_SCHEMA, {}, None)
    assert "response_format" not in haiku.body
    assert ["Weather"] == [t["function"]["name"] for t in haiku.body["tools"]]
    assert SCHEMA == haiku.body["tools"][0]["function"]["parameters"]
    assert {"type": "function", "function": {"name": "Weather"}} == haiku.body["tool_choice"]
    assert (haiku.skip, haiku.schema_tool) == (None, "Weather")
    assert {
        "response_format": (None, "json_schema"),
        "tools": (["Weather"], None),
        "tool_choice": ("Weather", None),
    } == haiku.adapted


def test_json_schema_beside_agent_tools_adds_an_answer_tool_without_forcing(catalog):
    """With the caller's own tools bound, the answer tool joins them; choice stays free."""
    tool = {"type": "function", "function": {"name": "lookup", "parameters": {}}}
    (haiku,) = steps(catalog, [HAIKU], {"response_format": JSON_SCHEMA, "tools": [tool]})
    assert ["lookup", "Weather"] == [t["function"]["name"] for t in haiku.body["tools"]]
    assert "tool_choice" not in haiku.body
    assert (["lookup", "Weather"], ["lookup"]) == haiku.adapted["tools"]
    assert "calling the Weather tool" in haiku.body["messages"][0]["content"]


def test_json_schema_falls_back_to_json_mode_with_the_schema_as_instruction(catalog):
    """No structured outputs and no tools, but JSON mode: json_object plus the schema."""
    (step,) = steps(catalog, [NO_TOOLS_JSON], {"response_format": JSON_SCHEMA})
    assert {"type": "json_object"} == step.body["response_format"]
    assert ("json_object", "json_schema") == step.adapted["response_format"]
    system, user = step.body["messages"]
    assert ("system", USER[0]) == (system["role"], user)
    assert '"temperature_c":{"type":"number"}' in system["content"]


def test_a_link_with_no_way_to_give_json_is_still_skipped(catalog):
    """Without structured outputs, tools or JSON mode, the json_schema request skips the link."""
    (step,) = steps(catalog, ["minimax/minimax-m2-her"], {"response_format": JSON_SCHEMA})
    assert ("lacks json_schema", {}) == (step.skip, step.adapted)


def test_forced_tool_choice_becomes_an_instruction_where_unsupported(catalog):
    """A link without tool_choice gets the tools and the demand in words, not the field."""
    tool = {"type": "function", "function": {"name": "lookup", "parameters": {}}}
    choice = {"type": "function", "function": {"name": "lookup"}}
    nova, mini = steps(catalog, [NO_TOOL_CHOICE, MINI], {"tools": [tool], "tool_choice": choice})
    assert "tool_choice" not in nova.body
    assert (None, choice) == nova.adapted["tool_choice"]
    assert "You must answer by calling the lookup tool." == nova.body["messages"][0]["content"]
    assert (choice, {}) == (mini.body["tool_choice"], mini.adapted)


def test_max_tokens_is_clamped_to_each_links_ceiling(catalog):
    """100000 requested: gpt-4o-mini gets 16384, Haiku 64000; both recorded."""
    mini, haiku = steps(catalog, [MINI, HAIKU], {"max_tokens": 100_000})
    assert (16_384, {"max_tokens": (16_384, 100_000)}) == (mini.body["max_tokens"], mini.adapted)
    assert (64_000, {"max_tokens": (64_000, 100_000)}) == (haiku.body["max_tokens"], haiku.adapted)
    (fits,) = steps(catalog, [MINI], {"max_tokens": 500})
    assert (500, {}) == (fits.body["max_tokens"], fits.adapted)


def test_max_tokens_leaves_room_for_the_prompt_in_the_context(catalog):
    """A link without a completion ceiling is clamped to its context minus the prompt."""
    (step,) = steps(catalog, ["meta-llama/llama-3.3-70b-instruct:free"], {"max_tokens": 10**6})
    sent, requested = step.adapted["max_tokens"]
    assert (requested, sent) == (10**6, step.body["max_tokens"])
    assert 131_072 - 20 < sent < 131_072


def test_unsupported_fields_are_dropped_unless_parameters_are_required(catalog):
    """Haiku takes no seed or logit_bias: dropped; require_parameters keeps them for OpenRouter."""
    params = {"seed": 7, "logit_bias": {"50256": -100}, "temperature": 0.1, "plugins": []}
    mini, haiku = steps(catalog, [MINI, HAIKU], params)
    assert ({}, 7) == (mini.adapted, mini.body["seed"])
    assert {"seed": (None, 7), "logit_bias": (None, {"50256": -100})} == haiku.adapted
    assert {"temperature": 0.1, "plugins": []}.items() <= haiku.body.items()
    assert "seed" not in haiku.body
    strict = {"model": HAIKU, "provider": {"require_parameters": True}}
    (enforced,) = steps(catalog, [strict], params)
    assert ({}, 7) == (enforced.adapted, enforced.body["seed"])


def test_assistant_prefill_is_not_sent_to_a_link_that_rejects_it(catalog):
    """A trailing assistant message is dropped for Claude 4.6+ and links marked prefill: false."""
    doc = FallbackChain.model_validate(
        {"models": ["anthropic/claude-sonnet-4.6", HAIKU, {"model": MINI, "prefill": False}]}
    )
    messages = [*USER, {"role": "assistant", "content": "It is"}]
    new, old, marked = plan(doc, messages, {}, catalog)
    assert (USER, {"prefill": (None, "It is")}) == (new.body["messages"], new.adapted)
    assert (messages, {}) == (old.body["messages"], old.adapted)
    assert USER == marked.body["messages"]


def test_unknown_models_are_sent_what_was_asked(catalog):
    """A model the catalog does not know is never adapted."""
    params = {"max_tokens": 10**6, "seed": 1, "response_format": JSON_SCHEMA}
    (step,) = steps(catalog, ["acme/unknown-model"], params)
    assert ({}, None) == (step.adapted, step.skip)
    assert params.items() <= step.body.items()


def test_server_groups_adapt_to_what_every_model_accepts(catalog):
    """One body serves mini and Haiku: structured output via the tool, the smaller ceiling."""
    (group,) = steps(
        catalog, [MINI, HAIKU], {"response_format": JSON_SCHEMA, "max_tokens": 10**5}, mode="server"
    )
    assert ([MINI, HAIKU], "Weather") == (group.body["models"], group.schema_tool)
    assert (16_384, "response_format") == (group.body["max_tokens"], next(iter(group.adapted)))


def test_tool_call_answer_becomes_json_text():
    """The stand-in tool's call turns into the JSON content the caller's parser expects."""
    message = AIMessage(
        content="",
        tool_calls=[{"name": "Weather", "args": {"city": "Paris"}, "id": "c1"}],
    )
    answer = answer_from_tool(message, "Weather")
    assert ('{"city": "Paris"}', []) == (answer.content, answer.tool_calls)
    other = AIMessage(content="", tool_calls=[{"name": "lookup", "args": {}, "id": "c2"}])
    assert other is answer_from_tool(other, "Weather")


def test_streamed_tool_call_arguments_become_text_chunks():
    """Stream deltas of the stand-in tool become content; other tools' deltas pass through."""
    turn = ToolAnswer("Weather")

    def delta(**part: Any) -> AIMessageChunk:
        return AIMessageChunk(content="", tool_call_chunks=[ToolCallChunk(**part)])

    first = turn.chunk(delta(name="Weather", args='{"ci', id="c1", index=0))
    rest = turn.chunk(delta(name=None, args='ty": "Paris"}', id=None, index=0))
    other = turn.chunk(delta(name="lookup", args="{}", id="c2", index=1))
    assert ('{"ci', 'ty": "Paris"}') == (first.content, rest.content)
    assert ([], "lookup") == (first.tool_call_chunks, other.tool_call_chunks[0]["name"])
