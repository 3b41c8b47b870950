"""A real ``litellm --config`` proxy (generated config + plugin) against the independent stand-in.

One proxy and one stand-in per session (``stream_proxy`` and ``stream_server`` in the conftest,
shared with ``test_parity_streams``); each test scripts the stand-in's replies, calls the proxy
with the ``openai`` client, and asserts what the client received (text, error event, the
``x-litellm-model-id`` header) and which upstream calls the proxy made.

The chains' primary has ``first_token_timeout: 1``, ``stall_timeout: 2`` and ``timeout: 4``;
chain ``c`` streams with ``stream_recovery: raise`` (the default), chain ``b`` with ``buffer``.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.litellm_config.conftest import P, S, T, answer_of, ask
from tests.standin import Reply, completion, error, keepalive_only, stream

pytestmark = [pytest.mark.litellm, pytest.mark.timeout(300)]

KEEPALIVE_SECONDS = 30.0
"""How long a keep-alive-only primary keeps the connection busy (longer than any answer)."""


# -- streams ----------------------------------------------------------------------------------


def test_stream_cut_after_content_is_an_error_event(client, standin):
    """A primary cut after its first word: the client gets that word, then an error, never a
    successful answer; nothing is resent elsewhere (the text already came from the primary)."""
    standin.script(P, stream(["hello ", "world"], cut_after=1))
    got = ask(client, stream=True)
    assert "hello " == got.text
    assert got.error is not None
    assert "c/primary" == got.link
    assert [P] == standin.models_seen()


def test_stream_ending_without_finish_reason_is_an_error_event(client, standin):
    """A clean end of body (even with ``[DONE]``) but no ``finish_reason`` is a cut too."""
    standin.script(P, stream(["hello ", "world"], finish=False))
    got = ask(client, stream=True)
    assert "hello world" == got.text
    assert got.error is not None
    assert "finish_reason" in got.error
    assert [P] == standin.models_seen()


def test_stream_cut_before_content_falls_back(client, standin):
    """Cut before any content: the secondary serves, and the header names it."""
    standin.script(P, stream(["hello ", "world"], cut_after=0))
    got = ask(client, stream=True)
    assert (answer_of(S), None, "c/secondary") == (got.text, got.error, got.link)
    assert [P, S] == standin.models_seen()


def test_stream_keepalive_only_primary_is_cut_at_first_token_timeout(client, standin):
    """Only keep-alives from the primary: ``first_token_timeout: 1`` hands over to the secondary
    while the primary is still sending them."""
    standin.script(P, keepalive_only(KEEPALIVE_SECONDS))
    got = ask(client, stream=True)
    assert (answer_of(S), None, "c/secondary") == (got.text, got.error, got.link)
    assert {S} == got.models
    assert got.seconds < KEEPALIVE_SECONDS
    assert [P, S] == standin.models_seen()


def test_stream_stall_after_content_is_an_error_event(client, standin):
    """Silence longer than ``stall_timeout`` after content: what arrived, then an error."""
    standin.script(P, replace(stream(["hello "], finish=False, done=False), hold=KEEPALIVE_SECONDS))
    got = ask(client, stream=True)
    assert "hello " == got.text
    assert got.error is not None
    assert "stall" in got.error
    assert got.seconds < KEEPALIVE_SECONDS
    assert [P] == standin.models_seen()


def test_stream_paced_below_the_stall_limit_completes(client, standin):
    """Gaps shorter than ``stall_timeout`` are a healthy stream (first piece at once: the
    first-token limit is not under test here, and 1 s is tight on a loaded machine)."""
    standin.script(P, stream(["slow ", "but ", "fine"], gap=0.5, keepalives=0))
    got = ask(client, stream=True)
    assert ("slow but fine", None, "c/primary") == (got.text, got.error, got.link)


def test_stream_inband_error_before_content_falls_back(client, standin):
    """An in-band error before any content: the secondary's text, and the header and every
    chunk's ``model`` name it (nothing of the primary's stream reached the client)."""
    standin.script(P, stream(inband_error={"code": 502, "message": "upstream died"}, error_after=0))
    got = ask(client, stream=True)
    assert (answer_of(S), None, "c/secondary") == (got.text, got.error, got.link)
    assert {S} == got.models
    assert [P, S] == standin.models_seen()


def test_stream_inband_error_after_content_is_an_error_event(client, standin):
    """An in-band error after content: the content, then the provider's error."""
    standin.script(P, stream(["hello ", "world"], inband_error={"code": 502, "message": "died"}))
    got = ask(client, stream=True)
    assert "hello " == got.text
    assert got.error is not None
    assert "died" in got.error
    assert "c/primary" == got.link
    assert [P] == standin.models_seen()


def test_streams_failing_before_content_on_two_links_reach_the_third(client, standin):
    """The primary's stream is cut before content and the secondary's carries an in-band error
    before content: the last link serves, and nothing of the first two reaches the client."""
    standin.script(P, stream(["hello "], cut_after=0))
    standin.script(S, stream(inband_error={"code": 502, "message": "died"}, error_after=0))
    got = ask(client, stream=True)
    assert (answer_of(T), None, "c/last") == (got.text, got.error, got.link)
    assert {T} == got.models
    assert [P, S, T] == standin.models_seen()


def test_stream_503_falls_back(client, standin):
    standin.script(P, error(503))
    got = ask(client, stream=True)
    assert (answer_of(S), None, "c/secondary") == (got.text, got.error, got.link)
    assert [P, S] == standin.models_seen()


def test_stream_429_with_retry_after_is_retried_once(client, standin):
    """429 with ``Retry-After: 1``: one retry of the primary, which then serves."""
    standin.script(P, error(429, retry_after=1))
    got = ask(client, stream=True)
    assert (answer_of(P), None, "c/primary") == (got.text, got.error, got.link)
    assert [P, P] == standin.models_seen()


def test_buffered_stream_cut_after_content_restarts_on_the_secondary(client, standin):
    """``stream_recovery: buffer`` (chain ``b``): the primary's words are held until its finish,
    so its cut is invisible and the secondary's answer is the only text."""
    standin.script(P, stream(["hello ", "world"], cut_after=1))
    got = ask(client, stream=True, chain="b")
    assert (answer_of(S), None, "b/secondary") == (got.text, got.error, got.link)
    assert [P, S] == standin.models_seen()


# -- non-stream -------------------------------------------------------------------------------


def test_cut_body_falls_back(client, standin):
    """A JSON body cut off mid-way: the secondary answers."""
    head = completion("hello world").events[0][1][:40]
    standin.script(P, Reply(events=((0.0, head),), abort="cut"))
    got = ask(client, stream=False)
    assert (answer_of(S), "c/secondary") == (got.text, got.link)
    assert [P, S] == standin.models_seen()


def test_keepalive_only_body_is_cut_at_timeout(client, standin):
    """Whitespace keep-alives past the primary's ``timeout: 4``: the secondary answers."""
    standin.script(P, keepalive_only(KEEPALIVE_SECONDS, whitespace=True))
    got = ask(client, stream=False)
    assert (answer_of(S), "c/secondary") == (got.text, got.link)
    assert got.seconds < KEEPALIVE_SECONDS
    assert [P, S] == standin.models_seen()


def test_error_body_with_200_falls_back(client, standin):
    """HTTP 200 carrying an ``error`` object (OpenRouter's in-band error): the secondary."""
    standin.script(P, error(200, "upstream died", code=502))
    got = ask(client, stream=False)
    assert (answer_of(S), "c/secondary") == (got.text, got.link)
    assert [P, S] == standin.models_seen()


def test_503_falls_back(client, standin):
    standin.script(P, error(503))
    got = ask(client, stream=False)
    assert (answer_of(S), "c/secondary") == (got.text, got.link)
    assert [P, S] == standin.models_seen()


def test_429_with_retry_after_is_retried_once(client, standin):
    standin.script(P, error(429, retry_after=1), error(429, retry_after=1))
    got = ask(client, stream=False)
    assert (answer_of(S), "c/secondary") == (got.text, got.link)
    assert [P, P, S] == standin.models_seen()
