"""Structural fidelity: the emulator answers each recorded request with the real shape.
# ruff: noqa: SIM300 - assertions are written `expected == actual` (STYLE.md rule 41)

For every interaction in ``tests/data/recordings`` the same request body is sent to the
emulator, with a per-recording scenario that *scripts* what the real model happened to say
(reply text is never compared, only structure). The structural diff compares recursive key
sets and JSON types; for streams it compares the chunk sequence (keep-alives, role/content or
tool-call chunks, finish chunk, usage chunk, ``[DONE]``) and each chunk kind's shape.

Tolerated differences (and nothing else):

* ``NULLABLE``: keys whose value is ``null`` in one answer and a value in the other
  (``content`` is ``""`` or ``null`` next to tool calls depending on the upstream;
  ``system_fingerprint`` is a string for some providers; ``provider_name`` in errors).
* ``LEGACY``: recordings made before OpenRouter's current usage accounting (pydantic-ai,
  2025) lack ``cost``/``is_byok``/``*_details`` in ``usage`` and ``service_tier``/
  ``system_fingerprint`` at the top; the emulator sends the current superset there, so for
  those files extra emulator keys are allowed (missing ones never are).
* ``LIVE_ROUTING``: in rig's recordings the provider was picked by live latency/price
  (``sort``, ``require_parameters``); the emulator's providers are equal, so only the served
  model is compared there, not the provider name.
* Keep-alive comments *between* data chunks are timing, not structure: only the leading
  keep-alives are part of the compared sequence.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from emulator_helpers import AUTH, sse_events

from langchain_openrouter_fallback.emulator import Emulator

RECORDINGS = Path(__file__).parents[1] / "data" / "recordings"
NULLABLE = frozenset(
    {
        "content",
        "system_fingerprint",
        "service_tier",
        "provider_name",
        "reasoning",
        "refusal",
        "logprobs",
    }
)
LEGACY = ("pydantic-ai__",)
LIVE_ROUTING = ("rig__",)
WEATHER = {"name": "weather", "arguments": {"latitude": "52.5200", "longitude": "13.4050"}}

# Scripted per recording: only what the real upstream chose (model slug, provider list,
# tool calls, limits); faults reproduce the recorded error answers.
SCENARIOS: dict[str, dict[str, Any]] = {
    "pydantic-ai__test_errors_raised": {
        "faults": [{"model": "google/gemini-2.0-flash-exp:free", "error": 429}],
    },
    "pydantic-ai__test_tool_calling": {
        "models": {
            "mistralai/mistral-small": {
                "providers": ["Mistral"],
                "scripted": {
                    "tool_calls": [
                        {
                            "name": "divide",
                            "arguments": {
                                "numerator": 123,
                                "denominator": 456,
                                "on_inf": "infinity",
                            },
                        }
                    ]
                },
            }
        },
    },
    "pydantic-ai__test_with_native_options": {
        "models": {"x-ai/grok-4": {"served_as": "x-ai/grok-4"}},
    },
    "rig__provider_selection_scenarios": {"padding": 0},
    "ruby-llm__chat_function_calling_claude-haiku-4-5_can_use_parallel_tool_calls": {
        "padding": 3,
        "models": {
            "anthropic/claude-haiku-4.5": {
                "scripted": {
                    "tool_calls": [WEATHER, {"name": "best_language_to_learn", "arguments": {}}]
                }
            }
        },
    },
    "ruby-llm__chat_function_calling_claude-haiku-4-5_can_use_tools": {
        "padding": 3,
        "models": {"anthropic/claude-haiku-4.5": {"scripted": {"tool_calls": [WEATHER]}}},
    },
    "ruby-llm__chat_function_calling_claude-haiku-4-5_can_use_tools_with_multi-turn_streaming_conversatio": {
        "models": {"anthropic/claude-haiku-4.5": {"scripted": {"tool_calls": [WEATHER]}}},
    },
    "ruby-llm__chat_real_error_scenarios_claude-haiku-4-5_handles_context_length_exceeded_errors": {
        "models": {"anthropic/claude-haiku-4.5": {"context_length": 20}},
    },
}
DEFAULT_SCENARIO: dict[str, Any] = {"padding": 2}


def json_type(value: Any) -> str:
    """The JSON type name of a value (ints and floats are both numbers)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return {str: "string", list: "array", dict: "object"}[type(value)]


def structural_diff(
    real: Any, emulated: Any, *, path: str = "$", extra_ok: bool = False
) -> list[str]:
    """Differences in recursive key sets and JSON types (empty list: same structure)."""
    key = path.rsplit(".", 1)[-1]
    if (real is None or emulated is None) and key in NULLABLE:
        return []
    if json_type(real) != json_type(emulated):
        return [f"{path}: {json_type(real)} != {json_type(emulated)}"]
    if isinstance(real, dict):
        diffs = [f"{path}.{k}: missing" for k in sorted(set(real) - set(emulated))]
        if not extra_ok:
            diffs += [f"{path}.{k}: unexpected" for k in sorted(set(emulated) - set(real))]
        for k in sorted(set(real) & set(emulated)):
            diffs += structural_diff(real[k], emulated[k], path=f"{path}.{k}", extra_ok=extra_ok)
        return diffs
    if isinstance(real, list):
        if bool(real) != bool(emulated):
            return [f"{path}: empty vs non-empty list"]
        return [
            d
            for r, e in zip(real, emulated, strict=False)
            for d in structural_diff(r, e, path=f"{path}[]", extra_ok=extra_ok)
        ]
    return []


def test_structural_diff_detects_differences() -> None:
    """The helper reports missing keys, unexpected keys and type changes."""
    real = {"a": 1, "b": {"c": "x"}, "content": None}
    assert structural_diff(real, {"a": 2.5, "b": {"c": "y"}, "content": "t"}) == []
    assert structural_diff(real, {"z": 1, "b": {"c": "x"}, "content": None}) == [
        "$.a: missing",
        "$.z: unexpected",
    ]
    assert structural_diff(real, {"a": 1, "b": {"c": 3}, "content": None}) == [
        "$.b.c: string != number"
    ]


def chunk_kind(chunk: Any) -> str:
    """Classify one stream event."""
    if not isinstance(chunk, dict):
        return str(chunk)
    if "usage" in chunk:
        return "usage"
    choice = chunk["choices"][0]
    if choice["finish_reason"]:
        return "finish"
    calls = choice["delta"].get("tool_calls")
    if calls:
        return "tool_open" if "id" in calls[0] else "tool_args"
    return "content"


def stream_skeleton(events: list[Any]) -> tuple[list[str], dict[str, Any]]:
    """Leading keep-alives + run-collapsed chunk kinds, and one sample chunk per kind."""
    kinds: list[str] = []
    samples: dict[str, Any] = {}
    leading = True
    for event in events:
        kind = chunk_kind(event)
        if kind == "keepalive" and not leading:
            continue
        leading = leading and kind == "keepalive"
        if not kinds or kinds[-1] != kind:
            kinds.append(kind)
        samples.setdefault(kind, event)
    return kinds, samples


def interactions() -> list[Any]:
    """(recording name, index, interaction) for every recorded exchange."""
    cases = []
    for path in sorted(RECORDINGS.glob("*.json")):
        for i, item in enumerate(json.loads(path.read_text())["interactions"]):
            cases.append(pytest.param(path.stem, item, id=f"{path.stem[:60]}#{i}"))
    return cases


@pytest.fixture(scope="module")
def fidelity_emu() -> Any:
    with Emulator() as emu:
        yield emu


def send(emu: Emulator, name: str, request: dict[str, Any], status: int) -> httpx.Response:
    """Replay the request body (without a key for the missing-key recording)."""
    emu.set_scenario(SCENARIOS.get(name, DEFAULT_SCENARIO))
    headers = {} if status == 401 else AUTH
    with httpx.Client(base_url=emu.url, headers=headers, timeout=10) as client:
        return client.request(request["method"], request["path"], json=request["body"])


@pytest.mark.parametrize(("name", "interaction"), interactions())
def test_emulator_matches_recording(
    fidelity_emu: Emulator, name: str, interaction: dict[str, Any]
) -> None:
    """Same status, content type and structure as the real OpenRouter answer."""
    real = interaction["response"]
    r = send(fidelity_emu, name, interaction["request"], real["status"])
    assert real["status"] == r.status_code
    assert real["content_type"] == r.headers["content-type"]
    extra_ok = name.startswith(LEGACY)
    if real["content_type"] == "text/event-stream":
        real_kinds, real_samples = stream_skeleton(sse_events(real["body"]))
        emu_kinds, emu_samples = stream_skeleton(sse_events(r.text))
        assert real_kinds == emu_kinds
        for kind, sample in real_samples.items():
            assert structural_diff(sample, emu_samples[kind], path=kind) == []
        return
    real_body = json.loads(real["body"])
    assert structural_diff(real_body, r.json(), extra_ok=extra_ok) == []
    if not real["body_is_reserialized"]:
        assert real["body"][:1].isspace() == r.text[:1].isspace()
    if real_body.get("model"):
        assert real_body["model"] == r.json()["model"]
        if not name.startswith(LIVE_ROUTING):
            assert real_body["provider"] == r.json()["provider"]


def test_error_messages_match_real_formats(fidelity_emu: Emulator) -> None:
    """401 is byte-identical; the context-length message follows the real format."""
    path = (
        RECORDINGS
        / "ruby-llm__chat_error_handling_with_claude-haiku-4-5_raises_appropriate_auth_error.json"
    )
    item = json.loads(path.read_text())["interactions"][0]
    r = send(fidelity_emu, path.stem, item["request"], 401)
    assert item["response"]["body"] == r.text
    path = (
        RECORDINGS
        / "ruby-llm__chat_real_error_scenarios_claude-haiku-4-5_handles_context_length_exceeded_errors.json"
    )
    item = json.loads(path.read_text())["interactions"][0]
    pattern = re.compile(
        r"This endpoint's maximum context length is \d+ tokens\. However, you requested about (\d+) tokens "
        r"\(\1 of text input\)\. Please reduce the length of either one, or use the context-compression "
        r"plugin to compress your prompt automatically\."
    )
    assert pattern.fullmatch(json.loads(item["response"]["body"])["error"]["message"])
    assert pattern.fullmatch(
        send(fidelity_emu, path.stem, item["request"], 400).json()["error"]["message"]
    )
