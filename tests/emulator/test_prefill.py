"""Assistant prefill: the emulator continues a prefix of its reply, or rejects it when scripted."""

from __future__ import annotations

import json

import httpx
import pytest
from emulator_helpers import chat, read_stream, sse_events

from langchain_openrouter_fallback.emulator import Emulator

REPLY = "One two three four five six."
PREFILLED = [
    {"role": "user", "content": "count"},
    {"role": "assistant", "content": "One two three"},
]


def streamed_text(text: str) -> str:
    events = sse_events(text)
    return "".join(
        e["choices"][0]["delta"].get("content") or ""
        for e in events
        if isinstance(e, dict) and e.get("choices")
    )


@pytest.fixture
def scripted(emu: Emulator) -> Emulator:
    emu.set_scenario({"models": {"*": {"scripted": {"reply": REPLY}}}})
    return emu


def test_prefix_prefill_gets_only_the_rest(scripted: Emulator, client: httpx.Client) -> None:
    """A prefill that starts the scripted reply is continued: only the remainder comes back."""
    r = client.post("/chat/completions", json=chat(messages=PREFILLED))
    assert 200 == r.status_code
    assert " four five six." == r.json()["choices"][0]["message"]["content"]


def test_prefix_prefill_streams_only_the_rest(scripted: Emulator, client: httpx.Client) -> None:
    """Streaming: the chunks concatenate to the remainder, then finish, usage and [DONE]."""
    r, text = read_stream(client, chat(messages=PREFILLED))
    assert 200 == r.status_code
    assert " four five six." == streamed_text(text)
    assert "done" == sse_events(text)[-1]


def test_default_reply_is_continued(emu: Emulator, client: httpx.Client) -> None:
    """The default sentence is continued too, when the prefill is its prefix."""
    full = client.post("/chat/completions", json=chat()).json()["choices"][0]["message"]["content"]
    messages = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": full[:20]}]
    r = client.post("/chat/completions", json=chat(messages=messages))
    assert full[20:] == r.json()["choices"][0]["message"]["content"]


def test_other_prefill_is_ignored(scripted: Emulator, client: httpx.Client) -> None:
    """A prefill that is not a prefix of the reply gets the whole reply (a new answer)."""
    messages = [{"role": "user", "content": "count"}, {"role": "assistant", "content": "Zero"}]
    r = client.post("/chat/completions", json=chat(messages=messages))
    assert REPLY == r.json()["choices"][0]["message"]["content"]


def test_prefill_false_rejects_with_openrouter_400(emu: Emulator, client: httpx.Client) -> None:
    """``prefill: false`` answers a trailing assistant message with a provider-error 400."""
    emu.set_scenario({"models": {"anthropic/claude-opus-4.5": {"prefill": False}}})
    body = chat("anthropic/claude-opus-4.5", messages=PREFILLED)
    r = client.post("/chat/completions", json=body)
    assert 400 == r.status_code
    error = r.json()["error"]
    assert 400 == error["code"]
    assert "Provider returned error" == error["message"]
    raw = json.loads(error["metadata"]["raw"])
    assert "invalid_request_error" == raw["error"]["type"]
    assert "does not support assistant message prefill" in raw["error"]["message"]
    assert error["metadata"]["provider_name"]
    r, _ = read_stream(client, body)
    assert 400 == r.status_code
    ok = client.post("/chat/completions", json=chat("anthropic/claude-opus-4.5"))
    assert 200 == ok.status_code, "a conversation ending with a user message is fine"


def test_prefill_rejection_falls_back_server_side(emu: Emulator, client: httpx.Client) -> None:
    """With ``models``, a rejecting model fails over to the next like a provider error."""
    emu.set_scenario(
        {
            "models": {
                "anthropic/claude-opus-4.5": {"prefill": False},
                "*": {"scripted": {"reply": REPLY}},
            }
        }
    )
    models = ["anthropic/claude-opus-4.5", "anthropic/claude-haiku-4.5"]
    body = chat(models[0], models=models, messages=PREFILLED)
    r = client.post("/chat/completions", json=body)
    assert 200 == r.status_code
    assert " four five six." == r.json()["choices"][0]["message"]["content"]
    assert [400, 200] == [a["status"] for a in emu.log[-1].attempts]
