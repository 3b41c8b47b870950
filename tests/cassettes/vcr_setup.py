"""VCR settings shared by the cassette tests: matching, redaction and where cassettes live.

Requests match on method, path and a *normalised JSON body*: the parsed JSON must be equal,
so key order and whitespace don't matter but any changed field, message or parameter does.
Two further normalisations, both semantic no-ops on OpenRouter:

- tool-call ``arguments`` strings are compared as parsed JSON (LangChain re-serialises them
  as ``{"a": 1}`` where other clients sent ``{"a":1}``);
- a message ``content`` made only of text parts compares as the joined string (LangChain
  sends ``[{"type": "text", "text": "x"}]`` as ``"x"``);
- a JSON schema's root ``title`` equal to ``json_schema.name`` is dropped (LangChain's
  ``convert_to_json_schema`` keeps the title that names the schema; it is an annotation);
- ``model`` + ``models`` compare as the de-duplicated candidate list (OpenRouter tries
  ``model`` first, then ``models``; we always send ``model == models[0]``).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
CASSETTES = Path(os.environ.get("OPENROUTER_FALLBACK_CASSETTES") or ROOT / "cassettes")
"""Cassette root; the env override exists for the "missing cassette fails" test."""
REDACTED = "<REDACTED>"
KEY_SHAPED = re.compile(r"sk-or-(?:v\d+-)?[A-Za-z0-9_-]{16,}")
LIVE_URL = "https://openrouter.ai/api/v1"


def _loads(raw: Any) -> Any:
    if raw is None or raw in {b"", ""}:
        return None
    text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    try:
        return json.loads(text)
    except ValueError:
        return text


def _is_text(part: Any) -> bool:
    return isinstance(part, dict) and part.get("type") == "text" and set(part) == {"type", "text"}


def normalise(value: Any) -> Any:
    """The comparable form of a request body (see the module docstring)."""
    if isinstance(value, list):
        return [normalise(v) for v in value]
    if not isinstance(value, dict):
        return value
    out = {key: normalise(v) for key, v in value.items()}
    if isinstance(out.get("arguments"), str):
        out["arguments"] = normalise(_loads(out["arguments"]))
    content = out.get("content")
    if isinstance(content, list) and content and all(_is_text(p) for p in content):
        out["content"] = "".join(p["text"] for p in content)
    spec = out.get("json_schema")
    if isinstance(spec, dict) and isinstance(spec.get("schema"), dict):
        root = spec["schema"]
        if root.get("title") == spec.get("name"):
            spec["schema"] = {k: v for k, v in root.items() if k != "title"}
    if isinstance(out.get("models"), list):
        candidates = [out.pop("model", None), *out.pop("models")]
        out["candidates"] = list(dict.fromkeys(c for c in candidates if c))
    return out


def json_body(r1: Any, r2: Any) -> None:
    """VCR matcher: bodies are equal as normalised JSON (raises AssertionError otherwise)."""
    a, b = normalise(_loads(r1.body)), normalise(_loads(r2.body))
    assert a == b, f"request bodies differ:\n  sent:     {a}\n  recorded: {b}"


def scrub(text: str) -> str:
    """Replace anything key-shaped by the placeholder."""
    return KEY_SHAPED.sub(REDACTED, text)


def scrub_request(request: Any) -> Any:
    """``before_record_request``: no key-shaped strings in the URI or body."""
    if isinstance(request.body, bytes | str):
        body = request.body.decode("utf-8") if isinstance(request.body, bytes) else request.body
        request.body = scrub(body).encode("utf-8")
    request.uri = scrub(request.uri)
    return request


def response_hook(origin: str) -> Any:
    """``before_record_response``: scrub keys, drop cookies, stamp where it was recorded."""

    def hook(response: dict[str, Any]) -> dict[str, Any]:
        headers = {
            k: [scrub(v) for v in vs]
            for k, vs in response["headers"].items()
            if k.lower() not in {"set-cookie", "cf-ray", "authorization"}
        }
        headers["X-Cassette-Origin"] = [origin]
        response["headers"] = headers
        body = response["body"].get("string")
        if isinstance(body, bytes):
            response["body"]["string"] = scrub(body.decode("utf-8")).encode("utf-8")
        return response

    return hook


def vcr_settings(origin: str) -> dict[str, Any]:
    """Keyword arguments for ``VCR.use_cassette`` (used through ``vcr_config``)."""
    return {
        "match_on": ("method", "path", "json_body"),
        "filter_headers": [("authorization", f"Bearer {REDACTED}"), ("cookie", None)],
        "before_record_request": scrub_request,
        "before_record_response": response_hook(origin),
        "decode_compressed_response": True,
    }
