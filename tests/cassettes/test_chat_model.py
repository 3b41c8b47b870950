"""``ChatOpenRouterFallback`` integration tests, replayed from ``cassettes/chat_model/<origin>/``.

``make record`` records them against live OpenRouter (``OPENROUTER_API_KEY`` set; origin
``openrouter``) or the local emulator (origin ``emulator``). Replays prefer a live recording.
Assertions hold for both origins: who served, the attempt records, usage, tool calls.
"""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import AIMessage, AIMessageChunk
from pydantic import BaseModel

from langchain_openrouter_fallback import ChatOpenRouterFallback

pytestmark = [pytest.mark.block_network, pytest.mark.vcr]

PRIMARY = "openai/gpt-4o-mini"
SECONDARY = "anthropic/claude-haiku-4.5"
INVALID = "openrouter-fallback/no-such-model"
"""Failing the primary on purpose, as OpenRouter's docs suggest: an invalid model id."""
PARAMS = {"max_tokens": 64, "temperature": 0}


def llm(endpoint: tuple[str, str], models: list[Any], **kwargs: Any) -> ChatOpenRouterFallback:
    base_url, api_key = endpoint
    chain = {
        "name": "cassette",
        "models": models,
        "breaker": {"enabled": False},
        "retry": {"max_retries": 0},
    }
    return ChatOpenRouterFallback(
        chain=chain, base_url=base_url, api_key=api_key, **PARAMS, **kwargs
    )


def links() -> list[dict[str, Any]]:
    return [
        {"model": PRIMARY, "label": "primary", "timeout": 30},
        {"model": SECONDARY, "label": "secondary", "timeout": 30},
    ]


def assert_served(message: AIMessage | AIMessageChunk, label: str, model: str) -> None:
    meta = message.response_metadata
    assert label == meta["fallback"]["served_by"]
    assert str(meta["model_name"]).startswith(model.split("/", maxsplit=1)[0])
    assert meta["provider"]
    assert message.usage_metadata is not None
    assert message.usage_metadata["total_tokens"] > 0


def test_invoke_served_by_primary(endpoint: tuple[str, str]) -> None:
    """A healthy primary answers; one ``ok`` attempt is recorded."""
    msg = llm(endpoint, links()).invoke("Say hello in five words.")
    assert_served(msg, "primary", PRIMARY)
    assert [("primary", "ok")] == [
        (a["label"], a["outcome"]) for a in msg.response_metadata["fallback"]["attempts"]
    ]


async def test_ainvoke_served_by_primary(endpoint: tuple[str, str]) -> None:
    """The async twin sends the same body."""
    msg = await llm(endpoint, links()).ainvoke("Say hello in five words.")
    assert_served(msg, "primary", PRIMARY)


def test_invalid_primary_falls_back(endpoint: tuple[str, str]) -> None:
    """An invalid primary model id is an invalid_model error; the secondary serves."""
    models = [{"model": INVALID, "label": "primary"}, {"model": SECONDARY, "label": "secondary"}]
    msg = llm(endpoint, models).invoke("Say hello in five words.")
    assert_served(msg, "secondary", SECONDARY)
    attempts = msg.response_metadata["fallback"]["attempts"]
    assert [("primary", "error", "invalid_model", 400), ("secondary", "ok", None, None)] == [
        (a["label"], a["outcome"], a["error_kind"], a["status_code"]) for a in attempts
    ]


def test_stream(endpoint: tuple[str, str]) -> None:
    """Streaming: text chunks, then a last chunk with usage and who served."""
    chunks = list(llm(endpoint, links()).stream("Count from 1 to 3."))
    assert "".join(str(c.content) for c in chunks)
    assert_served(chunks[-1], "primary", PRIMARY)


async def test_astream_after_invalid_primary(endpoint: tuple[str, str]) -> None:
    """An async stream fails over before the first token, invisibly to the consumer."""
    models = [{"model": INVALID, "label": "primary"}, {"model": SECONDARY, "label": "secondary"}]
    chunks = [c async for c in llm(endpoint, models).astream("Count from 1 to 3.")]
    assert_served(chunks[-1], "secondary", SECONDARY)


def test_tool_call(endpoint: tuple[str, str]) -> None:
    """``bind_tools(..., tool_choice="weather")`` returns a call with schema-valid arguments."""

    def weather(city: str) -> str:
        """Current weather for a city."""
        return f"sunny in {city}"

    model = llm(endpoint, links()).bind_tools([weather], tool_choice="weather")
    msg = model.invoke("What's the weather in Paris?")
    assert isinstance(msg, AIMessage)
    [call] = msg.tool_calls
    assert "weather" == call["name"]
    assert isinstance(call["args"]["city"], str)


class Person(BaseModel):
    """A person."""

    name: str
    age: int


def test_structured_output(endpoint: tuple[str, str]) -> None:
    """``with_structured_output(Person, method="json_schema")`` parses into the model."""
    model = llm(endpoint, links()).with_structured_output(Person, method="json_schema", strict=True)
    person = model.invoke("Generate a person named John who is 30 years old.")
    assert isinstance(person, Person)
