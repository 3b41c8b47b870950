"""OpenRouter request/response semantics of the emulator over real HTTP."""

from __future__ import annotations

import json
import re

import httpx
import pytest
from emulator_helpers import AUTH, chat, read_stream, sse_events

from langchain_openrouter_fallback.emulator import Emulator, create_app


def test_missing_key_gets_real_401_body(emu: Emulator) -> None:
    """Without a Bearer key the body is OpenRouter's exact 401."""
    r = httpx.post(f"{emu.base_url}/chat/completions", json=chat())
    assert 401 == r.status_code
    assert {"error": {"message": "Missing Authentication header", "code": 401}} == r.json()


def test_missing_messages_is_400(client: httpx.Client) -> None:
    """A request without messages is rejected with 400."""
    r = client.post("/chat/completions", json={"model": "openai/gpt-4o-mini"})
    assert 400 == r.status_code
    assert 400 == r.json()["error"]["code"]


def test_more_than_three_models_is_400(client: httpx.Client) -> None:
    """Four ``models`` get OpenRouter's exact message and no fallback."""
    body = chat(models=["openai/gpt-4o", "openai/gpt-4o-mini", "x-ai/grok-4", "openai/gpt-4.1"])
    r = client.post("/chat/completions", json=body)
    assert 400 == r.status_code
    assert "'models' array must have 3 items or fewer." == r.json()["error"]["message"]


def test_unknown_provider_key_is_400(client: httpx.Client) -> None:
    """Unknown keys in ``provider`` are rejected."""
    r = client.post("/chat/completions", json=chat(provider={"fastest": True}))
    assert 400 == r.status_code
    assert "'fastest'" in r.json()["error"]["message"]


def test_unknown_model_is_400(client: httpx.Client) -> None:
    """A model neither in the catalog nor scripted is not a valid model ID."""
    r = client.post("/chat/completions", json=chat("nope/not-a-model"))
    assert 400 == r.status_code
    assert "nope/not-a-model is not a valid model ID" == r.json()["error"]["message"]


def test_scripted_model_outside_catalog_is_valid(emu: Emulator, client: httpx.Client) -> None:
    """Models named in the scenario exist even when the catalog lacks them."""
    emu.set_scenario({"models": {"acme/secret": {"scripted": {"reply": "Hi from acme"}}}})
    r = client.post("/chat/completions", json=chat("acme/secret"))
    assert 200 == r.status_code
    assert "Hi from acme" == r.json()["choices"][0]["message"]["content"]
    assert "Together" == r.json()["provider"]


def test_response_identity_fields(client: httpx.Client) -> None:
    """id/header, served model slug, provider name, usage and cost are present."""
    r = client.post("/chat/completions", json=chat("anthropic/claude-haiku-4.5"))
    body = r.json()
    assert re.fullmatch(r"gen-\d+-[A-Za-z0-9]{20}", body["id"])
    assert body["id"] == r.headers["x-generation-id"]
    assert "anthropic/claude-4.5-haiku-20251001" == body["model"]
    assert "Amazon Bedrock" == body["provider"]
    assert "end_turn" == body["choices"][0]["native_finish_reason"]
    usage = body["usage"]
    assert usage["prompt_tokens"] + usage["completion_tokens"] == usage["total_tokens"]
    assert (
        pytest.approx(usage["prompt_tokens"] * 1e-6 + usage["completion_tokens"] * 5e-6)
        == usage["cost"]
    )
    assert "anthropic/claude-4.5-haiku-20251001" in body["choices"][0]["message"]["content"]


def test_same_seed_gives_same_ids(emu: Emulator, client: httpx.Client) -> None:
    """Generation ids are deterministic for a seed (after a reset)."""
    emu.set_scenario({"seed": 7})
    first = client.post("/chat/completions", json=chat()).json()["id"].split("-")[-1]
    emu.reset()
    again = client.post("/chat/completions", json=chat()).json()["id"].split("-")[-1]
    assert first == again


def test_padding_precedes_json(emu: Emulator, client: httpx.Client) -> None:
    """``padding`` adds the whitespace OpenRouter sends before JSON bodies."""
    emu.set_scenario({"padding": 2})
    r = client.post("/chat/completions", json=chat())
    assert r.text.startswith("\n         \n\n         \n{")
    assert "chat.completion" == json.loads(r.text)["object"]


def test_models_fallback_when_provider_filter_excludes_primary(client: httpx.Client) -> None:
    """provider.only that no provider of the primary satisfies moves to the next model."""
    body = chat(
        "google/gemini-2.0-flash-exp:free", models=["x-ai/grok-4"], provider={"only": ["xai"]}
    )
    r = client.post("/chat/completions", json=body)
    assert 200 == r.status_code
    assert ("x-ai/grok-4-07-09", "xAI") == (r.json()["model"], r.json()["provider"])


def test_provider_order_ignore_and_allow_fallbacks(emu: Emulator, client: httpx.Client) -> None:
    """order picks the first listed provider; ignore drops; allow_fallbacks=false limits."""

    def served(prefs: dict) -> tuple[int, str | None]:
        r = client.post("/chat/completions", json=chat("deepseek/deepseek-v3.2", provider=prefs))
        return r.status_code, r.json().get("provider")

    assert (200, "Chutes") == served({"order": ["chutes", "DeepSeek"]})
    assert (200, "DeepSeek") == served({"ignore": ["DeepInfra"]})
    assert (200, "DeepInfra") == served({"sort": "latency"})
    emu.set_scenario(
        {"faults": [{"model": "deepseek/deepseek-v3.2", "provider": "Chutes", "error": 502}]}
    )
    assert (200, "DeepSeek") == served({"order": ["Chutes", "DeepSeek"]})
    assert (502, None) == served({"order": ["Chutes"], "allow_fallbacks": False})


def test_max_price_filters_everything_to_404(client: httpx.Client) -> None:
    """A max_price below the model's price leaves no endpoint: 404."""
    r = client.post(
        "/chat/completions", json=chat("x-ai/grok-4", provider={"max_price": {"prompt": 1}})
    )
    assert 404 == r.status_code
    assert r.json()["error"]["message"].startswith("No endpoints found")


def test_provider_then_model_fallback_is_logged(emu: Emulator, client: httpx.Client) -> None:
    """A 503 on every provider of the primary falls back to the next model."""
    emu.set_scenario({"faults": [{"model": "openai/gpt-4o", "error": 503}]})
    r = client.post("/chat/completions", json=chat("openai/gpt-4o", models=["openai/gpt-4o-mini"]))
    assert ("openai/gpt-4o-mini", "OpenAI") == (r.json()["model"], r.json()["provider"])
    attempts = emu.log[-1].attempts
    assert [("OpenAI", 503), ("Azure", 503), ("OpenAI", 200)] == [
        (a["provider"], a["status"]) for a in attempts
    ]


def test_all_failing_returns_last_error(emu: Emulator, client: httpx.Client) -> None:
    """When every candidate fails the last error is returned."""
    emu.set_scenario(
        {
            "faults": [
                {"model": "openai/gpt-4o", "error": 503},
                {"model": "openai/gpt-4o-mini", "error": 529},
            ]
        }
    )
    r = client.post("/chat/completions", json=chat("openai/gpt-4o", models=["openai/gpt-4o-mini"]))
    assert 529 == r.status_code


def test_context_length_is_enforced_from_catalog(emu: Emulator, client: httpx.Client) -> None:
    """A prompt over the (overridden) context window gets the real 400 message."""
    emu.set_scenario({"models": {"anthropic/claude-haiku-4.5": {"context_length": 10}}})
    body = {
        "model": "anthropic/claude-haiku-4.5",
        "messages": [{"role": "user", "content": "x" * 400}],
    }
    r = client.post("/chat/completions", json=body)
    assert 400 == r.status_code
    message = r.json()["error"]["message"]
    assert message.startswith(
        "This endpoint's maximum context length is 10 tokens. However, you requested about 100 tokens (100 of text input)."
    )
    assert 2 == len(r.json()["error"]["metadata"]["previous_errors"])


WEATHER = {
    "type": "function",
    "function": {
        "name": "weather",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                "days": {"type": "integer", "minimum": 3},
                "extra": {"type": "boolean"},
            },
            "required": ["city", "unit", "days"],
        },
    },
}


def test_tool_choice_required_generates_schema_valid_arguments(client: httpx.Client) -> None:
    """tool_choice=required calls the tool with generated, schema-valid arguments."""
    r = client.post("/chat/completions", json=chat(tools=[WEATHER], tool_choice="required"))
    choice = r.json()["choices"][0]
    assert "tool_calls" == choice["finish_reason"]
    call = choice["message"]["tool_calls"][0]
    assert "weather" == call["function"]["name"]
    assert {"city": "example", "unit": "celsius", "days": 3} == json.loads(
        call["function"]["arguments"]
    )


def test_tool_choice_auto_answers_text_unless_scripted(emu: Emulator, client: httpx.Client) -> None:
    """Without a requirement or script, tools offered still give text; scripted calls win."""
    r = client.post("/chat/completions", json=chat(tools=[WEATHER]))
    assert "stop" == r.json()["choices"][0]["finish_reason"]
    emu.set_scenario(
        {
            "models": {
                "*": {
                    "scripted": {
                        "tool_calls": [{"name": "weather", "arguments": {"city": "Paris"}}]
                    }
                }
            }
        }
    )
    r = client.post("/chat/completions", json=chat(tools=[WEATHER]))
    assert (
        '{"city":"Paris"}'
        == r.json()["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"]
    )


def test_last_tool_message_gets_text(emu: Emulator, client: httpx.Client) -> None:
    """After a tool result the reply is text, never another tool call."""
    emu.set_scenario({"models": {"*": {"scripted": {"tool_calls": [{"name": "weather"}]}}}})
    messages = [
        {"role": "user", "content": "hi"},
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {"id": "a", "type": "function", "function": {"name": "weather", "arguments": "{}"}}
            ],
        },
        {"role": "tool", "tool_call_id": "a", "content": "sunny"},
    ]
    body = {
        "model": "openai/gpt-4o-mini",
        "messages": messages,
        "tools": [WEATHER],
        "tool_choice": "required",
    }
    r = client.post("/chat/completions", json=body)
    assert "stop" == r.json()["choices"][0]["finish_reason"]


def test_json_schema_response_is_valid(client: httpx.Client) -> None:
    """response_format json_schema yields a document matching the schema."""
    schema = {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "age": {"type": "integer"},
            "tags": {"type": "array", "items": {"$ref": "#/$defs/tag"}, "minItems": 1},
            "when": {"type": "string", "format": "date"},
        },
        "required": ["name", "age", "tags", "when"],
        "$defs": {"tag": {"anyOf": [{"type": "string", "enum": ["a", "b"]}, {"type": "null"}]}},
    }
    fmt = {"type": "json_schema", "json_schema": {"name": "p", "schema": schema}}
    r = client.post("/chat/completions", json=chat(response_format=fmt))
    content = json.loads(r.json()["choices"][0]["message"]["content"])
    assert {"name": "example", "age": 1, "tags": ["a"], "when": "2024-01-01"} == content
    r = client.post("/chat/completions", json=chat(response_format={"type": "json_object"}))
    assert {} == json.loads(r.json()["choices"][0]["message"]["content"])


def test_stream_shape(emu: Emulator, client: httpx.Client) -> None:
    """Keep-alives, content chunks with model+provider, finish, usage, then [DONE]."""
    emu.set_scenario({"stream": {"keepalives_before": 3, "chunks": 3, "keepalive_every": 2}})
    r, text = read_stream(client, chat())
    assert r.headers["content-type"].startswith("text/event-stream")
    events = sse_events(text)
    assert ["keepalive"] * 3 == events[:3]
    assert "done" == events[-1]
    chunks = [e for e in events if isinstance(e, dict)]
    assert all({"model", "provider"} <= set(c) for c in chunks)
    assert 3 == sum(1 for c in chunks if c["choices"][0]["delta"].get("content"))
    assert "stop" == chunks[-2]["choices"][0]["finish_reason"]
    assert "usage" in chunks[-1]
    assert "keepalive" in events[4:-1]


def test_streamed_tool_call_arguments_reassemble(client: httpx.Client) -> None:
    """Streamed tool-call argument pieces join into the full JSON arguments."""
    _, text = read_stream(
        client,
        chat(tools=[WEATHER], tool_choice={"type": "function", "function": {"name": "weather"}}),
    )
    chunks = [e for e in sse_events(text) if isinstance(e, dict)]
    calls = [c["choices"][0]["delta"].get("tool_calls") for c in chunks]
    args = "".join(tc[0]["function"]["arguments"] for tc in calls if tc)
    assert {"city": "example", "unit": "celsius", "days": 3} == json.loads(args)
    assert "tool_calls" == chunks[-1]["choices"][0]["finish_reason"]


def test_models_endpoint_serves_catalog(client: httpx.Client) -> None:
    """GET /models returns the catalog's data list."""
    data = client.get("/models").json()["data"]
    assert 300 < len(data)
    assert "anthropic/claude-haiku-4.5" in {m["id"] for m in data}


def test_log_records_request_with_redacted_key(emu: Emulator, client: httpx.Client) -> None:
    """The log keeps body, headers (key redacted), time and what was served."""
    client.post("/chat/completions", json=chat())
    entry = emu.log[-1]
    assert "Bearer ***" == entry.headers["authorization"]
    assert "sk-or-v1" not in json.dumps(entry.as_dict())
    assert (200, "openai/gpt-4o-mini", "OpenAI", None) == (
        entry.status,
        entry.model,
        entry.provider,
        entry.fault,
    )
    assert chat() == entry.body
    assert entry.time > 0


def test_control_endpoints(emu: Emulator) -> None:
    """POST /_emulator/scenario (YAML), GET /_emulator/log and POST /_emulator/reset."""
    with httpx.Client(base_url=emu.url, timeout=5) as raw:
        bad = raw.post("/_emulator/scenario", content="faults: [{error: 999}]")
        assert 400 == bad.status_code
        assert "faults.0.error" in bad.json()["error"]["message"]
        ok = raw.post("/_emulator/scenario", content="faults:\n  - error: 502\n")
        assert 200 == ok.status_code
        r = raw.post("/api/v1/chat/completions", json=chat(), headers=AUTH)
        assert 502 == r.status_code
        assert 502 == raw.get("/_emulator/log").json()[-1]["status"]
        assert 200 == raw.post("/_emulator/reset").status_code
        assert [] == raw.get("/_emulator/log").json()
        assert [{"error": {"status": 502}}] == raw.get("/_emulator/scenario").json()["faults"]


async def test_in_process_asgi_app() -> None:
    """create_app works with httpx.ASGITransport, no socket needed."""
    app = create_app(scenario={"models": {"*": {"scripted": {"reply": "in process"}}}})
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://emu/api/v1", headers=AUTH
    ) as c:
        r = await c.post("/chat/completions", json=chat())
    assert "in process" == r.json()["choices"][0]["message"]["content"]
    assert 1 == len(app.state.log)


async def test_async_context_manager() -> None:
    """``async with Emulator()`` starts and stops without blocking the loop."""
    async with Emulator() as emu, httpx.AsyncClient(base_url=emu.base_url, headers=AUTH) as c:
        r = await c.post("/chat/completions", json=chat())
    assert 200 == r.status_code
