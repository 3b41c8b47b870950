"""The emulator varies what real servers vary: body framing, padding, reasoning deltas."""

from __future__ import annotations

import json
import socket

import pytest

from langchain_openrouter_fallback.emulator import Emulator

FRAMINGS = ("chunked", "content-length", "close")


def raw_post(emu: Emulator, body: dict) -> tuple[bytes, bytes]:
    """One request over a plain socket; the head and the raw body until the server closes."""
    payload = json.dumps(body).encode()
    request = (
        f"POST /api/v1/chat/completions HTTP/1.1\r\nHost: {emu.host}\r\n"
        "Authorization: Bearer emulator-test-key\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n"
    ).encode() + payload
    data = b""
    with socket.create_connection((emu.host, emu.port or 0), timeout=5) as sock:
        sock.sendall(request)
        while chunk := sock.recv(65536):
            data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return head.lower(), rest


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("framing", FRAMINGS)
def test_framing_is_on_the_wire(emu, framing, stream):
    """Each framing shows in the response head as a real server sends it, streams or not."""
    emu.set_scenario({"framing": framing})
    head, rest = raw_post(
        emu,
        {
            "model": "openai/gpt-4o-mini",
            "messages": [{"role": "user", "content": "hi"}],
            "stream": stream,
        },
    )
    assert (b"transfer-encoding: chunked" in head) == (framing == "chunked")
    assert (b"content-length" in head) == (framing == "content-length")
    if framing == "close":  # no length, no chunks: the body ends with the connection
        assert b"connection: close" in head
        assert rest.endswith(b"data: [DONE]\n\n" if stream else b"}")


def test_whitespace_keepalives_precede_a_slow_json_body(emu):
    """A slow non-stream answer is padded with whitespace blocks, then the body follows."""
    emu.set_scenario(
        {
            "framing": "close",
            "stream": {"keepalive_interval": 0.05},
            "faults": [{"slow_first_token": 0.2}],
        }
    )
    _, rest = raw_post(
        emu, {"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
    )
    padding, _, body = rest.partition(b"{")
    assert padding.count(b"\n         \n") == 4
    assert json.loads(b"{" + body)["choices"][0]["message"]["content"]


def test_reasoning_deltas_have_the_recorded_shape(emu):
    """Reasoning deltas: ``content: ""`` beside ``reasoning`` and ``reasoning_details``."""
    emu.set_scenario(
        {
            "framing": "close",
            "models": {"*": {"scripted": {"reply": "Hi.", "reasoning": "Think first."}}},
        }
    )
    _, rest = raw_post(
        emu,
        {
            "model": "anthropic/claude-haiku-4.5",
            "messages": [{"role": "user", "content": "hi"}],
            "stream": True,
        },
    )
    events = [json.loads(line[6:]) for line in rest.split(b"\n") if line.startswith(b"data: {")]
    delta = events[0]["choices"][0]["delta"]
    assert delta == {
        "content": "",
        "role": "assistant",
        "reasoning": "Think",
        "reasoning_details": [
            {"type": "reasoning.text", "text": "Think", "format": "anthropic-claude-v1", "index": 0}
        ],
    }
    assert events[-1]["usage"]["completion_tokens_details"]["reasoning_tokens"] > 0


def test_json_error_body_answers_a_stream_request(emu):
    """``error_200: json``: a stream request gets ``application/json`` with the error."""
    emu.set_scenario({"faults": [{"error_200": "json"}]})
    head, rest = raw_post(
        emu,
        {
            "model": "openai/gpt-4o-mini",
            "messages": [{"role": "user", "content": "hi"}],
            "stream": True,
        },
    )
    assert b"content-type: application/json" in head
    assert json.loads(rest)["error"]["code"] == 502
