"""Transport pieces that need no server: SSE decoding, lenient JSON, clocks, Retry-After."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from langchain_openrouter_fallback import FallbackChain
from langchain_openrouter_fallback._decisions.clock import AttemptFailure, Progress
from langchain_openrouter_fallback._decisions.health import default_registry
from langchain_openrouter_fallback._decisions.plan import plan
from langchain_openrouter_fallback._decisions.run import (
    DEFAULT_ATTEMPT_TIMEOUT,
    DEFAULT_FIRST_TOKEN_TIMEOUT,
    DEFAULT_STALL_TIMEOUT,
    ChainRun,
    Try,
)
from langchain_openrouter_fallback._definition.catalog import load_catalog
from langchain_openrouter_fallback._errors import ErrorKind
from langchain_openrouter_fallback._wire.attempt import AttemptReader
from langchain_openrouter_fallback._wire.transport import (
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


@pytest.mark.parametrize("streaming", [False, True])
def test__stream_limits_default_and_whole_bodies_have_only_the_attempt_timeout(streaming):
    """Streams get the default first-token and stall limits unless the link sets its own;
    a non-stream attempt has only its whole-attempt ``timeout``."""
    chain = FallbackChain.model_validate(
        {
            "name": "defaults",
            "models": [
                {"model": "openai/gpt-4o-mini", "timeout": 30},
                {"model": "x-ai/grok-4", "first_token_timeout": 3, "stall_timeout": 2},
            ],
            "breaker": {"enabled": False},
        }
    )
    catalog = load_catalog()
    steps = plan(chain, [{"role": "user", "content": "hi"}], {}, catalog)
    run = ChainRun(
        chain,
        steps,
        registry=default_registry(),
        catalog=catalog,
        endpoint="http://127.0.0.1:9/api/v1",
        reader=AttemptReader,
        streaming=streaming,
    )
    first = run.next()
    assert isinstance(first, Try)
    run.failed(first, AttemptFailure(ErrorKind.SERVER, "down"))
    second = run.next()
    assert isinstance(second, Try)
    limits = [(a.progress.first_token, a.progress.stall) for a in (first, second)]
    if streaming:
        assert [(DEFAULT_FIRST_TOKEN_TIMEOUT, DEFAULT_STALL_TIMEOUT), (3, 2)] == limits
    else:
        assert [(None, None), (None, None)] == limits
    assert 30 == pytest.approx(first.progress.deadline - first.progress.started)


def test__docs_state_the_default_stream_limits():
    """The limits table of ``docs/failure-semantics.md`` shows the defaults the code applies."""
    page = (Path(__file__).resolve().parents[2] / "docs" / "failure-semantics.md").read_text()
    assert (
        f"| `first_token_timeout` | from the request until the first output (streams) "
        f"| {DEFAULT_FIRST_TOKEN_TIMEOUT:g} s |" in page
    )
    assert (
        f"| `stall_timeout` | between one output and the next (streams) "
        f"| {DEFAULT_STALL_TIMEOUT:g} s |" in page
    )
    assert (
        f"| `timeout` | the whole attempt, headers and body | {DEFAULT_ATTEMPT_TIMEOUT:g} s |"
        in page
    )
