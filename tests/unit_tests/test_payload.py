"""Server-side payloads: grouping, order, precedence, message conversion."""

from __future__ import annotations

from hypothesis import given, strategies as st
from langchain_core.messages import (
    AIMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
    convert_to_openai_messages,
)

from langchain_openrouter_fallback import FallbackChain
from langchain_openrouter_fallback._definition.payload import (
    MAX_MODELS_PER_REQUEST,
    to_openai_messages,
)
from tests.conftest import EXAMPLE_CHAINS

MODELS = ["openai/gpt-4o", "anthropic/claude-haiku-4.5", "google/gemini-2.5-flash", "x-ai/grok-4"]
PROVIDERS = [None, {"order": ["anthropic"]}, {"sort": "price"}]
PARAMS = [{}, {"max_tokens": 10}]

link_strategy = st.fixed_dictionaries(
    {"model": st.sampled_from(MODELS)},
    optional={"provider": st.sampled_from(PROVIDERS[1:]), "params": st.sampled_from(PARAMS)},
)


@st.composite
def chains(draw: st.DrawFn) -> FallbackChain:
    links = draw(st.lists(link_strategy, min_size=1, max_size=9))
    for index, link in enumerate(links):
        link["label"] = f"l{index}"
    return FallbackChain.model_validate({"name": "p", "models": links})


@given(chain=chains())
def test_payload_groups_respect_openrouter_rules(chain):
    """1-3 models per body, chain order kept, every link once, no mixed routing, model == models[0]."""
    bodies = chain.openrouter_payloads([("user", "hi")])
    flat = [model for body in bodies for model in body["models"]]
    assert [link.model for link in chain.models] == flat
    position = 0
    for body in bodies:
        assert 1 <= len(body["models"]) <= MAX_MODELS_PER_REQUEST
        assert body["models"][0] == body["model"]
        group = chain.models[position : position + len(body["models"])]
        position += len(body["models"])
        assert len({repr(link.provider) for link in group}) == 1
        assert len({repr(sorted(link.params.items())) for link in group}) == 1
        expected_provider = group[0].provider.to_payload() if group[0].provider else None
        assert expected_provider == body.get("provider")
        assert "route" not in body


def test_three_model_server_chain_is_one_request():
    """The example server-side chain becomes exactly one body with all three models."""
    chain = FallbackChain.from_file(EXAMPLE_CHAINS / "server-side.yaml")
    (body,) = chain.openrouter_payloads([{"role": "user", "content": "hi"}])
    assert ["anthropic/claude-haiku-4.5", "openai/gpt-4o-mini", "google/gemini-2.5-flash"] == (
        body["models"]
    )
    assert body["models"][0] == body["model"]


def test_long_chains_split_into_several_requests():
    """Four links without differing routing become a body of 3 then a body of 1."""
    chain = FallbackChain.model_validate({"models": MODELS})
    assert [3, 1] == [len(b["models"]) for b in chain.openrouter_payloads([("user", "x")])]


def test_legacy_route_only_when_asked():
    """``route: fallback`` appears only with ``legacy_route``."""
    chain = FallbackChain.model_validate({"models": MODELS[:2], "legacy_route": True})
    assert "fallback" == chain.openrouter_payloads([("user", "x")])[0]["route"]


def test_parameter_precedence_call_over_link_over_chain():
    """Call arguments beat link params, which beat chain params."""
    chain = FallbackChain.model_validate(
        {
            "params": {"temperature": 0.1, "max_tokens": 100, "top_p": 0.5},
            "models": [
                {"model": "openai/gpt-4o", "params": {"temperature": 0.7, "max_tokens": 50}}
            ],
        }
    )
    (body,) = chain.openrouter_payloads([("user", "x")], max_tokens=5)
    assert (0.7, 5, 0.5) == (body["temperature"], body["max_tokens"], body["top_p"])


def test_langchain_messages_become_openai_dicts():
    """System, human, AI tool calls and tool results convert to OpenAI chat messages."""
    messages = [
        SystemMessage("be brief"),
        HumanMessage("add 1 and 2"),
        AIMessage("", tool_calls=[{"name": "add", "args": {"a": 1, "b": 2}, "id": "c1"}]),
        ToolMessage("3", tool_call_id="c1"),
    ]
    converted = to_openai_messages(messages)
    assert ["system", "user", "assistant", "tool"] == [m["role"] for m in converted]
    call = converted[2]["tool_calls"][0]
    assert ("c1", "add", '{"a": 1, "b": 2}') == (
        call["id"],
        call["function"]["name"],
        call["function"]["arguments"],
    )
    assert "c1" == converted[3]["tool_call_id"]


def test_openai_dicts_pass_through_unchanged():
    """OpenAI-style dicts are copied, not rewritten."""
    messages = [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]
    assert messages == to_openai_messages(messages)


def test_plain_prompts_convert_exactly_as_langchain_converts_them():
    """The shortcut for plain user/system text gives what LangChain's converter gives."""
    prompts = [
        [HumanMessage("hi")],
        [SystemMessage("be brief"), HumanMessage("hi", id="m1")],
        [HumanMessage("named", name="ada")],
        [HumanMessage([{"type": "text", "text": "parts"}])],
        [HumanMessage("with kwargs", additional_kwargs={"x": 1})],
        [SystemMessage("s"), HumanMessage("q"), AIMessage("a"), HumanMessage("q2")],
        [HumanMessage("")],
    ]
    for messages in prompts:
        assert convert_to_openai_messages(messages) == to_openai_messages(messages), messages
