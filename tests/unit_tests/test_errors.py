"""Error classification follows the DESIGN table."""

from __future__ import annotations

import json

import httpx
import pytest

from langchain_openrouter_fallback import ErrorKind, classify
from langchain_openrouter_fallback._errors import classify_exception
from tests.conftest import RECORDINGS


def body(message: str, code: int = 400, **metadata: object) -> dict[str, object]:
    error: dict[str, object] = {"message": message, "code": code}
    if metadata:
        error["metadata"] = metadata
    return {"error": error}


CASES = [
    (401, body("Missing Authentication header", 401), ErrorKind.AUTH),
    (402, body("Insufficient credits", 402), ErrorKind.PAYMENT),
    (400, body("Invalid value for temperature"), ErrorKind.INVALID_REQUEST),
    (422, body("Unprocessable"), ErrorKind.INVALID_REQUEST),
    (400, body("foo/bar is not a valid model ID"), ErrorKind.INVALID_MODEL),
    (404, body("No endpoints found matching your data policy", 404), ErrorKind.INVALID_MODEL),
    (
        400,
        body("This endpoint's maximum context length is 8192 tokens. However, you requested about"),
        ErrorKind.CONTEXT_LENGTH,
    ),
    (
        400,
        body("Provider returned error", error_type="context_length_exceeded"),
        ErrorKind.CONTEXT_LENGTH,
    ),
    (403, body("Input flagged by moderation", 403, reasons=["violence"]), ErrorKind.CONTENT_POLICY),
    (429, body("Rate limit exceeded", 429), ErrorKind.RATE_LIMIT),
    (500, body("Internal Server Error", 500), ErrorKind.SERVER),
    (502, body("Provider returned error", 502, provider_name="X", raw="boom"), ErrorKind.SERVER),
    (503, body("No instances available", 503), ErrorKind.SERVER),
    (529, body("Overloaded", 529, error_type="provider_overloaded"), ErrorKind.SERVER),
    (408, body("Timeout", 408), ErrorKind.TIMEOUT),
    (524, body("Edge timeout", 524), ErrorKind.TIMEOUT),
    (200, body("anything", 200, error_type="rate_limit_exceeded"), ErrorKind.RATE_LIMIT),
]


@pytest.mark.parametrize(("status", "payload", "kind"), CASES)
def test_classify_follows_the_design_table(status, payload, kind):
    """Status plus body map to the documented error kind."""
    assert kind == classify(status, payload)


def test_only_auth_payment_and_bad_requests_stop_the_chain():
    """Every other kind moves on to the next link."""
    stop = {k for k in ErrorKind if not k.moves_on}
    assert {ErrorKind.AUTH, ErrorKind.PAYMENT, ErrorKind.INVALID_REQUEST} == stop


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (httpx.ConnectTimeout("t"), ErrorKind.TIMEOUT),
        (httpx.ReadTimeout("t"), ErrorKind.TIMEOUT),
        (httpx.ConnectError("refused"), ErrorKind.NETWORK),
        (httpx.ReadError("reset"), ErrorKind.NETWORK),
        (httpx.RemoteProtocolError("cut"), ErrorKind.NETWORK),
        (ConnectionResetError(), ErrorKind.NETWORK),
        (json.JSONDecodeError("bad", "x", 0), ErrorKind.MALFORMED),
        (TimeoutError(), ErrorKind.TIMEOUT),
    ],
)
def test_transport_exceptions_are_classified(exc, kind):
    """Every transport failure maps to a kind at one boundary."""
    assert kind == classify_exception(exc)


def test_real_recorded_errors_classify():
    """The real 401 and context-length recordings classify as auth and context_length."""
    found = {}
    for path in RECORDINGS.glob("*.json"):
        for interaction in json.loads(path.read_text())["interactions"]:
            response = interaction["response"]
            if response["status"] >= 400:
                parsed = json.loads(response["body"])
                found[path.stem] = classify(response["status"], parsed)
    assert ErrorKind.AUTH in found.values()
    assert ErrorKind.CONTEXT_LENGTH in found.values()
