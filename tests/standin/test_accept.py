"""``accept``: an answer that arrives as a 200 but is no use is a failed attempt of its own kind.

Against the independent stand-in (it shares no code with the emulator): each check x invoke,
stream and astream with ``stream_recovery: buffer``, and structured output. The primary's
answer is rejected (kind ``rejected``, the check recorded, its cost spent, its circuit
untouched) and the secondary serves. Without ``accept`` the same answer is served.
"""

from __future__ import annotations

import asyncio
import operator
from functools import reduce
from typing import Any

import pytest
from langchain_core.messages import AIMessage
from pydantic import BaseModel

from langchain_openrouter_fallback import ChatOpenRouterFallback, FallbacksExhaustedError
from langchain_openrouter_fallback._decisions.health import circuit_key
from tests.standin import StandIn, completion, stream
from tests.standin.test_timers_and_bodies import PRIMARY, SECONDARY, run

KEY = "standin-test-key-0000"
PATHS = ("invoke", "stream", "astream")
"""Streams run with ``stream_recovery: buffer``: every check can run before release."""


class Person(BaseModel):
    name: str
    age: int


def unusable(check: str, path: str) -> Any:
    """The primary's answer that ``check`` turns down, as a whole body or a stream."""
    whole = path in {"invoke", "ainvoke"}
    if check == "non_empty":
        return completion("") if whole else stream([])
    if check == "no_refusal":
        refusal = "I can't help with that."
        return completion(None, refusal=refusal) if whole else stream([], refusal=refusal)
    if check == "complete":
        return (
            completion("The answer stops in the mid", finish_reason="length")
            if whole
            else stream(["The answer", " stops in the mid"], finish_reason="length")
        )
    text = "Here is the profile you asked for."  # prose where JSON was asked for
    return completion(text) if whole else stream(["Here is the profile", " you asked for."])


NATIVE_JSON = "openai/gpt-4.1-mini"
"""A secondary that takes ``json_schema`` natively (Claude would get it as a forced tool)."""


def model(server: StandIn, secondary: str = SECONDARY, **chain: Any) -> ChatOpenRouterFallback:
    doc = {
        "name": "checked",
        "models": [
            {"model": PRIMARY, "label": "primary"},
            {"model": secondary, "label": "secondary"},
        ],
        "retry": {"max_retries": 0},
        "stream_recovery": "buffer",
        **chain,
    }
    return ChatOpenRouterFallback(
        chain=doc, api_key=KEY, base_url=server.base_url, private_breakers=True
    )


def structured(llm: ChatOpenRouterFallback, path: str) -> tuple[Any, AIMessage]:
    """``with_structured_output(Person, method="json_schema")`` through ``path``."""
    runnable = llm.with_structured_output(Person, method="json_schema", include_raw=True)
    if path == "invoke":
        out = runnable.invoke("Make up a person")
        return out["parsed"], out["raw"]
    if path == "stream":
        outs = list(runnable.stream("Make up a person"))
    else:

        async def drive() -> list[Any]:
            return [o async for o in runnable.astream("Make up a person")]

        outs = asyncio.run(drive())
    # Streamed with include_raw: the raw chunks arrive first, the parsed object after them.
    raw = reduce(operator.add, [o["raw"] for o in outs if "raw" in o])
    return [o["parsed"] for o in outs if "parsed" in o][-1], raw


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("check", ["non_empty", "no_refusal", "complete"])
def test_a_rejected_answer_falls_back(check, path):
    """The check turns the primary down; the secondary serves; the rejection is recorded."""
    with StandIn() as server:
        server.script(PRIMARY, unusable(check, path))
        llm = model(server, accept=[check])
        result = run(llm, path)
        key = circuit_key(llm.resolved_base_url, llm.chain.models[:1])
        circuit = llm.health.circuit(key)
    assert result.error is None, result.error
    assert "secondary" == result.served_by
    first, second = result.attempts
    assert ("rejected", check, "error") == (
        first["error_kind"],
        first["rejected_by"],
        first["outcome"],
    )
    assert first["error"].startswith(f"rejected by {check}: ")
    assert first["cost"] is not None  # the rejected answer was paid for, and counts
    total = result.message.response_metadata["fallback"]["cost"]
    assert total == pytest.approx(first["cost"] + second["cost"])
    assert 0 == circuit.failures  # a rejection is not a health failure


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("check", ["non_empty", "no_refusal", "complete"])
def test_without_accept_the_same_answer_is_served(check, path):
    """The baseline: nothing checks, so the unusable answer reaches the caller."""
    with StandIn() as server:
        server.script(PRIMARY, unusable(check, path))
        result = run(model(server), path)
    assert result.error is None, result.error
    assert "primary" == result.served_by


@pytest.mark.parametrize("path", PATHS)
def test_schema_rejects_prose_where_json_was_asked(path):
    """``schema``: the parsed object must validate against the requested schema."""
    with StandIn() as server:
        server.script(PRIMARY, unusable("schema", path))
        answer = '{"name": "Ada", "age": 36}'
        server.script(NATIVE_JSON, completion(answer) if path == "invoke" else stream([answer]))
        parsed, raw = structured(model(server, NATIVE_JSON, accept=["schema"]), path)
    assert Person(name="Ada", age=36) == parsed
    first = raw.response_metadata["fallback"]["attempts"][0]
    assert ("rejected", "schema") == (first["error_kind"], first["rejected_by"])
    assert "not JSON" in first["error"]


def test_schema_names_the_field_that_does_not_match():
    """JSON of the wrong shape is rejected with the path and reason."""
    with StandIn() as server:
        server.script(PRIMARY, completion('{"name": "Ada", "age": "old"}'))
        server.script(NATIVE_JSON, completion('{"name": "Ada", "age": 36}'))
        parsed, raw = structured(model(server, NATIVE_JSON, accept=["schema"]), "invoke")
    assert 36 == parsed.age
    first = raw.response_metadata["fallback"]["attempts"][0]
    assert "$.age: expected integer, got str" in first["error"]


def test_schema_without_structured_output_checks_nothing():
    """``schema`` on a plain chat call has no schema to hold the answer to: it is served."""
    with StandIn() as server:
        server.script(PRIMARY, completion("plain prose"))
        result = run(model(server, accept=["schema"]), "invoke")
    assert "primary" == result.served_by


def test_a_callable_check_on_the_constructor_and_per_call():
    """A callable ``(AIMessage) -> reason | None`` rejects like a named check; per call wins."""

    def no_apologies(message: AIMessage) -> str | None:
        return "apologised" if "sorry" in message.text.lower() else None

    with StandIn() as server:
        server.script(PRIMARY, completion("Sorry, I am busy."), completion("Sorry again."))
        llm = ChatOpenRouterFallback(
            models=[PRIMARY, SECONDARY], api_key=KEY, base_url=server.base_url,
            accept=[no_apologies], max_retries=0,
        )  # fmt: skip
        checked = llm.invoke("hi").response_metadata["fallback"]
        unchecked = llm.invoke("hi", accept=[]).response_metadata["fallback"]
    assert SECONDARY == checked["served_by"]
    assert ("no_apologies", "rejected by no_apologies: apologised") == (
        checked["attempts"][0]["rejected_by"],
        checked["attempts"][0]["error"],
    )
    assert PRIMARY == unchecked["served_by"]


def test_every_link_rejected_exhausts_the_chain():
    """When no link gives a usable answer, the caller gets the exhausted error and every try."""
    with StandIn() as server:
        server.script(PRIMARY, completion(""))
        server.script(SECONDARY, completion(""))
        with pytest.raises(FallbacksExhaustedError) as info:
            model(server, accept=["non_empty"]).invoke("hi")
    assert ["rejected", "rejected"] == [a.error_kind for a in info.value.attempts]


def test_fallback_on_does_not_stop_a_rejection():
    """Asking for a check is asking to move on: a narrowed ``fallback_on`` still falls back."""
    with StandIn() as server:
        server.script(PRIMARY, completion(""))
        result = run(model(server, accept=["non_empty"], fallback_on=["timeout"]), "invoke")
    assert "secondary" == result.served_by


@pytest.mark.parametrize("path", ["stream", "astream"])
@pytest.mark.parametrize("check", ["non_empty", "no_refusal"])
def test_raise_streams_check_what_shows_before_content(check, path):
    """``raise`` streams: an empty stream or an immediate refusal still falls back unseen."""
    with StandIn() as server:
        server.script(PRIMARY, unusable(check, path))
        result = run(model(server, accept=[check], stream_recovery="raise"), path)
    assert "secondary" == result.served_by
    assert "rejected" == result.attempts[0]["error_kind"]


@pytest.mark.parametrize("path", ["stream", "astream"])
def test_raise_streams_note_the_checks_they_cannot_run(path):
    """``complete`` needs the whole answer: on a ``raise`` stream it is noted, not silently skipped."""
    with StandIn() as server:
        server.script(PRIMARY, unusable("complete", path))
        result = run(model(server, accept=["complete"], stream_recovery="raise"), path)
    assert "primary" == result.served_by
    assert ["accept: complete not run (content streamed as it arrived)"] == result.attempts[0][
        "notes"
    ]
