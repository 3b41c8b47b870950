"""Real OpenRouter recordings, converted to cassettes, replayed through ``ChatOpenRouterFallback``.

Cassettes live in ``cassettes/recordings/`` (origin: the public test suite named in each
file's ``origin``). Our client must send the recorded request bodies (normalised JSON
match, see ``vcr_setup``); the assertions pin what it makes of the real responses.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage

from langchain_openrouter_fallback import (
    ChatOpenRouterFallback,
    FallbacksExhaustedError,
    UnrecoverableError,
)
from tests.cassettes.vcr_setup import CASSETTES, LIVE_URL
from tests.conftest import RECORDINGS

pytestmark = [pytest.mark.block_network, pytest.mark.vcr]

SNAPSHOT = (
    Path(__file__).resolve().parents[2]
    / "langchain_openrouter_fallback"
    / "data"
    / "models-snapshot.json"
)
HAIKU = "anthropic/claude-haiku-4.5"
HAIKU_SERVED = "anthropic/claude-4.5-haiku-20251001"
NON_STREAMING = {"stream": False}
"""The recorded clients sent ``"stream": false`` explicitly; ours omits it unless asked."""


@pytest.fixture(scope="module")
def vcr_cassette_dir() -> str:
    return str(CASSETTES / "recordings")


def cassette(name: str) -> pytest.MarkDecorator:
    return pytest.mark.default_cassette(f"{name}.yaml")


def llm(models: list[Any], **kwargs: Any) -> ChatOpenRouterFallback:
    chain = {"name": "replay", "models": models, "breaker": {"enabled": False}}
    chain.update(kwargs.pop("chain", {}))
    return ChatOpenRouterFallback(
        chain=chain, base_url=LIVE_URL, api_key="replay-without-a-key", **kwargs
    )


def recorded_tools(name: str) -> list[dict[str, Any]]:
    """The tool definitions the recorded client sent (inputs, not expectations)."""
    data = json.loads((RECORDINGS / f"{name}.json").read_text(encoding="utf-8"))
    return data["interactions"][0]["request"]["body"]["tools"]


BASIC = "ruby-llm__chat_basic_chat_functionality_claude-haiku-4-5_can_have_a_basic_conversation"


@cassette(BASIC)
def test_basic_conversation() -> None:
    """A plain completion: served model slug, provider, usage and cost as OpenRouter sent them."""
    msg = llm([HAIKU], model_kwargs=NON_STREAMING).invoke("What's 2 + 2?")
    assert "2 + 2 = 4" == msg.content
    meta = msg.response_metadata
    assert HAIKU_SERVED == meta["model_name"]
    assert "openrouter" == meta["model_provider"]
    assert "Amazon Bedrock" == meta["provider"]
    assert 8.1e-05 == meta["cost"]
    assert {"input_tokens": 16, "output_tokens": 13, "total_tokens": 29} == {
        k: msg.usage_metadata[k] for k in ("input_tokens", "output_tokens", "total_tokens")
    }
    fallback = meta["fallback"]
    assert ("replay", HAIKU) == (fallback["chain"], fallback["served_by"])
    [attempt] = fallback["attempts"]
    assert ("ok", HAIKU_SERVED, "Amazon Bedrock", 8.1e-05) == (
        attempt["outcome"],
        attempt["served_model"],
        attempt["provider"],
        attempt["cost"],
    )


@cassette(BASIC)
async def test_basic_conversation_async() -> None:
    """The async path sends the same body and reads the same answer."""
    msg = await llm([HAIKU], model_kwargs=NON_STREAMING).ainvoke("What's 2 + 2?")
    assert ("2 + 2 = 4", HAIKU_SERVED) == (msg.content, msg.response_metadata["model_name"])


STREAMING = "ruby-llm__chat_streaming_responses_claude-haiku-4-5_supports_streaming_responses"


@cassette(STREAMING)
def test_streaming_with_keepalives() -> None:
    """SSE with keep-alive comments: text, then the usage chunk carrying who served."""
    chunks = list(llm([HAIKU]).stream("Count from 1 to 3"))
    text = "".join(str(c.content) for c in chunks)
    assert "1\n2\n3" == text
    last = chunks[-1]
    assert (HAIKU_SERVED, "Amazon Bedrock", 6e-05) == (
        last.response_metadata["model_name"],
        last.response_metadata["provider"],
        last.response_metadata["cost"],
    )
    assert (15, 9, 24) == (
        last.usage_metadata["input_tokens"],
        last.usage_metadata["output_tokens"],
        last.usage_metadata["total_tokens"],
    )
    assert HAIKU == last.response_metadata["fallback"]["served_by"]


TOOLS = "ruby-llm__chat_function_calling_claude-haiku-4-5_can_use_tools"


@cassette(TOOLS)
def test_tool_call_round_trip() -> None:
    """A tool call, then the tool result turn, each matching the recorded request."""
    model = llm([HAIKU], model_kwargs=NON_STREAMING).bind_tools(recorded_tools(TOOLS))
    question = HumanMessage("What's the weather in Berlin? (52.5200, 13.4050)")
    first = model.invoke([question])
    assert isinstance(first, AIMessage)
    assert [
        {
            "name": "weather",
            "args": {"latitude": "52.5200", "longitude": "13.4050"},
            "id": "toolu_bdrk_015FK8AREjkBuw3cD8WPHiMd",
            "type": "tool_call",
        }
    ] == first.tool_calls
    assert (0.001008, 708) == (
        first.response_metadata["cost"],
        first.usage_metadata["total_tokens"],
    )
    result = ToolMessage(
        "Current weather at 52.5200, 13.4050: 15°C, Wind: 10 km/h",
        tool_call_id="toolu_bdrk_015FK8AREjkBuw3cD8WPHiMd",
    )
    second = model.invoke([question, first, result])
    assert str(second.content).startswith("The current weather in Berlin is:")
    assert (0.000958, 790) == (
        second.response_metadata["cost"],
        second.usage_metadata["total_tokens"],
    )


PARALLEL = "ruby-llm__chat_function_calling_claude-haiku-4-5_can_use_parallel_tool_calls"


@cassette(PARALLEL)
def test_parallel_tool_calls() -> None:
    """Two tool calls in one answer keep their ids, names and arguments."""
    model = llm([HAIKU], model_kwargs=NON_STREAMING).bind_tools(recorded_tools(PARALLEL))
    question = HumanMessage(
        "What's the weather in Berlin (52.5200, 13.4050) and what's the best language to learn?"
    )
    first = model.invoke([question])
    assert isinstance(first, AIMessage)
    assert [
        (
            "weather",
            {"latitude": "52.5200", "longitude": "13.4050"},
            "toolu_bdrk_01SSbrrA8SZSt5qSMs9tGqpK",
        ),
        ("best_language_to_learn", {}, "toolu_bdrk_01DqZTNns84ZVMWsYPMYv1TE"),
    ] == [(c["name"], c["args"], c["id"]) for c in first.tool_calls]
    results = [
        ToolMessage(
            "Current weather at 52.5200, 13.4050: 15°C, Wind: 10 km/h",
            tool_call_id="toolu_bdrk_01SSbrrA8SZSt5qSMs9tGqpK",
        ),
        ToolMessage("Ruby", tool_call_id="toolu_bdrk_01DqZTNns84ZVMWsYPMYv1TE"),
    ]
    second = model.invoke([question, first, *results])
    assert "Ruby" in str(second.content)
    assert (0.001308, HAIKU_SERVED) == (
        second.response_metadata["cost"],
        second.response_metadata["model_name"],
    )


STREAM_TOOLS = "ruby-llm__chat_function_calling_claude-haiku-4-5_can_use_tools_with_multi-turn_streaming_conversatio"


@cassette(STREAM_TOOLS)
def test_streaming_tool_calls_multi_turn() -> None:
    """Streamed tool-call deltas assemble into calls across four recorded turns."""
    model = llm([HAIKU]).bind_tools(recorded_tools(STREAM_TOOLS))

    def turn(history: list[Any]) -> AIMessage:
        merged = None
        for chunk in model.stream(history):
            merged = chunk if merged is None else merged + chunk
        assert merged is not None
        return AIMessage(
            content=merged.content,
            tool_calls=merged.tool_calls,
            response_metadata=merged.response_metadata,
        )

    weather = "Current weather at {}: 15°C, Wind: 10 km/h"
    history: list[Any] = [HumanMessage("What's the weather in Berlin? (52.5200, 13.4050)")]
    call = turn(history)
    assert [("weather", {"latitude": "52.5200", "longitude": "13.4050"})] == [
        (c["name"], c["args"]) for c in call.tool_calls
    ]
    history += [
        call,
        ToolMessage(weather.format("52.5200, 13.4050"), tool_call_id=call.tool_calls[0]["id"]),
    ]
    answer = turn(history)
    assert str(answer.content).startswith("The current weather in Berlin is:")
    history += [answer, HumanMessage("What's the weather in Paris? (48.8575, 2.3514)")]
    call = turn(history)
    assert [("weather", {"latitude": "48.8575", "longitude": "2.3514"})] == [
        (c["name"], c["args"]) for c in call.tool_calls
    ]
    history += [
        call,
        ToolMessage(weather.format("48.8575, 2.3514"), tool_call_id=call.tool_calls[0]["id"]),
    ]
    answer = turn(history)
    assert str(answer.content).startswith("The current weather in Paris is:")
    assert (0.001314, "Amazon Bedrock") == (
        answer.response_metadata["cost"],
        answer.response_metadata["provider"],
    )


SCHEMA = "ruby-llm__chat_with_schema_with_claude-haiku-4-5_accepts_a_json_schema_and_returns_structured_output"


@pytest.fixture
def haiku_with_structured_outputs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A catalog as a refresh after the recording would give it.

    The bundled snapshot (2026-01-29) lists no ``structured_outputs`` for Claude Haiku 4.5,
    so the chain would skip it for a json_schema request; the recording shows OpenRouter
    serving exactly that request later.
    """
    data = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    for model in data["data"]:
        if model["id"] == HAIKU:
            model["supported_parameters"] += ["response_format", "structured_outputs"]
    path = tmp_path / "models.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    monkeypatch.setenv("OPENROUTER_FALLBACK_CATALOG", str(path))


@cassette(SCHEMA)
@pytest.mark.usefixtures("haiku_with_structured_outputs")
def test_structured_output_json_schema() -> None:
    """``with_structured_output(method="json_schema", strict=True)`` sends the recorded format."""
    schema = {
        "title": "response",
        "type": "object",
        "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
        "required": ["name", "age"],
        "additionalProperties": False,
    }
    model = llm([HAIKU], model_kwargs=NON_STREAMING).with_structured_output(
        schema, method="json_schema", strict=True, include_raw=True
    )
    out = model.invoke("Generate a person named John who is 30 years old")
    assert {"name": "John", "age": 30} == out["parsed"]
    assert (HAIKU_SERVED, 0.000241) == (
        out["raw"].response_metadata["model_name"],
        out["raw"].response_metadata["cost"],
    )


TOOL_CALLING = "pydantic-ai__test_tool_calling"


@cassette(TOOL_CALLING)
def test_tool_calling_mistral() -> None:
    """A non-Anthropic tool call (Mistral): id, arguments, usage without cost."""
    model = llm(["mistralai/mistral-small"], model_kwargs=NON_STREAMING).bind_tools(
        recorded_tools(TOOL_CALLING), tool_choice="auto"
    )
    msg = model.invoke("What is 123 / 456?")
    assert isinstance(msg, AIMessage)
    assert [
        ("divide", {"numerator": 123, "denominator": 456, "on_inf": "infinity"}, "3sniiMddS")
    ] == [(c["name"], c["args"], c["id"]) for c in msg.tool_calls]
    assert ("mistralai/mistral-small", "Mistral", None) == (
        msg.response_metadata["model_name"],
        msg.response_metadata["provider"],
        msg.response_metadata.get("cost"),
    )
    assert 177 == msg.usage_metadata["total_tokens"]


NATIVE = "pydantic-ai__test_with_native_options"


@cassette(NATIVE)
def test_server_side_fallback_served_by_second_model() -> None:
    """Server mode: OpenRouter served the ``models`` fallback; the attempt names that link."""
    model = llm(
        [
            {
                "model": "google/gemini-2.0-flash-exp:free",
                "label": "free",
                "provider": {"only": ["xai"]},
            },
            {"model": "x-ai/grok-4", "label": "grok", "provider": {"only": ["xai"]}},
        ],
        chain={"mode": "server"},
        model_kwargs={**NON_STREAMING, "transforms": ["middle-out"]},
    )
    msg = model.invoke("Who are you")
    meta = msg.response_metadata
    assert ("x-ai/grok-4", "xAI", "grok") == (
        meta["model_name"],
        meta["provider"],
        meta["fallback"]["served_by"],
    )
    assert ("server", ["google/gemini-2.0-flash-exp:free", "x-ai/grok-4"]) == (
        meta["fallback"]["mode"],
        meta["fallback"]["attempts"][0]["models"],
    )
    assert (687, 682, 165) == (
        msg.usage_metadata["input_tokens"],
        msg.usage_metadata["input_token_details"]["cache_read"],
        msg.usage_metadata["output_token_details"]["reasoning"],
    )


PROVIDERS = "rig__provider_selection_scenarios"
RIG_SYSTEM = SystemMessage([{"type": "text", "text": "You are a helpful assistant."}])


@cassette(PROVIDERS)
def test_provider_preferences() -> None:
    """Each link's ``provider`` preferences reach the body; the serving provider is reported."""
    cases = [
        (
            {"order": ["DeepInfra", "DeepSeek", "Chutes"], "allow_fallbacks": True},
            "hello",
            "DeepInfra",
            9.5e-06,
        ),
        ({"ignore": ["Google Vertex"]}, "planet", "Novita", 0.000212159),
        ({"sort": "latency"}, "french hello", "Friendli", 3.5e-05),
        ({"require_parameters": True}, "sky color", "AtlasCloud", 0.00010382),
        ({"max_price": {"prompt": 0.3, "completion": 0.5}}, "country", "AtlasCloud", 8.228e-05),
    ]
    for provider, prompt, served_by, cost in cases:
        model = llm(
            [{"model": "deepseek/deepseek-v3.2", "label": "deepseek", "provider": provider}]
        )
        msg = model.invoke([RIG_SYSTEM, HumanMessage(prompt)])
        meta = msg.response_metadata
        assert ("deepseek/deepseek-v3.2-20251201", served_by, cost) == (
            meta["model_name"],
            meta["provider"],
            meta["cost"],
        )


AUTH = "ruby-llm__chat_error_handling_with_claude-haiku-4-5_raises_appropriate_auth_error"


@cassette(AUTH)
def test_401_is_unrecoverable_auth() -> None:
    """401 raises at once (the key is shared by every link): the second link is never tried."""
    model = llm([HAIKU, "openai/gpt-4o"], model_kwargs=NON_STREAMING)
    with pytest.raises(UnrecoverableError) as info:
        model.invoke("Hello")
    assert ("auth", 401) == (info.value.kind.value, info.value.status_code)
    assert [(HAIKU, "error", "auth", 401)] == [
        (a.label, a.outcome, a.error_kind, a.status_code) for a in info.value.attempts
    ]
    assert "Missing Authentication header" in str(info.value)


CONTEXT = (
    "ruby-llm__chat_real_error_scenarios_claude-haiku-4-5_handles_context_length_exceeded_errors"
)


def massive_history() -> list[Any]:
    """The recorded conversation (the source replaced its filler text by ``<MASSIVE_TEXT>``)."""
    turns: list[Any] = []
    for _ in range(5):
        turns += [HumanMessage("<MASSIVE_TEXT>"), AIMessage("<MASSIVE_TEXT>")]
    return [*turns, HumanMessage("Hi")]


@cassette(CONTEXT)
def test_400_context_length_skips_smaller_links() -> None:
    """400 context length: links whose window is not larger are skipped; then exhausted."""
    model = llm(
        [
            {"model": HAIKU, "label": "haiku"},
            {"model": "meta-llama/llama-3.3-70b-instruct", "label": "llama"},
        ],
        model_kwargs=NON_STREAMING,
    )
    with pytest.raises(FallbacksExhaustedError) as info:
        model.invoke(massive_history())
    attempts = [(a.label, a.outcome, a.error_kind, a.status_code) for a in info.value.attempts]
    assert [("haiku", "error", "context_length", 400), ("llama", "skipped", None, None)] == attempts
    assert "too small (needs > 200000)" in (info.value.attempts[1].error or "")


RATE_LIMIT = "pydantic-ai__test_errors_raised"


@cassette(RATE_LIMIT)
def test_429_is_rate_limit_retried_then_exhausted() -> None:
    """Three real 429s: two retries of the link, then the chain is exhausted with rate_limit."""
    model = llm(
        ["google/gemini-2.0-flash-exp:free"],
        chain={"retry": {"max_retries": 2, "backoff": 0.01, "jitter": 0}},
        model_kwargs=NON_STREAMING,
    )
    messages = [SystemMessage("Be helpful."), HumanMessage("Tell me a joke.")]
    with pytest.raises(FallbacksExhaustedError) as info:
        model.invoke(messages)
    assert [("rate_limit", 429, 0), ("rate_limit", 429, 1), ("rate_limit", 429, 2)] == [
        (a.error_kind, a.status_code, a.retry) for a in info.value.attempts
    ]
    assert "temporarily rate-limited upstream" in (info.value.attempts[0].error or "")
