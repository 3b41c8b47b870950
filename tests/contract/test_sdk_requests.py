"""Every request body we produce validates against the SDK's ``ChatRequest``, unknown keys refused.

Two sources: ``FallbackChain.openrouter_payloads`` for every example chain, and the bodies
``ChatOpenRouterFallback`` actually sent, taken from the emulator's request log.
"""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from pydantic import BaseModel, ValidationError

from langchain_openrouter_fallback import ChatOpenRouterFallback, FallbackChain
from langchain_openrouter_fallback._definition.loader import load_chains
from tests.conftest import EXAMPLE_CHAINS, KEY
from tests.contract.conftest import validate_request
from tests.contract.test_sdk_responses import SCHEMA, WEATHER

CHAIN_FILES = sorted(p for p in EXAMPLE_CHAINS.iterdir() if p.suffix in {".yaml", ".json", ".toml"})
EXAMPLES: list[tuple[str, FallbackChain]] = [
    (f"{path.name}:{name}", chain)
    for path in CHAIN_FILES
    for name, chain in load_chains(path).items()
]
MESSAGES: list[Any] = [
    SystemMessage("Answer briefly."),
    HumanMessage("Weather in Paris?"),
    AIMessage("", tool_calls=[{"id": "call_1", "name": "weather", "args": {"city": "Paris"}}]),
    ToolMessage('{"celsius": 21}', tool_call_id="call_1"),
]
CALL_PARAMS: dict[str, dict[str, Any]] = {
    "plain": {},
    "tools": {"tools": [WEATHER], "tool_choice": "auto", "parallel_tool_calls": False},
    "structured": {"response_format": SCHEMA},
    "json-mode": {"response_format": {"type": "json_object"}},
    "sampling": {"temperature": 0.3, "top_p": 0.9, "max_tokens": 256, "stop": ["\n\n"], "seed": 7},
    "stream": {"stream": True, "stream_options": {"include_usage": True}},
    "reasoning": {"reasoning": {"effort": "medium"}},
}


class Weather(BaseModel):
    """Weather in a city."""

    city: str
    celsius: float


def test_the_judge_refuses_unknown_keys():
    """The check is strict: a key OpenRouter does not define fails, at any depth."""
    ok = {"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
    validate_request(ok)
    for bad in (
        {**ok, "transforms_typo": []},
        {**ok, "provider": {"order": ["OpenAI"], "allow_fallback": True}},
        {**ok, "messages": [{"role": "user", "content": "hi", "nme": "x"}]},
    ):
        with pytest.raises(ValidationError, match=r"extra_forbidden|Extra inputs"):
            validate_request(bad)


def test_every_example_file_is_covered():
    assert {p.name for p in CHAIN_FILES} == {name.split(":")[0] for name, _ in EXAMPLES}
    assert len(EXAMPLES) > len(CHAIN_FILES)  # capabilities.yaml holds several chains


@pytest.mark.parametrize("params", list(CALL_PARAMS.values()), ids=list(CALL_PARAMS))
@pytest.mark.parametrize(("name", "chain"), EXAMPLES, ids=[n for n, _ in EXAMPLES])
def test_example_chain_payloads_validate(name, chain, params):
    payloads = chain.openrouter_payloads(MESSAGES, **params)
    assert payloads, name
    for body in payloads:
        request = validate_request(body)
        assert body["model"] == request.model


def run_chat_model(llm: ChatOpenRouterFallback) -> None:
    """What a LangChain user does with a chat model: every request shape it can send."""
    llm.invoke("hi")
    assert "".join(str(c.content) for c in llm.stream("hi"))
    llm.bind_tools([Weather], tool_choice="Weather").invoke("Weather in Paris?")
    llm.bind_tools([Weather]).invoke(MESSAGES)
    for method in ("json_schema", "function_calling", "json_mode"):
        # include_raw: the body is what is judged here, not whether the answer parsed.
        llm.with_structured_output(Weather, method=method, include_raw=True).invoke("Paris?")
    llm.invoke("hi", temperature=0.1, max_tokens=64, stop=["\n"])


@pytest.mark.parametrize(("name", "chain"), EXAMPLES, ids=[n for n, _ in EXAMPLES])
def test_chat_model_bodies_validate(emu, name, chain):
    """Bodies taken from the emulator's log after real calls, failover included."""
    emu.set_scenario({
        "models": {"*": {"scripted": {"json_object": {"city": "Paris", "celsius": 21}}}},  # json_mode
        "faults": [{"model": chain.models[0].model, "attempts": [1], "error": 503}],
    })  # fmt: skip
    run_chat_model(ChatOpenRouterFallback(chain=chain, api_key=KEY, base_url=emu.base_url))
    bodies = [e.body for e in emu.log if e.path.endswith("/chat/completions")]
    assert len(bodies) >= 8, name  # the calls of run_chat_model (+1 failover in client mode)
    if chain.mode == "client":
        assert chain.models[1].model in {b["model"] for b in bodies}
    for body in bodies:
        validate_request(body)


def test_reasoning_details_sent_back_validate(emu):
    """An assistant turn that carries ``reasoning_details`` is sent back in the SDK's shape."""
    details = [
        {"type": "reasoning.text", "text": "Think.", "format": "anthropic-claude-v1", "index": 0}
    ]
    history = [
        HumanMessage("Weather in Paris?"),
        AIMessage(
            "",
            tool_calls=[
                {"id": "call_1", "name": "Weather", "args": {"city": "Paris", "celsius": 1}}
            ],
            additional_kwargs={"reasoning_details": details},
        ),
        ToolMessage("ok", tool_call_id="call_1"),
    ]
    llm = ChatOpenRouterFallback(
        models=["anthropic/claude-haiku-4.5"], api_key=KEY, base_url=emu.base_url
    )
    llm.bind_tools([Weather]).invoke(history, reasoning={"effort": "medium"})
    validate_request(emu.log[-1].body)


@pytest.mark.parametrize(
    "provider",
    [
        {
            "order": ["anthropic", "Amazon Bedrock"],
            "allow_fallbacks": False,
            "require_parameters": True,
            "data_collection": "deny",
            "zdr": True,
            "enforce_distillable_text": False,
            "ignore": ["google-vertex"],
            "quantizations": ["fp8", "bf16"],
            "sort": "throughput",
            "preferred_min_throughput": 50,
            "preferred_max_latency": 2.5,
        },
        {
            "only": ["anthropic"],
            "sort": {"by": "price", "partition": "none"},
            "preferred_min_throughput": {"p50": 40, "p90": 20},
            "preferred_max_latency": {"p50": 1, "p75": 2, "p90": 3, "p99": 5},
        },
    ],
    ids=["flat", "nested"],
)
def test_every_provider_preference_validates(provider):
    """Each routing field a chain accepts is one OpenRouter defines, in the same shape."""
    [body] = server_chain(provider).openrouter_payloads(["hi"])
    assert set(provider) == set(body["provider"])
    validate_request(body)


def test_max_price_numbers_follow_the_recorded_wire():
    """``max_price`` is the one place the SDK and the wire disagree: the SDK types the prices
    as strings, a real recorded request (rig, provider selection) sent numbers and got 200.
    A recording decides, so numbers are sent; every other key validates."""
    prices = {"prompt": 3, "completion": 15, "image": 0, "audio": 0, "request": 0}
    [body] = server_chain({"max_price": prices}).openrouter_payloads(["hi"])
    with pytest.raises(ValidationError) as raised:
        validate_request(body)
    wrong = {
        (e["loc"][-1], e["type"])
        for e in raised.value.errors()
        if e["loc"][-2:-1] == ("max_price",)
    }
    assert {(k, "string_type") for k in prices} == wrong
    validate_request({**body, "provider": {"max_price": {k: str(v) for k, v in prices.items()}}})


def server_chain(provider: dict[str, Any]) -> FallbackChain:
    link = {"model": "anthropic/claude-haiku-4.5", "provider": provider}
    return FallbackChain.model_validate({"name": "p", "mode": "server", "models": [link]})
