"""Transport pieces that need no server: SSE decoding, lenient JSON, clocks, Retry-After."""

from __future__ import annotations

import time

import httpx
import pytest

from langchain_openrouter_fallback._transport import (
    Progress,
    SSEDecoder,
    SSEEvent,
    parse_json_body,
    retry_after_seconds,
)


def feed(lines: list[str]) -> list[SSEEvent]:
    decoder = SSEDecoder()
    events = [e for line in lines if (e := decoder.feed(line)) is not None]
    tail = decoder.flush()
    return [*events, *([tail] if tail else [])]


def test__sse_keepalives_are_comments_not_data():
    """``: OPENROUTER PROCESSING`` becomes a comment event, never data."""
    events = feed([": OPENROUTER PROCESSING", "", 'data: {"a": 1}', "", "data: [DONE]", ""])
    assert [SSEEvent(comment="OPENROUTER PROCESSING"), SSEEvent(data='{"a": 1}'),
            SSEEvent(data="[DONE]")] == events  # fmt: skip
    assert events[-1].done


def test__sse_multiline_data_and_unterminated_tail():
    """Data lines join with newlines; a final event without a blank line still arrives."""
    assert [SSEEvent(data="one\ntwo")] == feed(["data: one", "data: two"])


def test__json_body_tolerates_whitespace_padding():
    """OpenRouter pads non-streaming bodies with leading whitespace."""
    assert {"id": "x"} == parse_json_body(b'\n         \n\n         \n{"id": "x"}')
    with pytest.raises(ValueError, match="Expecting value"):
        parse_json_body(b"<html>")


def test__retry_after_forms():
    """Retry-After seconds are read; a missing header gives None."""
    assert 2.0 == retry_after_seconds(httpx.Headers({"Retry-After": "2"}))
    assert retry_after_seconds(httpx.Headers({})) is None
    assert retry_after_seconds(httpx.Headers({"Retry-After": "soon"})) is None


def test__progress_switches_from_first_token_to_stall_limit():
    """Before content the first-token limit runs; after it, the stall limit (keep-alives move neither)."""
    start = time.monotonic()
    progress = Progress(deadline=start + 30, first_token=5, stall=1, started=start)
    assert (start + 5, "first_token") == progress.next_deadline()
    progress.token()
    when, reason = progress.next_deadline()
    assert "stall" == reason
    assert when <= time.monotonic() + 1
    progress.finishing(0.0)
    assert "total" == progress.next_deadline()[1]
