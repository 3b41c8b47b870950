"""OpenTelemetry: the span tree, names, attributes and metrics of failovers, as a backend sees them."""

from __future__ import annotations

import pytest
from opentelemetry.trace import SpanKind, StatusCode

from langchain_openrouter_fallback import FallbacksExhaustedError, telemetry
from tests.telemetry.conftest import PRIMARY, SECONDARY, THIRD, P, chain, model

FAILOVER = {"faults": [{"model": PRIMARY, "error": 503}]}
ALL_DOWN = {"faults": [{"model": m, "error": 503} for m in (PRIMARY, SECONDARY, THIRD)]}


def test_failover_is_a_request_span_with_one_child_per_attempt(emu, otel):
    """Primary 503, secondary serves: `chat {model}` spans, GenAI attributes, ours under a prefix."""
    emu.set_scenario(FAILOVER)
    message = model(emu, chain("otel-failover")).invoke("hi")
    request = otel.request()
    failed, served = otel.attempts()
    assert ("chat openai/gpt-4o-mini", SpanKind.CLIENT) == (request.name, request.kind)
    assert {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openrouter",
        "gen_ai.request.model": PRIMARY,
        "gen_ai.response.model": message.response_metadata["model_name"],
        "gen_ai.response.id": message.response_metadata["id"],
        "gen_ai.response.finish_reasons": ("stop",),
        "server.address": "127.0.0.1",
        P + "chain": "otel-failover",
        P + "served_by": "secondary",
        P + "outcome": "served",
        P + "attempts": 2,
    }.items() <= dict(request.attributes).items()
    assert (
        message.usage_metadata["output_tokens"] == request.attributes["gen_ai.usage.output_tokens"]
    )
    assert StatusCode.UNSET == request.status.status_code
    assert ("chat openai/gpt-4o-mini", StatusCode.ERROR) == (failed.name, failed.status.status_code)
    assert {
        "gen_ai.request.model": PRIMARY,
        "error.type": "server",
        "http.response.status_code": 503,
        P + "link": "primary",
        P + "attempt": 1,
        P + "outcome": "error",
        P + "error_kind": "server",
        P + "retry": 0,
    }.items() <= dict(failed.attributes).items()
    assert "chat anthropic/claude-haiku-4.5" == served.name
    assert {P + "link": "secondary", P + "attempt": 2, P + "outcome": "ok"}.items() <= dict(
        served.attributes
    ).items()
    assert "error.type" not in served.attributes
    # The attempts sit inside the request, one after the other.
    assert request.start_time <= failed.start_time <= failed.end_time <= served.start_time
    assert served.end_time <= request.end_time


def test_failover_metrics_count_attempts_by_link_outcome_and_kind(emu, otel):
    """Attempt counter, operation duration and token usage per attempt; nothing unserved."""
    emu.set_scenario(FAILOVER)
    model(emu, chain("otel-metrics")).invoke("hi")
    counted = {
        (a[P + "link"], a[P + "outcome"], a.get(P + "error_kind")): n
        for a, n in otel.points(P + "attempts")
    }
    assert {("primary", "error", "server"): 1, ("secondary", "ok", None): 1} == counted
    durations = {
        (a["gen_ai.request.model"], a.get("error.type")): n
        for a, n in otel.points("gen_ai.client.operation.duration")
    }
    assert {(PRIMARY, "server"): 1, (SECONDARY, None): 1} == durations
    tokens = {a["gen_ai.token.type"] for a, _ in otel.points("gen_ai.client.token.usage")}
    assert {"input", "output"} == tokens
    assert [] == otel.points(P + "requests.unserved")
    assert [] == otel.points("gen_ai.client.operation.time_to_first_chunk")  # not a stream


def test_stream_reports_time_to_first_chunk(emu, otel):
    """A streamed attempt that produced output records the time to its first chunk."""
    text = "".join(str(c.content) for c in model(emu, chain("otel-ttfc")).stream("hi"))
    assert text
    ((attributes, count),) = otel.points("gen_ai.client.operation.time_to_first_chunk")
    assert (PRIMARY, 1) == (attributes["gen_ai.request.model"], count)
    (served,) = otel.attempts()
    assert served.attributes["gen_ai.response.time_to_first_chunk"] >= 0
    assert otel.request().attributes[P + "stream"] is True


def test_hedge_is_marked_and_the_loser_is_cancelled(emu, otel):
    """A keep-alive-only primary loses the hedge: its span says cancelled, the winner's hedge."""
    emu.set_scenario({"faults": [{"model": PRIMARY, "slow_first_token": "forever"}]})
    hedged = chain("otel-hedge", hedge={"after": 0.2}, breaker={"enabled": False})
    list(model(emu, hedged).stream("hi"))
    by_link = {s.attributes[P + "link"]: s for s in otel.attempts()}
    assert {"primary", "secondary"} == set(by_link)
    loser, winner = by_link["primary"], by_link["secondary"]
    assert ("cancelled", StatusCode.UNSET) == (
        loser.attributes[P + "outcome"],
        loser.status.status_code,
    )
    assert P + "hedge" not in loser.attributes
    assert ("ok", True) == (winner.attributes[P + "outcome"], winner.attributes[P + "hedge"])
    assert "secondary" == otel.request().attributes[P + "served_by"]


def test_skipped_link_is_an_event_on_the_request_span(emu, otel):
    """An open circuit skips the primary: an event names link and reason; a gauge says open."""
    emu.set_scenario(FAILOVER)
    llm = model(emu, chain("otel-skip", breaker={"failures": 1, "cooldown": 30}))
    llm.invoke("hi")  # the primary fails once: its circuit opens
    otel.spans.clear()
    llm.invoke("hi")
    request = otel.request()
    (event,) = request.events
    assert "openrouter_fallback.skipped" == event.name
    assert {
        P + "link": "primary",
        "gen_ai.request.model": PRIMARY,
        P + "skipped_reason": "circuit_open",
        P + "reason": "circuit open",
    } == dict(event.attributes)
    assert ["secondary"] == [s.attributes[P + "link"] for s in otel.attempts()]
    skipped = [a for a, _ in otel.points(P + "attempts") if a[P + "outcome"] == "skipped"]
    assert [("primary", "circuit_open")] == [
        (a[P + "link"], a[P + "skipped_reason"]) for a in skipped
    ]
    states = {a[P + "upstream"]: v for a, v in otel.points(P + "circuit.state")}
    assert {PRIMARY: 2, SECONDARY: 0, THIRD: 0} == states


def test_exhausted_chain_fails_the_request_span_and_counts_it(emu, otel):
    """Every link 503: the request span is an error of FallbacksExhaustedError; one unserved."""
    emu.set_scenario(ALL_DOWN)
    with pytest.raises(FallbacksExhaustedError):
        model(emu, chain("otel-exhausted")).invoke("hi")
    request = otel.request()
    assert StatusCode.ERROR == request.status.status_code
    assert {
        "error.type": "FallbacksExhaustedError",
        P + "outcome": "exhausted",
        P + "attempts": 3,
    }.items() <= dict(request.attributes).items()
    assert ["primary", "secondary", "third"] == [s.attributes[P + "link"] for s in otel.attempts()]
    assert all(s.status.status_code == StatusCode.ERROR for s in otel.attempts())
    assert [({P + "chain": "otel-exhausted", P + "reason": "exhausted"}, 1)] == otel.points(
        P + "requests.unserved"
    )


async def test_abandoned_stream_ends_its_span_as_cancelled(emu, otel):
    """A consumer that stops reading ends the request span, cancelled, not an error."""
    stream = model(emu, chain("otel-abandon")).astream("hi")
    async for _ in stream:
        break
    await stream.aclose()
    request = otel.request()
    assert ("cancelled", StatusCode.UNSET) == (
        request.attributes[P + "outcome"],
        request.status.status_code,
    )
    assert [] == otel.points(P + "requests.unserved")


def test_message_content_is_recorded_only_when_opted_in(emu, otel, monkeypatch):
    """No prompt text on any span by default; the conventions' variable opts in."""
    llm = model(emu, chain("otel-content"))
    llm.invoke("a secret prompt")
    assert not any("a secret prompt" in str(dict(s.attributes)) for s in otel.finished())
    otel.spans.clear()
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true")
    llm.invoke("a secret prompt")
    assert (
        '[{"role": "user", "parts": [{"type": "text", "content": "a secret prompt"}]}]'
        == (otel.request().attributes["gen_ai.input.messages"])
    )


def test_without_an_sdk_nothing_is_recorded_and_requests_still_serve(emu):
    """API only (no SDK configured): spans are non-recording; the answer is unchanged."""
    assert (True, False) == (telemetry.enabled(), telemetry.active())
    message = model(emu, chain("otel-api-only")).invoke("hi")
    assert "primary" == message.response_metadata["fallback"]["served_by"]


def test_a_timeout_span_names_the_limit_its_seconds_and_whether_it_was_learned(emu, otel):
    """An ``auto`` first-token limit still cold fires: the span says which, how long, ``cold``."""
    emu.set_scenario({"faults": [{"model": PRIMARY, "slow_first_token": "forever"}]})
    cold = chain(
        "otel-auto", first_token_timeout={"auto": {"cold": 0.3}}, breaker={"enabled": False}
    )
    list(model(emu, cold).stream("hi"))
    failed = otel.attempts()[0]
    assert {
        P + "link": "primary",
        P + "error_kind": "timeout",
        P + "limit": "first_token",
        P + "limit_seconds": 0.3,
        P + "limit_source": "cold",
    }.items() <= dict(failed.attributes).items()
