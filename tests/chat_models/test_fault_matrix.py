"""Every emulator fault x {invoke, ainvoke, stream, astream} x {client, server}.

Each case asserts which link served (or which error surfaced) and the attempt records.
The primary is the faulted model; the emulator is real HTTP on 127.0.0.1. Only cells whose
fault fires for the method exist: a stream-only fault (a cut, a stall, a missing ``[DONE]``)
has no invoke cells, rather than cells that count "served by primary" as a pass.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from langchain_core.messages import AIMessage, message_chunk_to_message

from langchain_openrouter_fallback import (
    ChatOpenRouterFallback,
    FallbackChain,
    StreamInterruptedError,
    UnrecoverableError,
)
from langchain_openrouter_fallback.emulator._scenario import EFFECTS, Fault
from tests.chat_models.conftest import KEY

PRIMARY = "openai/gpt-4o-mini"


def chain(mode: str) -> FallbackChain:
    """Primary with tight limits; server mode adds a second group so whole-group faults fall back."""
    links = [
        {
            "model": PRIMARY,
            "label": "primary",
            "timeout": 1.0,
            "first_token_timeout": 0.4,
            "stall_timeout": 0.4,
        },
        {"model": "anthropic/claude-haiku-4.5", "label": "secondary", "timeout": 2},
    ]
    if mode == "server":
        links += [
            {"model": "google/gemini-2.5-flash", "label": "third", "timeout": 1},
            {"model": "x-ai/grok-4", "label": "fourth", "timeout": 2},
        ]
    return FallbackChain.model_validate(
        {
            "name": f"matrix-{mode}",
            "mode": mode,
            "models": links,
            "breaker": {"enabled": False},
            "retry": {"max_retries": 0},
        }
    )


@dataclass(frozen=True)
class Served:
    """The request is answered by ``label``; earlier attempts failed with ``kinds``."""

    label: str
    kinds: tuple[str, ...] = ()
    note: str | None = None
    """A note the serving attempt must carry (a skipped event)."""


@dataclass(frozen=True)
class Raises:
    """The request raises ``error`` (with ``kind`` for unrecoverable errors)."""

    error: type[Exception]
    kind: str | None = None


INTERRUPTED = Raises(StreamInterruptedError)


def fell_back(client_kind: str, server: Served | None = None) -> dict[str, tuple[object, object]]:
    """Client mode: secondary after one failure of ``client_kind``; server: OpenRouter's own."""
    client = Served("secondary", (client_kind,))
    server = server or Served("secondary")
    return {"client": (client, client), "server": (server, server)}


def streams_only(stream: object, server_stream: object = None) -> dict[str, tuple[object, object]]:
    """A fault that exists only in an SSE stream: no invoke/ainvoke cells."""
    return by_method(NO_CELL, stream, NO_CELL, server_stream)


def same(expect: object) -> dict[str, tuple[object, object]]:
    return {"client": (expect, expect), "server": (expect, expect)}


def by_method(
    invoke: object, stream: object, server_invoke: object = None, server_stream: object = None
) -> dict[str, tuple[object, object]]:
    return {
        "client": (invoke, stream),
        "server": (server_invoke or invoke, server_stream or stream),
    }


GROUP_FAIL = Served("fourth", ("timeout",))
NO_CELL = Served("no cell: the fault cannot fire for this method")
"""Marks a (fault, method) pair that is not generated at all."""

CASES: dict[str, tuple[dict[str, object], dict[str, tuple[object, object]]]] = {
    "500": ({"error": 500}, fell_back("server")),
    "502": ({"error": 502}, fell_back("server")),
    "503": ({"error": 503}, fell_back("server")),
    "529": ({"error": 529}, fell_back("server")),
    "429": ({"error": {"status": 429, "retry_after": 1}}, fell_back("rate_limit")),
    "408": ({"error": 408}, fell_back("timeout")),
    "524": ({"error": 524}, fell_back("timeout")),
    "404": ({"error": 404}, fell_back("invalid_model")),
    "403-moderation": ({"error": 403}, fell_back("content_policy")),
    "400-context": ({"error": "context_length"}, fell_back("context_length")),
    "legacy-metadata": (
        {"error": {"status": 502, "metadata_style": "legacy"}},
        fell_back("server"),
    ),
    "401": ({"error": 401}, same(Raises(UnrecoverableError, "auth"))),
    "402": ({"error": 402}, same(Raises(UnrecoverableError, "payment"))),
    "hang": (
        {"hang": True},
        {
            "client": (Served("secondary", ("timeout",)),) * 2,
            "server": (GROUP_FAIL,) * 2,
        },
    ),
    # Server mode: the group's budget (sum of its links' timeouts) outlasts the latency, but
    # the stream's first-token limit does not.
    "latency": (
        {"latency": 1.5},
        by_method(
            Served("secondary", ("timeout",)),
            Served("secondary", ("timeout",)),
            Served("primary"),
            GROUP_FAIL,
        ),
    ),
    # Streams get keep-alive comments; whole bodies get whitespace padding, as on the wire.
    "slow-first-token": (
        {"slow_first_token": "forever"},
        {
            "client": (Served("secondary", ("timeout",)),) * 2,
            "server": (GROUP_FAIL,) * 2,
        },
    ),
    "stall-after-2": ({"stall_after": 2}, streams_only(INTERRUPTED)),
    "cut-after-2": ({"cut_after": 2}, streams_only(INTERRUPTED)),
    "midstream-error-after-2": (
        {"midstream_error": {"after": 2, "code": 502}},
        streams_only(INTERRUPTED),
    ),
    "midstream-error-string-code": (
        {"midstream_error": {"after": 0, "code": "server_error", "finish_reason": None}},
        streams_only(Served("secondary", ("server",)), Served("fourth", ("server",))),
    ),
    "malformed-chunk": (
        {"malformed_chunk": {"after": 1}},
        streams_only(Served("primary", note="skipped malformed event")),
    ),
    "missing-done": ({"missing_done": True}, streams_only(Served("primary"))),
    "error-200": (
        {"error_200": True},
        {
            "client": (Served("secondary", ("server",)),) * 2,
            "server": (Served("fourth", ("server",)),) * 2,
        },
    ),
    # The same error body as JSON, also in reply to a stream request.
    "error-200-json": (
        {"error_200": "json"},
        {
            "client": (Served("secondary", ("server",)),) * 2,
            "server": (Served("fourth", ("server",)),) * 2,
        },
    ),
    # In a stream the emulator replaces the first content chunk with `choices: null`: the
    # event is skipped and recorded (its text never existed to pass on).
    "choices-null": (
        {"choices_null": True},
        by_method(
            Served("secondary", ("malformed",)),
            Served("primary", note="choices: null"),
            Served("fourth", ("malformed",)),
            Served("primary", note="choices: null"),
        ),
    ),
    # A well-formed 200 cut at the token limit: without `accept` checks it is an answer
    # (tests/standin/test_accept.py rejects it).
    "unusable-answer": (
        {"answer": {"content": "This is the OpenRouter emulator, cut.", "finish_reason": "length"}},
        same(Served("primary")),
    ),
    "reset": (
        {"reset": True},
        {
            "client": (Served("secondary", ("network",)),) * 2,
            "server": (Served("fourth", ("network",)),) * 2,
        },
    ),
}

METHODS = ["invoke", "ainvoke", "stream", "astream"]


async def call(llm: ChatOpenRouterFallback, method: str):
    """Run one request; streams are joined and their last chunk returned with the text."""
    if method == "invoke":
        return llm.invoke("Say hello"), None
    if method == "ainvoke":
        return await llm.ainvoke("Say hello"), None
    if method == "stream":
        chunks = list(llm.stream("Say hello"))
    else:
        chunks = [c async for c in llm.astream("Say hello")]
    return chunks[-1], "".join(c.text for c in chunks)


def expectation(case: str, method: str, mode: str) -> object:
    return CASES[case][1][mode][0 if method.endswith("invoke") else 1]


CELLS = [
    pytest.param(case, method, mode, id=f"{case}-{method}-{mode}")
    for case in CASES
    for method in METHODS
    for mode in ("client", "server")
    if expectation(case, method, mode) is not NO_CELL
]


STREAM_ONLY = {
    "stall_after",
    "cut_after",
    "midstream_error",
    "malformed_chunk",
    "missing_done",
}
"""Emulator effects that shape SSE streams only; a non-stream request never sees them."""


def test_every_cell_can_fire():
    """Every emulator effect has cells, and a stream-only effect has no invoke cells."""
    effects = {Fault.model_validate(CASES[case][0]).effect for case in CASES}
    assert set(EFFECTS) <= effects
    invoked = {
        Fault.model_validate(CASES[case][0]).effect
        for case, method, _ in (cell.values for cell in CELLS)
        if method.endswith("invoke")
    }
    assert set() == invoked & STREAM_ONLY


@pytest.mark.timeout(20)
@pytest.mark.parametrize(("case", "method", "mode"), CELLS)
async def test_fault(emu, case, method, mode):
    """The faulted primary leads to exactly the documented outcome, with complete records."""
    fault = CASES[case][0]
    expected = expectation(case, method, mode)
    emu.set_scenario({"faults": [{"model": PRIMARY, **fault}]})
    llm = ChatOpenRouterFallback(chain=chain(mode), api_key=KEY, base_url=emu.base_url)
    if isinstance(expected, Raises):
        with pytest.raises(expected.error) as info:
            await call(llm, method)
        attempts = info.value.attempts
        assert attempts, "errors carry their attempts"
        if expected.kind:
            assert expected.kind == attempts[-1].error_kind
        if expected.error is StreamInterruptedError:
            assert info.value.partial_text
            assert "interrupted" == attempts[-1].error_kind
        return
    message, text = await call(llm, method)
    fallback = message.response_metadata["fallback"]
    assert expected.label == fallback["served_by"]
    attempts = fallback["attempts"]
    assert list(expected.kinds) == [a["error_kind"] for a in attempts[:-1]]
    assert all("error" == a["outcome"] for a in attempts[:-1])
    assert "ok" == attempts[-1]["outcome"]
    assert message.response_metadata["model_name"]
    assert message.response_metadata["provider"]
    assert message.usage_metadata["total_tokens"] > 0
    if expected.note:
        assert any(expected.note in note for note in attempts[-1]["notes"])
    elif text is not None:
        assert text.startswith("This is the OpenRouter emulator")
        assert text.endswith(".")
    for attempt in attempts:
        assert {"label", "model", "outcome", "error_kind", "status_code", "elapsed_ms"} <= set(
            attempt
        )


# -- wire conditions: framing, whitespace keep-alives, paced chunks, reasoning --------------

FRAMINGS = ("chunked", "content-length", "close")


def wire_chain(limits: dict[str, float]) -> FallbackChain:
    """The primary with the case's limits; every limit that must not fire has a wide margin
    (the machine may be loaded), only the one under test is close to the wire's timing."""
    links = [
        {"model": PRIMARY, "label": "primary", **limits},
        {"model": "anthropic/claude-haiku-4.5", "label": "secondary", "timeout": 5},
    ]
    return FallbackChain.model_validate(
        {
            "name": "matrix-wire",
            "models": links,
            "breaker": {"enabled": False},
            "retry": {"max_retries": 0},
            "fallback_on": ["timeout", "server", "network", "malformed"],
        }
    )


THOUGHT = "First I weigh the question, then I answer it."
LOOSE = {"timeout": 6.0, "first_token_timeout": 2.0, "stall_timeout": 2.0}
WIRE: dict[str, tuple[dict[str, object], tuple[object, object], dict[str, float]]] = {
    # Keep-alives only (SSE comments, or whitespace before a JSON body): the limit that fires
    # is reported, whether the body is chunked, has a length, or ends with the connection.
    "keepalive-only": (
        {"faults": [{"model": PRIMARY, "slow_first_token": "forever"}]},
        (Served("secondary", ("timeout",)),) * 2,
        {"timeout": 1.5, "first_token_timeout": 0.5, "stall_timeout": 0.5},
    ),
    # Whitespace blocks (or keep-alive comments) for 0.2 s, then the answer.
    "padded-then-served": (
        {
            "padding": 2,
            "stream": {"keepalive_interval": 0.05},
            "faults": [{"model": PRIMARY, "slow_first_token": 0.2}],
        },
        (Served("primary"),) * 2,
        LOOSE,
    ),
    # 1 s between chunks: longer than the first-token limit, well within the stall limit.
    "paced-within-stall": (
        {"stream": {"chunks": 2, "chunk_interval": 1.0}},
        (NO_CELL, Served("primary")),
        {"timeout": 8.0, "first_token_timeout": 0.8, "stall_timeout": 2.5},
    ),
    # 0.3 s between chunks, three reasoning chunks first: content comes after the
    # first-token limit, but reasoning is output for both clocks.
    "reasoning-paced": (
        {
            "models": {PRIMARY: {"scripted": {"reply": "Answer.", "reasoning": THOUGHT}}},
            "stream": {"chunks": 3, "chunk_interval": 0.3, "keepalives_before": 1},
        },
        (Served("primary"),) * 2,
        {"timeout": 6.0, "first_token_timeout": 0.6, "stall_timeout": 2.0},
    ),
    # Gaps longer than the stall limit after the first token (no cell for whole bodies,
    # which are not paced).
    "paced-over-stall": (
        {"stream": {"chunks": 4, "chunk_interval": 1.5}},
        (NO_CELL, INTERRUPTED),
        {"timeout": 6.0, "first_token_timeout": 2.0, "stall_timeout": 0.5},
    ),
    "error-200-json": (
        {"faults": [{"model": PRIMARY, "error_200": "json"}]},
        (Served("secondary", ("server",)),) * 2,
        LOOSE,
    ),
    "cut-after-2": (
        {"faults": [{"model": PRIMARY, "cut_after": 2}]},
        (NO_CELL, INTERRUPTED),
        LOOSE,
    ),
}

WIRE_CELLS = [
    pytest.param(case, framing, method, id=f"{case}-{framing}-{method}")
    for case in WIRE
    for framing in FRAMINGS
    for method in METHODS
    if WIRE[case][1][0 if method.endswith("invoke") else 1] is not NO_CELL
]


async def whole(llm: ChatOpenRouterFallback, method: str) -> AIMessage:
    """The answer as one message (streams aggregated as LangChain does)."""
    if method == "invoke":
        return llm.invoke("Say hello")
    if method == "ainvoke":
        return await llm.ainvoke("Say hello")
    chunks = (
        list(llm.stream("Say hello"))
        if method == "stream"
        else [c async for c in llm.astream("Say hello")]
    )
    message = message_chunk_to_message(sum(chunks[1:], chunks[0]))
    assert isinstance(message, AIMessage)
    return message


@pytest.mark.timeout(20)
@pytest.mark.parametrize(("case", "framing", "method"), WIRE_CELLS)
async def test_wire_condition(emu, case, framing, method):
    """Each wire condition, in each framing, leads to the documented outcome."""
    scenario, expectations, limits = WIRE[case]
    expected = expectations[0 if method.endswith("invoke") else 1]
    emu.set_scenario({**scenario, "framing": framing})
    llm = ChatOpenRouterFallback(chain=wire_chain(limits), api_key=KEY, base_url=emu.base_url)
    if isinstance(expected, Raises):
        with pytest.raises(expected.error) as info:
            await whole(llm, method)
        assert "interrupted" == info.value.attempts[-1].error_kind
        return
    assert isinstance(expected, Served)
    message = await whole(llm, method)
    fallback = message.response_metadata["fallback"]
    assert expected.label == fallback["served_by"]
    assert list(expected.kinds) == [a["error_kind"] for a in fallback["attempts"][:-1]]
    if case == "reasoning-paced":
        assert THOUGHT == message.additional_kwargs["reasoning_content"]
        assert {"type": "reasoning", "reasoning": THOUGHT} == message.content_blocks[0]
        details = message.additional_kwargs["reasoning_details"]
        assert [("reasoning.text", THOUGHT)] == [(d["type"], d["text"]) for d in details]
        assert "Answer." == message.text
    else:
        assert message.text.startswith("This is the OpenRouter emulator")
