"""One-line faults: each helper returns an emulator scenario that fails one model one way.

Pass the result to ``Emulator.set_scenario`` (or ``Emulator(scenario=...)``); combine several
with :func:`scenario`. The documents use the emulator's scenario format (see
:mod:`langchain_openrouter_fallback.emulator`), so a helper never does anything a scenario
file could not.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "cut_after_content",
    "cut_before_content",
    "hang",
    "inband_error",
    "keepalives_only",
    "malformed",
    "reasoning_then_break",
    "reset",
    "scenario",
    "status",
    "unusable_answer",
]

REASONING = "Let me think. The user wants one short sentence. I will write one now."
"""The reasoning :func:`reasoning_then_break` streams (split into the stream's chunks)."""


def _fault(model: str, **effect: Any) -> dict[str, Any]:
    return {"faults": [{"model": model, **effect}]}


def status(model: str, code: int = 503, *, retry_after: int | None = None) -> dict[str, Any]:
    """``model`` answers HTTP ``code`` with OpenRouter's error body (429 adds ``Retry-After``)."""
    error: dict[str, Any] = {"status": code}
    if retry_after is not None:
        error["retry_after"] = retry_after
    return _fault(model, error=error)


def hang(model: str) -> dict[str, Any]:
    """``model`` accepts the request and never answers (no headers, no bytes)."""
    return _fault(model, hang=True)


def keepalives_only(model: str) -> dict[str, Any]:
    """``model`` sends only ``: OPENROUTER PROCESSING`` keep-alives (whitespace for JSON)."""
    return _fault(model, slow_first_token="forever")  # noqa: S106 - not a password


def reset(model: str) -> dict[str, Any]:
    """``model``'s connection is reset before any response byte."""
    return _fault(model, reset=True)


def cut_before_content(model: str) -> dict[str, Any]:
    """A stream from ``model`` sends headers and keep-alives, then the connection closes."""
    return _fault(model, cut_after=0)


def cut_after_content(model: str, *, chunks: int = 2) -> dict[str, Any]:
    """A stream from ``model`` closes after ``chunks`` content chunks (no ``finish_reason``)."""
    return _fault(model, cut_after=chunks)


def inband_error(model: str, *, after_chunks: int | None = None) -> dict[str, Any]:
    """``model`` answers HTTP 200 carrying an ``error`` object instead of an answer.

    Args:
        model: the model id to fail.
        after_chunks: ``None``: the whole answer is the error (a JSON body, or a stream's
            only event); a number: a stream sends that many content chunks, then the
            error chunk (OpenRouter's mid-stream error).
    """
    if after_chunks is None:
        return _fault(model, error_200=True)
    return _fault(model, midstream_error={"after": after_chunks})


def malformed(model: str, *, after_chunks: int | None = None) -> dict[str, Any]:
    """``model`` answers HTTP 200 with a body that is no completion.

    Args:
        model: the model id to fail.
        after_chunks: ``None``: ``choices: null`` (a whole body a client must reject; in a
            stream, the first chunk); a number: a ``data:`` line of invalid JSON after that
            many chunks (a stream event a lenient client skips and notes).
    """
    if after_chunks is None:
        return _fault(model, choices_null=True)
    return _fault(model, malformed_chunk={"after": after_chunks})


def reasoning_then_break(model: str, *, chunks: int = 2) -> dict[str, Any]:
    """A stream from ``model`` sends ``chunks`` reasoning deltas, then closes before content."""
    document = _fault(model, cut_after=chunks)
    document["models"] = {model: {"scripted": {"reasoning": REASONING}}}
    document["stream"] = {"chunks": chunks + 2}
    return document


def unusable_answer(
    model: str,
    content: str = "",
    *,
    refusal: str | None = None,
    finish_reason: str = "stop",
) -> dict[str, Any]:
    """``model`` answers a well-formed, billed 200 that is no use (what ``accept`` rejects).

    By default an empty answer; ``refusal="I can't."``, ``finish_reason="content_filter"`` or
    ``"length"``, or prose ``content`` where JSON was asked for script the other checks.
    """
    answer = {"content": content, "refusal": refusal, "finish_reason": finish_reason}
    return _fault(model, answer=answer)


def scenario(*parts: dict[str, Any], **settings: Any) -> dict[str, Any]:
    """One scenario from several: faults in the order given, ``models`` and ``stream`` merged.

    ``settings`` are further scenario keys (``seed``, ``stream``...), applied last.
    """
    merged: dict[str, Any] = {"faults": []}
    for part in (*parts, settings):
        for key, value in part.items():
            if key == "faults":
                merged["faults"] += value
            elif isinstance(value, dict) and isinstance(merged.get(key), dict):
                merged[key] = {**merged[key], **value}
            else:
                merged[key] = value
    return merged
