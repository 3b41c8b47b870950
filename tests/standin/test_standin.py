"""The stand-in really varies what real servers vary: framing, padding, resets, pacing."""

from __future__ import annotations

import json
import socket

import httpx
import pytest

from tests.standin import (
    FRAMINGS,
    KEEPALIVE,
    PADDING,
    StandIn,
    completion,
    error,
    reset,
    stream,
)

AUTH = {"Authorization": "Bearer standin-test-key"}


def _raw_post(base_url: str, body: dict) -> bytes:
    """Send one request over a plain socket and read until the server closes or 2 s pass."""
    host_port = base_url.split("//")[1].split("/", maxsplit=1)[0]
    host, port = host_port.split(":")
    payload = json.dumps(body).encode()
    request = (
        f"POST /api/v1/chat/completions HTTP/1.1\r\nHost: {host_port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n"
        "Connection: close\r\n\r\n"
    ).encode() + payload
    data = b""
    with socket.create_connection((host, int(port)), timeout=2) as sock:
        sock.sendall(request)
        try:
            while chunk := sock.recv(65536):
                data += chunk
        except TimeoutError:
            pass
    return data


@pytest.mark.parametrize("framing", FRAMINGS)
def test_framing_is_on_the_wire(framing):
    """Each framing shows in the response head exactly as a real server would send it."""
    with StandIn() as server:
        server.script("m/x", completion("hi", framing=framing, padding=2))
        head = _raw_post(server.base_url, {"model": "m/x"}).split(b"\r\n\r\n")[0].lower()
    assert (b"transfer-encoding: chunked" in head) == (framing == "chunked")
    assert (b"content-length" in head) == (framing == "length")
    assert (b"connection: close" in head) == (framing == "close")


@pytest.mark.parametrize("framing", FRAMINGS)
def test_padded_completion_parses_after_whitespace(framing):
    """A padded JSON body reads as whitespace then the completion, in every framing."""
    with StandIn() as server, httpx.Client(headers=AUTH) as client:
        server.script("m/x", completion("hi", model="m/x", padding=3, framing=framing))
        resp = client.post(f"{server.base_url}/chat/completions", json={"model": "m/x"})
    assert resp.text.startswith(PADDING.decode() * 3)
    assert "hi" == json.loads(resp.text)["choices"][0]["message"]["content"]


@pytest.mark.parametrize("framing", FRAMINGS)
def test_stream_events_in_order(framing):
    """A stream sends keep-alives, reasoning deltas, content, the finish and usage, then [DONE]."""
    reply = stream(["a", "b"], reasoning=["think"], keepalives=2, framing=framing)
    with StandIn() as server, httpx.Client(headers=AUTH) as client:
        server.script("m/x", reply)
        text = client.post(f"{server.base_url}/chat/completions", json={"model": "m/x"}).text
    assert text.startswith(KEEPALIVE.decode() * 2)
    events = [json.loads(line[6:]) for line in text.splitlines() if line.startswith("data: {")]
    assert "think" == events[0]["choices"][0]["delta"]["reasoning"]
    assert ["a", "b"] == [e["choices"][0]["delta"]["content"] for e in events[1:3]]
    assert "stop" == events[-1]["choices"][0]["finish_reason"]
    assert "usage" in events[-1]
    assert text.rstrip().endswith("data: [DONE]")


def test_cut_stream_is_an_error_for_chunked_and_length_and_a_clean_end_for_close():
    """A cut body is a protocol error where framing says more was due, a plain EOF otherwise."""
    outcomes = {}
    with StandIn() as server, httpx.Client(headers=AUTH) as client:
        for framing in FRAMINGS:
            server.script("m/x", stream(["a", "b", "c"], cut_after=1, framing=framing))
            try:
                text = client.post(
                    f"{server.base_url}/chat/completions", json={"model": "m/x"}
                ).text
                outcomes[framing] = 'finish_reason": "stop' in text
            except httpx.RemoteProtocolError:
                outcomes[framing] = "protocol error"
    assert {"chunked": "protocol error", "length": "protocol error", "close": False} == outcomes


def test_reset_before_any_byte():
    """``reset()`` aborts the connection before the response head."""
    with StandIn() as server, httpx.Client(headers=AUTH) as client:
        server.script("m/x", reset())
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            client.post(f"{server.base_url}/chat/completions", json={"model": "m/x"})


def test_scripts_are_used_once_then_default_answers():
    """Scripted replies are consumed in order; the default answers afterwards; keys are not kept."""
    with StandIn() as server, httpx.Client(headers=AUTH) as client:
        server.script("m/x", error(503, retry_after=2))
        first = client.post(f"{server.base_url}/chat/completions", json={"model": "m/x"})
        second = client.post(f"{server.base_url}/chat/completions", json={"model": "m/x"})
    assert (503, "2") == (first.status_code, first.headers["retry-after"])
    assert 503 == first.json()["error"]["code"]
    assert 200 == second.status_code
    assert ["m/x", "m/x"] == server.models_seen()
    assert all(seen.had_key for seen in server.requests)
    assert "standin-test-key" not in repr(server.requests)
