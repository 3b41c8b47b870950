"""Issue 22: every promise holds on every path, against the independent stand-in.

For each fault the primary is scripted with, and each path a request can take (``invoke``,
``ainvoke``, ``stream``, ``astream``, ``batch``; plain, with ``hedge``, with
``stream_recovery: buffer``, with a per-call ``model=``), the request must end the same way:
the same served link, the same attempts (label, model, outcome, error kind) and the same cost
total. The only differences are the ones listed in :data:`BY_DESIGN`, each with its reason.

Limits are small only on the link scripted to go silent (``hang``, keep-alives only); the
hedge waits longer than any scripted fault takes, so it never fires (hedged lanes still carry
every attempt). No assertion reads a clock.
"""

from __future__ import annotations

import asyncio
import json
import math
from dataclasses import dataclass, field
from typing import Any

import pytest
from langchain_core.messages import AIMessage, message_chunk_to_message

from langchain_openrouter_fallback import (
    ChatOpenRouterFallback,
    FallbackChain,
    StreamInterruptedError,
)
from tests.standin import (
    KEEPALIVE,
    PADDING,
    Reply,
    ReplyLike,
    StandIn,
    auto,
    error,
    hang,
    keepalive_only,
    stream,
)

PRIMARY = "openai/gpt-4o-mini"
SECONDARY = "anthropic/claude-haiku-4.5"
PER_CALL = "google/gemini-2.5-flash"
"""The model a per-call ``model=`` asks for in place of the primary's."""
KEY = "standin-test-key-0000"
ANSWER = "one two three four five six seven eight"
"""The default answer: eight words, so a stream's usage matches a completion's (8 tokens)."""
SERVED_COST = 12e-6 + 8 * 4e-6
"""``usage.cost`` of the default answer, streamed or whole (the stand-in's pricing)."""
FAILED_COST = 0.04
THOUGHTS = ["Let me", " think."]

WHOLE = ("invoke", "ainvoke", "batch")
STREAMS = ("stream", "astream")
PATHS = [
    *((method, "plain") for method in (*WHOLE, *STREAMS)),
    *((method, "hedge") for method in (*WHOLE, *STREAMS)),
    *((method, "buffer") for method in STREAMS),
    *((method, "model") for method in (*WHOLE, *STREAMS)),
]
"""``buffer`` is a stream recovery: a whole response has nothing to buffer."""


# -- faults -----------------------------------------------------------------------------------


def _json(body: Any, content_type: str = "application/json") -> Reply:
    return Reply(events=((0.0, json.dumps(body).encode()),), content_type=content_type)


def _cut_body(text: bytes) -> Reply:
    """A 200 JSON body that stops midway (the connection closes before the declared length)."""
    return Reply(events=((0.0, PADDING), (0.0, text)), abort="cut")


def _by_request(streamed: ReplyLike, whole: ReplyLike) -> ReplyLike:
    """``streamed`` for a stream request, else ``whole``."""

    def reply(body: dict[str, Any]) -> Reply:
        chosen = streamed if body.get("stream") else whole
        return chosen(body) if callable(chosen) else chosen

    return reply


_INBAND = {"code": 503, "message": "Provider returned error"}
_COSTLY_ERROR = {
    "id": "gen-standin-costly",
    "model": PRIMARY,
    "provider": "Stand-In Cloud",
    "error": {"code": 503, "message": "upstream died after billing"},
    "choices": [
        {"index": 0, "finish_reason": "error", "message": {"role": "assistant", "content": ""}}
    ],
    "usage": {"prompt_tokens": 12, "completion_tokens": 0, "total_tokens": 12, "cost": 0.04},
}
_COSTLY_CHUNK = {**_COSTLY_ERROR, "choices": [{"index": 0, "delta": {}, "finish_reason": "error"}]}
_PARTIAL_JSON = b'{"id": "gen-standin", "choices": [{"message": {"content": "one tw'


def _costly_stream() -> Reply:
    data = b"data: " + json.dumps(_COSTLY_CHUNK).encode() + b"\n\n"
    return Reply(content_type="text/event-stream", events=((0.0, KEEPALIVE), (0.0, data)))


@dataclass(frozen=True)
class Fault:
    """What the primary answers, and how every path must end."""

    reply: ReplyLike
    attempts: tuple[tuple[str, str, str | None], ...]
    """``(link, outcome, error_kind)``; ``link`` is ``P`` (the primary) or ``S`` (secondary)."""
    served: str | None = "S"
    failed_cost: float = 0.0
    silent: bool = False
    """The primary goes silent: only then are its limits small."""


_MOVES_ON = {
    "malformed": (("P", "error", "malformed"), ("S", "ok", None)),
    "server": (("P", "error", "server"), ("S", "ok", None)),
    "network": (("P", "error", "network"), ("S", "ok", None)),
    "timeout": (("P", "error", "timeout"), ("S", "ok", None)),
}
FAULTS: dict[str, Fault] = {
    "503": Fault(error(503), _MOVES_ON["server"]),
    "500 retried once": Fault(error(500), (("P", "error", "server"), ("P", "ok", None)), "P"),
    "429 with Retry-After": Fault(
        error(429, retry_after=0.05), (("P", "error", "rate_limit"), ("P", "ok", None)), "P"
    ),
    "hang": Fault(hang(), _MOVES_ON["timeout"], silent=True),
    "keep-alives only": Fault(
        _by_request(keepalive_only(5, every=0.05), keepalive_only(5, every=0.05, whitespace=True)),
        _MOVES_ON["timeout"],
        silent=True,
    ),
    "cut before content": Fault(
        _by_request(stream(cut_after=0), _cut_body(b"")), _MOVES_ON["network"]
    ),
    "cut after content": Fault(
        _by_request(stream(cut_after=2), _cut_body(_PARTIAL_JSON)), _MOVES_ON["network"]
    ),
    "in-band error before content": Fault(
        _by_request(stream(inband_error=_INBAND, error_after=0), error(200, code=503)),
        _MOVES_ON["server"],
    ),
    "in-band error after content": Fault(
        _by_request(stream(inband_error=_INBAND, error_after=2), error(200, code=503)),
        _MOVES_ON["server"],
    ),
    "200 HTML": Fault(
        Reply(events=((0.0, b"<html><body>Bad gateway</body></html>"),), content_type="text/html"),
        _MOVES_ON["malformed"],
    ),
    "200 empty": Fault(Reply(events=()), _MOVES_ON["malformed"]),
    "200 choices: null": Fault(
        _json({"id": "gen-standin-null", "model": PRIMARY, "choices": None}),
        _MOVES_ON["malformed"],
    ),
    "200 JSON error answering a stream": Fault(error(200, code=503), _MOVES_ON["server"]),
    "failed attempt reports usage.cost": Fault(
        _by_request(_costly_stream(), _json(_COSTLY_ERROR)),
        _MOVES_ON["server"],
        failed_cost=FAILED_COST,
    ),
    "reasoning then a break": Fault(
        _by_request(stream(reasoning=THOUGHTS, cut_after=0), _cut_body(_PARTIAL_JSON)),
        _MOVES_ON["network"],
    ),
}

BY_DESIGN: dict[tuple[str, str], str] = {
    ("cut after content", "stream"): "a break after content exists only on streams: the "
    "consumer already has text, so stream_recovery: raise reports it instead of hiding it",
    ("in-band error after content", "stream"): "the same: content already reached the consumer",
    ("reasoning then a break", "stream"): "the same: streamed reasoning reached the consumer",
}
"""(fault, path kind) pairs that end differently on purpose, with the reason.

On these a stream with ``stream_recovery: raise`` raises ``StreamInterruptedError`` whose one
attempt is the primary's, ``interrupted``, and whose ``partial_text`` is what was shown.
``buffer`` restores the whole-response behaviour (nothing was shown), so it is not listed.
"""


# -- running one request ----------------------------------------------------------------------


@dataclass
class Outcome:
    """How one request ended, in the terms every path must agree on."""

    served: str | None
    attempts: list[tuple[str, str, str, str | None]]
    cost: float
    reported_cost: float | None
    error: Exception | None = None
    raw: list[dict[str, Any]] = field(default_factory=list)


def _chat(server: StandIn, fault: Fault, variant: str) -> ChatOpenRouterFallback:
    silent = {"timeout": 1.0, "first_token_timeout": 0.3} if fault.silent else {"timeout": 10}
    doc: dict[str, Any] = {
        "name": "matrix",
        "models": [
            {"model": PRIMARY, "label": "primary", **silent},
            {"model": SECONDARY, "label": "secondary", "timeout": 10},
        ],
        "breaker": {"enabled": False},
        "retry": {"backoff": 0.01},
    }
    if variant == "hedge":
        doc["hedge"] = {"after": 60}
    return ChatOpenRouterFallback(
        chain=FallbackChain.model_validate(doc), api_key=KEY, base_url=server.base_url
    )


def _message(total: Any) -> AIMessage:
    message = message_chunk_to_message(total)
    assert isinstance(message, AIMessage)
    return message


def _call(llm: ChatOpenRouterFallback, method: str, kwargs: dict[str, Any]) -> AIMessage:
    if method == "invoke":
        return llm.invoke("Say it", **kwargs)
    if method == "batch":
        (result,) = llm.batch(["Say it"], return_exceptions=True, **kwargs)
        if isinstance(result, Exception):
            raise result
        assert isinstance(result, AIMessage)
        return result
    if method == "stream":
        total = None
        for chunk in llm.stream("Say it", **kwargs):
            total = chunk if total is None else total + chunk
        return _message(total)

    async def drive() -> AIMessage:
        try:
            if method == "ainvoke":
                return await llm.ainvoke("Say it", **kwargs)
            total = None
            async for chunk in llm.astream("Say it", **kwargs):
                total = chunk if total is None else total + chunk
            return _message(total)
        finally:
            await llm._transport.aclose()

    return asyncio.run(drive())


def _outcome(llm: ChatOpenRouterFallback, method: str, variant: str) -> Outcome:
    kwargs: dict[str, Any] = {}
    if variant == "buffer":
        kwargs["stream_recovery"] = "buffer"
    if variant == "model":
        kwargs["model"] = PER_CALL
    try:
        message = _call(llm, method, kwargs)
    except Exception as exc:
        attempts = [a.as_dict() for a in getattr(exc, "attempts", [])]
        return Outcome(None, _rows(attempts), _total(attempts), None, exc, attempts)
    fallback = message.response_metadata["fallback"]
    attempts = fallback["attempts"]
    served = fallback["served_by"]
    return Outcome(served, _rows(attempts), _total(attempts), fallback["cost"], raw=attempts)


def _rows(attempts: list[dict[str, Any]]) -> list[tuple[str, str, str, str | None]]:
    return [(a["label"], a["model"], a["outcome"], a["error_kind"]) for a in attempts]


def _total(attempts: list[dict[str, Any]]) -> float:
    return sum(a["cost"] or 0.0 for a in attempts)


def _links(variant: str) -> dict[str, tuple[str, str]]:
    """Label and model of ``P`` and ``S``: a per-call ``model=`` is its own link."""
    primary = (PER_CALL, PER_CALL) if variant == "model" else ("primary", PRIMARY)
    return {"P": primary, "S": ("secondary", SECONDARY)}


def _expected(name: str, fault: Fault, method: str, variant: str) -> Outcome:
    links = _links(variant)
    kind = "stream" if method in STREAMS and variant != "buffer" else "whole"
    if (name, kind) in BY_DESIGN:
        label, model = links["P"]
        return Outcome(None, [(label, model, "error", "interrupted")], 0.0, None)
    rows = [(*links[link], outcome, error_kind) for link, outcome, error_kind in fault.attempts]
    total = fault.failed_cost + SERVED_COST
    served = links[fault.served][0] if fault.served else None
    return Outcome(served, rows, total, total)


# -- the matrix -------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "variant"), PATHS, ids=[f"{m}-{v}" for m, v in PATHS])
@pytest.mark.parametrize("name", list(FAULTS))
def test_every_path_keeps_the_same_promises(name, method, variant):
    """Same served link, attempts (label, model, outcome, kind) and cost total on every path."""
    fault = FAULTS[name]
    expected = _expected(name, fault, method, variant)
    with StandIn(default=auto(ANSWER)) as server:
        server.script(PER_CALL if variant == "model" else PRIMARY, fault.reply)
        actual = _outcome(_chat(server, fault, variant), method, variant)
    if expected.served is None:
        assert isinstance(actual.error, StreamInterruptedError), actual.error
    else:
        assert actual.error is None, actual.error
    assert (expected.served, expected.attempts) == (actual.served, actual.attempts)
    assert math.isclose(expected.cost, actual.cost, abs_tol=1e-9), actual.raw
    if expected.reported_cost is not None:
        assert actual.reported_cost is not None
        assert math.isclose(expected.reported_cost, actual.reported_cost, abs_tol=1e-9)
    assert _limits(fault, method) == actual.raw[0]["limits"]


def _limits(fault: Fault, method: str) -> dict[str, float]:
    """The limits the primary's attempt records: its own, else the defaults (60/15/10 s)."""
    limits = {"timeout": 1.0 if fault.silent else 10.0}
    if method in STREAMS:
        limits["first_token_timeout"] = 0.3 if fault.silent else 15.0
        limits["stall_timeout"] = 10.0
    return limits


# -- what a broken stream tells the consumer (item 5) -----------------------------------------


def _broken(server: StandIn, method: str) -> StreamInterruptedError:
    outcome = _outcome(_chat(server, FAULTS["503"], "plain"), method, "plain")
    assert isinstance(outcome.error, StreamInterruptedError), outcome.error
    return outcome.error


@pytest.mark.parametrize("method", STREAMS)
def test_partial_text_holds_the_reasoning_the_consumer_saw(method):
    """A break after reasoning: ``partial_text`` is that reasoning, not ``''``."""
    with StandIn(default=auto(ANSWER)) as server:
        server.script(PRIMARY, stream(reasoning=THOUGHTS, cut_after=0))
        error_ = _broken(server, method)
    assert "".join(THOUGHTS) == error_.partial_text
    assert f"broke after {len(''.join(THOUGHTS))} characters" in str(error_)


def _tool_call_then_cut() -> Reply:
    delta = {
        "role": "assistant",
        "content": "",
        "tool_calls": [
            {
                "index": 0,
                "id": "call_0",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city": "Pa'},
            }
        ],
    }
    chunk = {
        "id": "gen-standin-tool",
        "model": PRIMARY,
        "provider": "Stand-In Cloud",
        "choices": [{"index": 0, "delta": delta, "finish_reason": None}],
    }
    data = b"data: " + json.dumps(chunk).encode() + b"\n\n"
    events = ((0.0, KEEPALIVE), (0.0, data))
    return Reply(content_type="text/event-stream", events=events, framing="chunked", abort="cut")


@pytest.mark.parametrize("method", STREAMS)
def test_a_break_after_a_streamed_tool_call_says_so(method):
    """The message names the tool call that was cut, not "after 0 characters"."""
    with StandIn(default=auto(ANSWER)) as server:
        server.script(PRIMARY, _tool_call_then_cut())
        error_ = _broken(server, method)
    assert "" == error_.partial_text
    assert "0 characters" not in str(error_)
    assert "tool call get_weather" in str(error_)
