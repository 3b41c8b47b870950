"""Every scripted fault, observed over raw HTTP (httpx or a plain socket)."""

from __future__ import annotations

import json
import socket
import time

import httpx
import pytest
from emulator_helpers import chat, read_stream, sse_events

from langchain_openrouter_fallback.emulator import Emulator, Scenario
from langchain_openrouter_fallback.emulator._faults import FaultPlan

pytestmark = pytest.mark.timeout(20)


def collect_data_lines(emu: Emulator, timeout: float, sink: list[str]) -> None:
    """Stream a request, appending ``data:`` lines to ``sink`` as they arrive."""
    with (
        httpx.Client(
            base_url=emu.base_url, headers={"Authorization": "Bearer k"}, timeout=timeout
        ) as c,
        c.stream("POST", "/chat/completions", json=chat(stream=True)) as r,
    ):
        sink.extend(line for line in r.iter_lines() if line.startswith("data:"))


def drain(sock: socket.socket) -> None:
    """Read until EOF."""
    while sock.recv(4096):
        pass


def fault(emu: Emulator, spec: dict, **scenario: object) -> None:
    """Install a single fault hitting every model."""
    emu.set_scenario({"faults": [spec], **scenario})


@pytest.mark.parametrize(
    "status", [400, 401, 402, 403, 404, 408, 413, 422, 429, 500, 502, 503, 524, 529]
)
def test_error_status(emu: Emulator, client: httpx.Client, status: int) -> None:
    """``error: N`` returns HTTP N with OpenRouter's error body shape."""
    fault(emu, {"error": status})
    r = client.post("/chat/completions", json=chat())
    body = r.json()
    assert status == r.status_code
    assert status == body["error"]["code"]
    assert isinstance(body["error"]["message"], str)
    assert "user_id" in body


def test_429_has_retry_after_and_legacy_metadata(emu: Emulator, client: httpx.Client) -> None:
    """429 carries Retry-After and the legacy ``{provider_name, raw}`` metadata."""
    fault(emu, {"error": {"status": 429, "retry_after": 7}})
    r = client.post("/chat/completions", json=chat())
    assert "7" == r.headers["retry-after"]
    assert {"provider_name", "raw"} == set(r.json()["error"]["metadata"])


def test_current_metadata_style(emu: Emulator, client: httpx.Client) -> None:
    """``metadata_style: current`` gives ``{error_type, provider_code}``."""
    fault(emu, {"error": {"status": 529, "metadata_style": "current"}})
    metadata = client.post("/chat/completions", json=chat()).json()["error"]["metadata"]
    assert {"error_type": "provider_overloaded", "provider_code": 529} == metadata


def test_403_moderation_metadata(emu: Emulator, client: httpx.Client) -> None:
    """403 carries moderation metadata naming the model and provider."""
    fault(emu, {"error": 403})
    metadata = client.post("/chat/completions", json=chat()).json()["error"]["metadata"]
    assert {"reasons", "flagged_input", "provider_name", "model_slug"} == set(metadata)
    assert "Azure" == metadata["provider_name"]  # the last provider tried


def test_context_length_shorthand(emu: Emulator, client: httpx.Client) -> None:
    """``error: context_length`` returns the real context-length 400."""
    fault(emu, {"error": "context_length"})
    r = client.post("/chat/completions", json=chat())
    assert 400 == r.status_code
    assert "This endpoint's maximum context length is" in r.json()["error"]["message"]


def test_401_and_402_do_not_fail_over(emu: Emulator, client: httpx.Client) -> None:
    """Account errors end the request at once: one attempt only."""
    fault(emu, {"error": 402})
    client.post("/chat/completions", json=chat(models=["x-ai/grok-4"]))
    assert 1 == len(emu.log[-1].attempts)


def test_attempts_and_every_filters(emu: Emulator, client: httpx.Client) -> None:
    """``attempts`` hits the n-th request to a model; ``every`` every k-th."""
    fault(emu, {"model": "openai/gpt-4o-mini", "provider": "OpenAI", "attempts": [2], "error": 500})
    providers = [client.post("/chat/completions", json=chat()).json()["provider"] for _ in range(3)]
    assert ["OpenAI", "Azure", "OpenAI"] == providers
    fault(emu, {"every": 2, "error": 500})
    statuses = [client.post("/chat/completions", json=chat()).status_code for _ in range(4)]
    assert [200, 500, 200, 500] == statuses


def test_probability_is_seeded(emu: Emulator, client: httpx.Client) -> None:
    """A seeded ``probability`` fault repeats the same pattern after a reset."""
    fault(emu, {"probability": 0.5, "error": 503}, seed=3, models={"*": {"providers": ["Solo"]}})
    first = [client.post("/chat/completions", json=chat()).status_code for _ in range(12)]
    emu.reset()
    again = [client.post("/chat/completions", json=chat()).status_code for _ in range(12)]
    assert first == again
    assert {200, 503} == set(first)


def test_flap_cycles_with_clock() -> None:
    """``flap`` is down for ``down`` seconds then up for ``up`` seconds, cycling."""
    now = [100.0]
    plan = FaultPlan(
        Scenario.model_validate({"faults": [{"flap": {"down": 2, "up": 3}}]}), clock=lambda: now[0]
    )
    seen = []
    for t in (0, 1.9, 2.0, 4.9, 5.0, 6.9, 7.0):
        now[0] = 100.0 + t
        seen.append(plan.pick("m", "P", 1) is not None)
    assert [True, True, False, False, True, True, False] == seen


def test_flap_over_http(emu: Emulator, client: httpx.Client) -> None:
    """A flapping model is down right after the scenario starts."""
    fault(emu, {"model": "openai/gpt-4o-mini", "flap": {"down": 60, "up": 60}})
    assert 503 == client.post("/chat/completions", json=chat()).status_code
    assert 200 == client.post("/chat/completions", json=chat("openai/gpt-4o")).status_code


def test_latency_before_headers(emu: Emulator, client: httpx.Client) -> None:
    """``latency`` delays the response headers."""
    fault(emu, {"latency": 0.3})
    start = time.monotonic()
    assert 200 == client.post("/chat/completions", json=chat()).status_code
    assert 0.3 <= time.monotonic() - start


def test_hang_never_answers(emu: Emulator) -> None:
    """``hang`` sends nothing until the client gives up; the server stays healthy."""
    fault(emu, {"hang": True})
    with (
        httpx.Client(
            base_url=emu.base_url, headers={"Authorization": "Bearer k"}, timeout=0.3
        ) as c,
        pytest.raises(httpx.ReadTimeout),
    ):
        c.post("/chat/completions", json=chat())
    emu.set_scenario(None)
    with httpx.Client(base_url=emu.base_url, headers={"Authorization": "Bearer k"}) as c:
        assert 200 == c.post("/chat/completions", json=chat()).status_code


def test_slow_first_token_sends_only_keepalives(emu: Emulator, client: httpx.Client) -> None:
    """``slow_first_token: s`` sends keep-alives for s seconds before the first chunk."""
    fault(
        emu, {"slow_first_token": 0.3}, stream={"keepalives_before": 1, "keepalive_interval": 0.1}
    )
    start = time.monotonic()
    _, text = read_stream(client, chat())
    events = sse_events(text)
    first_data = next(i for i, e in enumerate(events) if isinstance(e, dict))
    assert 0.3 <= time.monotonic() - start
    assert 3 <= first_data
    assert {"keepalive"} == set(events[:first_data])
    assert "done" == events[-1]


def test_slow_first_token_forever(emu: Emulator) -> None:
    """``slow_first_token: forever`` only ever sends keep-alives."""
    fault(emu, {"slow_first_token": "forever"}, stream={"keepalive_interval": 0.05})
    lines: list[str] = []
    with (
        httpx.Client(base_url=emu.base_url, headers={"Authorization": "Bearer k"}, timeout=5) as c,
        c.stream("POST", "/chat/completions", json=chat(stream=True)) as r,
    ):
        for line in r.iter_lines():
            lines.extend([line] if line else [])
            if len(lines) >= 6:
                break
    assert {": OPENROUTER PROCESSING"} == set(lines)


def test_stall_after_chunks(emu: Emulator) -> None:
    """``stall_after: k`` sends k data chunks, then nothing but keep-alives."""
    fault(emu, {"stall_after": 2}, stream={"keepalives_before": 0, "keepalive_interval": 30})
    data: list[str] = []
    with pytest.raises(httpx.ReadTimeout):
        collect_data_lines(emu, 0.4, data)
    assert 2 == len(data)


def test_cut_after_chunks(emu: Emulator) -> None:
    """``cut_after: k`` closes the connection mid-body after k chunks."""
    fault(emu, {"cut_after": 2}, stream={"keepalives_before": 0})
    data: list[str] = []
    with pytest.raises(httpx.RemoteProtocolError):
        collect_data_lines(emu, 5, data)
    assert 2 == len(data)


@pytest.mark.parametrize("effect", ["cut_after", "stall_after"])
def test_zero_chunks_is_an_effect_not_the_default_503(emu: Emulator, effect: str) -> None:
    """``cut_after: 0`` / ``stall_after: 0``: a 200 stream with no data chunk (0 is not "unset")."""
    fault(emu, {effect: 0}, stream={"keepalives_before": 1, "keepalive_interval": 30})
    data: list[str] = []
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadTimeout)):
        collect_data_lines(emu, 0.4, data)
    assert [] == data
    assert (200, effect) == (emu.log[-1].status, emu.log[-1].fault)


@pytest.mark.parametrize(("code", "finish_reason"), [(502, None), ("server_error", "error")])
def test_midstream_error_chunk(
    emu: Emulator, client: httpx.Client, code: object, finish_reason: object
) -> None:
    """``midstream_error`` sends an in-band error chunk with HTTP 200 and ends the stream."""
    fault(emu, {"midstream_error": {"after": 1, "code": code, "finish_reason": finish_reason}})
    r, text = read_stream(client, chat())
    events = [e for e in sse_events(text) if e != "keepalive"]
    assert 200 == r.status_code
    assert 2 == len(events)
    assert code == events[-1]["error"]["code"]
    assert finish_reason == events[-1]["choices"][0]["finish_reason"]
    assert {"model", "provider"} <= set(events[-1])


def test_midstream_error_defaults_follow_the_wire(emu: Emulator, client: httpx.Client) -> None:
    """Unscripted, the in-band error is shaped like the recorded one: integer code, null finish."""
    fault(emu, {"midstream_error": {}})
    _, text = read_stream(client, chat())
    last = [e for e in sse_events(text) if e != "keepalive"][-1]
    assert isinstance(last["error"]["code"], int)
    assert last["choices"][0]["finish_reason"] is None


def test_malformed_chunk(emu: Emulator, client: httpx.Client) -> None:
    """``malformed_chunk`` puts one invalid-JSON data line into the stream."""
    fault(emu, {"malformed_chunk": {"after": 2}})
    _, text = read_stream(client, chat())
    events = [e for e in sse_events(text) if e != "keepalive"]
    assert "malformed" == events[2][0]
    assert 1 == sum(1 for e in events if isinstance(e, tuple))
    assert "done" == events[-1]


def test_missing_done(emu: Emulator, client: httpx.Client) -> None:
    """``missing_done`` ends the stream cleanly but without ``[DONE]``."""
    fault(emu, {"missing_done": True})
    _, text = read_stream(client, chat())
    events = sse_events(text)
    assert "done" not in events
    assert "usage" in events[-1]


def test_error_200(emu: Emulator, client: httpx.Client) -> None:
    """``error_200`` answers HTTP 200 with ``{"id": null, "choices": null, "error": ...}``."""
    fault(emu, {"error_200": True})
    r = client.post("/chat/completions", json=chat())
    assert 200 == r.status_code
    assert (None, None) == (r.json()["id"], r.json()["choices"])
    assert 502 == r.json()["error"]["code"]


def test_choices_null(emu: Emulator, client: httpx.Client) -> None:
    """``choices_null`` answers a completion whose ``choices`` is null."""
    fault(emu, {"choices_null": True})
    body = client.post("/chat/completions", json=chat()).json()
    assert body["choices"] is None
    assert "usage" in body


def test_reset_sends_rst(emu: Emulator) -> None:
    """``reset`` aborts the TCP connection with RST (ECONNRESET at the client)."""
    fault(emu, {"reset": True})
    payload = json.dumps(chat()).encode()
    request = (
        b"POST /api/v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k\r\n"
        b"Content-Type: application/json\r\nContent-Length: "
        + str(len(payload)).encode()
        + b"\r\n\r\n"
        + payload
    )
    with socket.create_connection(("127.0.0.1", int(emu.url.rsplit(":", 1)[1])), timeout=5) as sock:
        sock.sendall(request)
        with pytest.raises(ConnectionResetError):
            drain(sock)


def test_reset_via_httpx(emu: Emulator, client: httpx.Client) -> None:
    """An httpx client sees the reset as a transport error."""
    fault(emu, {"reset": True})
    with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
        client.post("/chat/completions", json=chat())


def test_stream_faults_are_not_retried(emu: Emulator, client: httpx.Client) -> None:
    """A mid-stream fault on the first provider is delivered, not failed over."""
    fault(emu, {"provider": "OpenAI", "midstream_error": {"after": 0}})
    _, text = read_stream(client, chat())
    chunk = next(e for e in sse_events(text) if isinstance(e, dict))
    assert "OpenAI" == chunk["provider"]
    assert "error" in chunk
    assert ["midstream_error"] == [a["fault"] for a in emu.log[-1].attempts]


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ({}, ("", None, "stop")),
        ({"refusal": "I can't help with that."}, ("", "I can't help with that.", "stop")),
        ({"finish_reason": "content_filter"}, ("", None, "content_filter")),
        ({"content": "cut", "finish_reason": "length"}, ("cut", None, "length")),
    ],
)
def test_unusable_answer(emu, client, answer, expected):
    """``answer``: a well-formed 200 that is no use, whole and streamed, in the recorded shape.

    ``message.refusal`` beside the content, as every recorded answer has it; the normalised
    ``finish_reason``.
    """
    content, refusal, finish = expected
    fault(emu, {"answer": answer})
    choice = client.post("/chat/completions", json=chat()).json()["choices"][0]
    message = choice["message"]
    assert (content, refusal, finish) == (
        message["content"],
        message["refusal"],
        choice["finish_reason"],
    )
    _, text = read_stream(client, chat())
    chunks = [e for e in sse_events(text) if isinstance(e, dict) and e.get("choices")]
    deltas = [c["choices"][0]["delta"] for c in chunks]
    assert content == "".join(d.get("content") or "" for d in deltas)
    assert refusal == ("".join(d.get("refusal") or "" for d in deltas) or None)
    assert finish == chunks[-1]["choices"][0]["finish_reason"]
    assert "usage" in chunks[-1]  # the unusable answer is still billed
