"""The ``accept`` checks on real recorded answers: every good one passes, each defect is caught.

The answers are read the way both runtimes read them (``wire.AttemptReader``, whole bodies and
SSE streams alike); the checks are ``decisions.reject``.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from langchain_openrouter_fallback._decisions.conforms import first_violation
from langchain_openrouter_fallback.decisions import CHECKS, reject
from langchain_openrouter_fallback.wire import AttemptReader, Progress, SSEDecoder
from tests.conftest import RECORDINGS

SCHEMA_RECORDING = (
    "ruby-llm__chat_with_schema_with_claude-haiku-4-5_accepts_a_json_schema_and_returns_"
    "structured_output.json"
)


def _successes() -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(name, request body, response) of every recorded 200 that answered."""
    found = []
    for path in sorted(RECORDINGS.glob("*.json")):
        for i, interaction in enumerate(json.loads(path.read_text())["interactions"]):
            response = interaction["response"]
            if response["status"] == 200 and '"choices"' in response["body"]:
                found.append((f"{path.stem}#{i}", interaction["request"]["body"], response))
    return found


def read(response: dict[str, Any]) -> AttemptReader:
    """The answer as the chat model and the LiteLLM guard read it."""
    reader = AttemptReader(Progress(deadline=float("inf")))
    if response["content_type"].startswith("text/event-stream"):
        decoder = SSEDecoder()
        for line in response["body"].splitlines():
            event = decoder.feed(line)
            if event is not None and not event.done:
                reader.feed(event)
    else:
        reader.read_body(json.loads(response["body"]))
    return reader


SUCCESSES = _successes()


def test_the_recordings_hold_good_answers_of_every_shape():
    """Text, tool calls, streams and a structured answer: the replay below covers them."""
    kinds = {
        ("stream" if r["content_type"].startswith("text/event-stream") else "json")
        + ("+tools" if "tool_calls" in r["body"] else "")
        for _, _, r in SUCCESSES
    }
    assert {"json", "stream", "json+tools", "stream+tools"} <= kinds


@pytest.mark.parametrize(
    ("name", "request_body", "response"), SUCCESSES, ids=[s[0] for s in SUCCESSES]
)
def test_every_recorded_good_answer_passes_every_check(name, request_body, response):
    """No false alarms: a real answer that served its caller is never rejected."""
    reader = read(response)
    assert reject(CHECKS, reader.answer, request_body) is None, name


def _whole(name_part: str) -> tuple[dict[str, Any], dict[str, Any]]:
    for name, request_body, response in SUCCESSES:
        if name_part in name and not response["content_type"].startswith("text/event-stream"):
            return request_body, json.loads(response["body"])
    raise LookupError(name_part)


def _reader_of(body: dict[str, Any]) -> AttemptReader:
    reader = AttemptReader(Progress(deadline=float("inf")))
    reader.read_body(body)
    return reader


@pytest.mark.parametrize(
    ("check", "defect", "reason"),
    [
        ("non_empty", {"content": ""}, "no text and no tool call"),
        ("no_refusal", {"content": None, "refusal": "I can't help."}, "the model refused"),
        ("no_refusal", {"finish_reason": "content_filter"}, "finish_reason 'content_filter'"),
        ("complete", {"finish_reason": "length"}, "cut at the token limit"),
    ],
)
def test_each_defect_in_a_real_body_is_caught(check, defect, reason):
    """A recorded answer, changed in one field, fails exactly the check for that field."""
    request_body, body = _whole("test_with_native_options")
    body = copy.deepcopy(body)
    choice = body["choices"][0]
    for key, value in defect.items():
        (choice if key == "finish_reason" else choice["message"])[key] = value
    rejection = reject(CHECKS, _reader_of(body).answer, request_body)
    assert rejection is not None
    assert (check, True) == (rejection.check, rejection.reason.startswith(reason))


def test_schema_holds_the_recorded_structured_answer_to_its_recorded_schema():
    """The real structured answer validates; without a required field it does not."""
    request_body, body = _whole(SCHEMA_RECORDING.removesuffix(".json"))
    assert reject(["schema"], _reader_of(body).answer, request_body) is None
    message = body["choices"][0]["message"]
    answer = json.loads(message["content"])
    required = request_body["response_format"]["json_schema"]["schema"]["required"][0]
    del answer[required]
    message["content"] = json.dumps(answer)
    rejection = reject(["schema"], _reader_of(body).answer, request_body)
    assert rejection is not None
    assert f"missing required property {required!r}" in rejection.reason


SCHEMA = {
    "type": "object",
    "properties": {
        "kind": {"enum": ["a", "b"]},
        "items": {"type": "array", "items": {"$ref": "#/$defs/item"}, "maxItems": 2},
        "note": {"anyOf": [{"type": "string"}, {"type": "null"}]},
    },
    "required": ["kind"],
    "additionalProperties": False,
    "$defs": {"item": {"type": "integer", "minimum": 0}},
}


@pytest.mark.parametrize(
    ("value", "violation"),
    [
        ({"kind": "a", "items": [0, 3], "note": None}, None),
        ({"kind": "c"}, "$.kind: 'c' is not one of ['a', 'b']"),
        ({"kind": "a", "items": [1, -1]}, "$.items[1]: -1 is below minimum 0"),
        ({"kind": "a", "items": [1, 2, 3]}, "$.items: longer than maxItems 2"),
        ({"kind": "a", "items": [True]}, "$.items[0]: expected integer, got bool"),
        ({"kind": "a", "note": 3}, "$.note: matches none of anyOf"),
        ({"kind": "a", "extra": 1}, "$.extra: property not allowed (additionalProperties: false)"),
        ([], "$: expected object, got list"),
    ],
)
def test_the_schema_subset(value, violation):
    """``$ref``, ``enum``, ``anyOf``, bounds, sizes, ``additionalProperties``, types."""
    assert violation == first_violation(value, SCHEMA)
