"""OpenTelemetry spans and metrics for chain runs and attempts (loaded only when installed).

Names follow the GenAI semantic conventions (span ``chat {model}``, ``gen_ai.*`` attributes,
``gen_ai.client.*`` metrics); what they lack sits under :data:`PREFIX`. Attempt spans are
written when the attempt is recorded, from its record, with the time it really started.
"""

from __future__ import annotations

import json
import os
import threading
import time
import weakref
from asyncio import CancelledError
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from opentelemetry import metrics, trace
from opentelemetry.trace import ProxyTracerProvider, SpanKind, StatusCode

from langchain_openrouter_fallback import telemetry
from langchain_openrouter_fallback._decisions.clock import LIMIT_FIELDS
from langchain_openrouter_fallback._errors import (
    FallbacksExhaustedError,
    StreamInterruptedError,
    UnrecoverableError,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from types import TracebackType

    from opentelemetry.metrics import CallbackOptions, Observation
    from opentelemetry.trace import Span

    from langchain_openrouter_fallback._attempts import Attempt
    from langchain_openrouter_fallback._decisions.clock import AttemptFailure
    from langchain_openrouter_fallback._decisions.run import ChainRun, Try
    from langchain_openrouter_fallback._wire.attempt import AttemptReader

__all__ = ["PREFIX", "RunWatch", "record_attempt"]

PREFIX = "openrouter_fallback."
"""Our own attributes and metrics, for what the conventions lack."""
SCOPE = "langchain_openrouter_fallback"
PROVIDER = "openrouter"
CAPTURE_ENV = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
"""The conventions' opt-in for message content; anything but these values records none."""
_CAPTURE_ON = frozenset({"true", "span_only", "span_and_event"})
_DURATION_BUCKETS = (
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
)  # fmt: skip
_TOKEN_BUCKETS = tuple(4**i for i in range(14))
CIRCUIT_VALUES = {"closed": 0, "half_open": 1, "open": 2}
"""The circuit gauge's values."""


class _Instruments:
    """The tracer and the metric instruments of one pair of providers."""

    def __init__(self, tracer_provider: Any, meter_provider: Any) -> None:
        from langchain_openrouter_fallback import __version__  # noqa: PLC0415 - metadata read

        self.tracer = trace.get_tracer(SCOPE, __version__, tracer_provider=tracer_provider)
        meter = metrics.get_meter(SCOPE, __version__, meter_provider=meter_provider)
        self.duration = meter.create_histogram(
            "gen_ai.client.operation.duration", unit="s",
            description="GenAI operation duration, per attempt",
            explicit_bucket_boundaries_advisory=_DURATION_BUCKETS,
        )  # fmt: skip
        self.tokens = meter.create_histogram(
            "gen_ai.client.token.usage", unit="{token}",
            description="Input and output tokens used, per attempt",
            explicit_bucket_boundaries_advisory=_TOKEN_BUCKETS,
        )  # fmt: skip
        self.first_chunk = meter.create_histogram(
            "gen_ai.client.operation.time_to_first_chunk", unit="s",
            description="Time to the first output chunk of a streamed attempt",
            explicit_bucket_boundaries_advisory=_DURATION_BUCKETS,
        )  # fmt: skip
        self.attempts = meter.create_counter(
            PREFIX + "attempts", unit="{attempt}",
            description="Attempts, by chain, link, outcome and error kind",
        )  # fmt: skip
        self.unserved = meter.create_counter(
            PREFIX + "requests.unserved", unit="{request}",
            description="Requests no link served, by chain and reason",
        )  # fmt: skip
        meter.create_observable_gauge(
            PREFIX + "circuit.state", callbacks=[_observe_circuits], unit="1",
            description="Circuit state per upstream: 0 closed, 1 half-open, 2 open",
        )  # fmt: skip


_LOCK = threading.Lock()
_GLOBAL: list[_Instruments] = []
"""The instruments of the global providers, once made."""
_CHOSEN: list[tuple[Any, Any, _Instruments]] = []
"""The instruments of the providers :func:`telemetry.use_providers` named last."""
try:
    # The API's stand-in until an SDK sets a global meter provider (no public name for it).
    from opentelemetry.metrics._internal import (
        _ProxyMeterProvider as _NoMeterProvider,
    )
except ImportError:  # pragma: no cover - another API layout: always report
    _NoMeterProvider = ()  # type: ignore[assignment,misc]


def active() -> bool:
    """Whether a tracer or meter provider is configured (API only: nothing to report)."""
    tracer_provider, meter_provider = telemetry.providers()
    if tracer_provider is not None or meter_provider is not None:
        return True
    return not isinstance(trace.get_tracer_provider(), ProxyTracerProvider) or not isinstance(
        metrics.get_meter_provider(), _NoMeterProvider
    )


def _instruments() -> _Instruments:
    tracer_provider, meter_provider = telemetry.providers()
    with _LOCK:
        if tracer_provider is None and meter_provider is None:
            if not _GLOBAL:
                _GLOBAL.append(_Instruments(None, None))
            return _GLOBAL[0]
        # Only the latest pair is kept: a test's providers go when the next test names its own.
        if not _CHOSEN or _CHOSEN[0][:2] != (tracer_provider, meter_provider):
            made = _Instruments(tracer_provider, meter_provider)
            _CHOSEN[:] = [(tracer_provider, meter_provider, made)]
        return _CHOSEN[0][2]


# -- circuits -------------------------------------------------------------------------------

_CIRCUIT_SOURCES: dict[int, weakref.WeakMethod[Callable[..., Any]]] = {}


def watch_circuits(source: Callable[..., dict[str, dict[str, Any]]]) -> None:
    """Report the circuits ``source`` (a bound ``breaker_state``) lists while its owner lives."""
    owner = id(getattr(source, "__self__", source))
    if owner not in _CIRCUIT_SOURCES:
        _CIRCUIT_SOURCES[owner] = weakref.WeakMethod(source)


def _observe_circuits(_options: CallbackOptions) -> Iterable[Observation]:
    seen: dict[tuple[str, str], int] = {}
    for owner, ref in list(_CIRCUIT_SOURCES.items()):
        source = ref()
        if source is None:
            _CIRCUIT_SOURCES.pop(owner, None)
            continue
        for circuit in source(detail=True).values():
            seen[circuit["endpoint"], circuit["upstream"]] = CIRCUIT_VALUES[circuit["state"]]
    for (endpoint, upstream), value in seen.items():
        host, port = _server(endpoint)
        yield metrics.Observation(
            value,
            {"server.address": host, "server.port": port, PREFIX + "upstream": upstream},
        )


# -- attributes -----------------------------------------------------------------------------


@lru_cache(maxsize=64)
def _server(endpoint: str) -> tuple[str, int]:
    parts = urlsplit(endpoint)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return parts.hostname or "", port


def _skip_kind(reason: str | None) -> str:
    """A skip reason's kind, few enough to count by."""
    text = reason or ""
    for start, kind in _SKIP_KINDS:
        if text.startswith(start):
            return kind
    return "other"


_SKIP_KINDS = (
    ("circuit open", "circuit_open"),
    ("max_cost", "budget"),
    ("chain deadline", "deadline"),
    ("context", "context"),
    ("prompt", "context"),
    ("lacks", "capability"),
    ("no model in the group", "capability"),
    ("payment", "payment"),
    ("cannot continue", "prefill"),
)


def _usage(reader: AttemptReader | None) -> tuple[int | None, int | None]:
    usage = reader.usage if reader is not None else None
    if not usage:
        return None, None
    prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
    return (
        prompt if isinstance(prompt, int) else None,
        completion if isinstance(completion, int) else None,
    )


def _response_attributes(attributes: dict[str, Any], reader: AttemptReader | None) -> None:
    if reader is None:
        return
    meta = reader.meta
    if meta.get("model"):
        attributes["gen_ai.response.model"] = meta["model"]
    if meta.get("id"):
        attributes["gen_ai.response.id"] = meta["id"]
    if reader.finish_reason:
        attributes["gen_ai.response.finish_reasons"] = (reader.finish_reason,)
    prompt, completion = _usage(reader)
    if prompt is not None:
        attributes["gen_ai.usage.input_tokens"] = prompt
    if completion is not None:
        attributes["gen_ai.usage.output_tokens"] = completion


def _limit_attributes(attempt: Attempt, limit: str) -> dict[str, Any]:
    """The limit that fired: its name, its seconds, and ``learned``/``cold`` when ``auto``."""
    attributes: dict[str, Any] = {PREFIX + "limit": limit}
    name = LIMIT_FIELDS.get(limit, "")
    if name in attempt.limits:
        attributes[PREFIX + "limit_seconds"] = attempt.limits[name]
    if name in attempt.auto_limits:
        attributes[PREFIX + "limit_source"] = attempt.auto_limits[name]
    return attributes


def _attempt_attributes(
    attempt: Attempt, number: int, *, hedge: bool, failure: AttemptFailure | None
) -> dict[str, Any]:
    attributes: dict[str, Any] = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": PROVIDER,
        "gen_ai.request.model": attempt.model,
        PREFIX + "link": attempt.label,
        PREFIX + "attempt": number,
        PREFIX + "outcome": attempt.outcome,
        PREFIX + "retry": attempt.retry,
    }
    if attempt.error_kind:
        attributes["error.type"] = attempt.error_kind
        attributes[PREFIX + "error_kind"] = attempt.error_kind
    if attempt.status_code is not None:
        attributes["http.response.status_code"] = attempt.status_code
    if failure is not None and failure.limit:
        attributes.update(_limit_attributes(attempt, failure.limit))
    if attempt.recovered:
        attributes[PREFIX + "recovered"] = attempt.recovered
    if hedge:
        attributes[PREFIX + "hedge"] = True
    if attempt.cost is not None:
        attributes[PREFIX + "cost"] = attempt.cost
    if attempt.provider:
        attributes[PREFIX + "upstream_provider"] = attempt.provider
    if attempt.first_token_ms is not None:
        attributes["gen_ai.response.time_to_first_chunk"] = attempt.first_token_ms / 1000
    return attributes


def _capture() -> bool:
    return os.environ.get(CAPTURE_ENV, "").strip().lower() in _CAPTURE_ON


def _input_messages(body: dict[str, Any]) -> str:
    """The request's messages in the conventions' shape (role and text parts), as JSON."""
    out = []
    for message in body.get("messages") or ():
        content = message.get("content")
        parts = (
            [{"type": "text", "content": content}]
            if isinstance(content, str)
            else [{"type": "text", "content": p.get("text")} for p in content or () if "text" in p]
        )
        out.append({"role": message.get("role"), "parts": parts})
    return json.dumps(out, ensure_ascii=False)


# -- one attempt ----------------------------------------------------------------------------


class _Reporter:
    """Writes one attempt's span and metrics."""

    def __init__(self, instruments: _Instruments, server: str | None, chain: str | None) -> None:
        self.instruments = instruments
        self.common: dict[str, Any] = {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": PROVIDER,
        }
        if server:
            host, port = _server(server)
            self.common["server.address"] = host
            self.common["server.port"] = port
        self.chain = chain

    def attempt(
        self,
        attempt: Attempt,
        number: int,
        *,
        reader: AttemptReader | None,
        failure: AttemptFailure | None,
        hedge: bool = False,
        parent: Span | None = None,
        started: float | None = None,
        not_before: int = 0,
        streaming: bool,
    ) -> None:
        """Span and metrics of one attempt that was sent (skips are events, not spans).

        The span's parent is ``parent``, else the current span. It started at ``started``
        (``time.monotonic()``; else ``elapsed_ms`` ago), never before ``not_before`` (ns).
        """
        attributes = _attempt_attributes(attempt, number, hedge=hedge, failure=failure)
        attributes.update(self.common)
        _response_attributes(attributes, reader)
        if self.chain is not None:
            attributes[PREFIX + "chain"] = self.chain
        end = time.time_ns()
        took = time.monotonic() - started if started is not None else attempt.elapsed_ms / 1000
        context = trace.set_span_in_context(parent) if parent is not None else None
        span = self.instruments.tracer.start_span(
            f"chat {attempt.model}", context, SpanKind.CLIENT, attributes,
            start_time=max(end - int(took * 1e9), not_before),
        )  # fmt: skip
        if attempt.outcome == "error":
            span.set_status(StatusCode.ERROR, (attempt.error or "")[:200])
        span.end(end)
        self.metrics(attempt, reader, streaming=streaming)

    def metrics(self, attempt: Attempt, reader: AttemptReader | None, *, streaming: bool) -> None:
        """The per-attempt metrics."""
        instruments = self.instruments
        counted = {PREFIX + "link": attempt.label, PREFIX + "outcome": attempt.outcome}
        if self.chain is not None:
            counted[PREFIX + "chain"] = self.chain
        if attempt.error_kind:
            counted[PREFIX + "error_kind"] = attempt.error_kind
        if attempt.outcome == "skipped":
            counted[PREFIX + "skipped_reason"] = _skip_kind(attempt.error)
            instruments.attempts.add(1, counted)
            return
        instruments.attempts.add(1, counted)
        measured = {**self.common, "gen_ai.request.model": attempt.model}
        if attempt.served_model:
            measured["gen_ai.response.model"] = attempt.served_model
        if attempt.error_kind:
            measured["error.type"] = attempt.error_kind
        instruments.duration.record(attempt.elapsed_ms / 1000, measured)
        if streaming and attempt.first_token_ms is not None:
            instruments.first_chunk.record(attempt.first_token_ms / 1000, measured)
        prompt, completion = _usage(reader)
        if prompt is not None:
            instruments.tokens.record(prompt, {**measured, "gen_ai.token.type": "input"})
        if completion is not None:
            instruments.tokens.record(completion, {**measured, "gen_ai.token.type": "output"})


def record_attempt(
    attempt: Attempt,
    *,
    server: str | None,
    chain: str | None,
    reader: AttemptReader | None,
    failure: AttemptFailure | None,
    streaming: bool,
) -> None:
    """See :func:`langchain_openrouter_fallback.telemetry.record_attempt`."""
    reporter = _Reporter(_instruments(), server, chain)
    if attempt.outcome == "skipped":
        reporter.metrics(attempt, None, streaming=streaming)
    else:
        reporter.attempt(attempt, 1, reader=reader, failure=failure, streaming=streaming)


# -- one run --------------------------------------------------------------------------------


class RunWatch:
    """A chat-model request as a span; each attempt the run records as a child span."""

    def __init__(
        self,
        run: ChainRun[Any],
        circuits: Callable[..., dict[str, dict[str, Any]]] | None,
        *,
        streaming: bool,
    ) -> None:
        self.run = run
        self.streaming = streaming
        instruments = _instruments()
        self.reporter = _Reporter(instruments, run.endpoint, run.chain.name)
        if circuits is not None:
            watch_circuits(circuits)
        chain = run.chain
        self.model = chain.models[0].model
        attributes: dict[str, Any] = {
            **self.reporter.common,
            "gen_ai.request.model": self.model,
            PREFIX + "chain": chain.name,
            PREFIX + "mode": chain.mode,
            PREFIX + "stream": streaming,
        }
        body = run.steps[0].body if run.steps else {}
        for name in ("temperature", "max_tokens", "top_p"):
            if body.get(name) is not None:
                attributes[f"gen_ai.request.{name}"] = body[name]
        self.started = time.time_ns()
        self.span = instruments.tracer.start_span(
            f"chat {self.model}", kind=SpanKind.CLIENT, attributes=attributes,
            start_time=self.started,
        )  # fmt: skip
        self.recording = self.span.is_recording()
        if self.recording and _capture():
            self.span.set_attribute("gen_ai.input.messages", _input_messages(body))
        self.served: tuple[Attempt, AttemptReader | None] | None = None

    def __enter__(self) -> None:
        self.run.observer = self

    def recorded(
        self, attempt: Attempt, action: Try[Any] | None, failure: AttemptFailure | None
    ) -> None:
        """One attempt of the run: a child span (a skip: an event) and its metrics."""
        if attempt.outcome == "skipped":
            if self.recording:
                self.span.add_event(
                    PREFIX + "skipped",
                    {
                        PREFIX + "link": attempt.label,
                        "gen_ai.request.model": attempt.model,
                        PREFIX + "skipped_reason": _skip_kind(attempt.error),
                        PREFIX + "reason": attempt.error or "",
                    },
                )
            self.reporter.metrics(attempt, None, streaming=self.streaming)
            return
        reader = action.reader if action is not None else None
        if attempt.outcome == "ok":
            self.served = (attempt, reader)
        self.reporter.attempt(
            attempt, len(self.run.attempts), reader=reader, failure=failure,
            hedge=action is not None and action.hedge,
            parent=self.span if self.recording else None, not_before=self.started,
            started=action.progress.started if action is not None else None,
            streaming=self.streaming,
        )  # fmt: skip

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        self.run.observer = None
        reason = _unserved_reason(exc)
        if reason is not None:
            self.reporter.instruments.unserved.add(
                1, {PREFIX + "chain": self.run.chain.name, PREFIX + "reason": reason}
            )
        if self.recording:
            self._end(exc, reason)

    def _end(self, exc: BaseException | None, reason: str | None) -> None:
        span, run = self.span, self.run
        span.set_attribute(PREFIX + "attempts", len(run.attempts))
        if run.budget.spent is not None:
            span.set_attribute(PREFIX + "cost", run.budget.spent)
        if self.served is not None and exc is None:
            attempt, reader = self.served
            span.set_attribute(PREFIX + "served_by", attempt.label)
            span.set_attribute(PREFIX + "outcome", "served")
            attributes: dict[str, Any] = {}
            _response_attributes(attributes, reader)
            span.set_attributes(attributes)
        elif exc is not None:
            span.set_attribute(PREFIX + "outcome", reason or "cancelled")
            if reason is not None:
                span.set_attribute("error.type", type(exc).__name__)
                span.set_status(StatusCode.ERROR, str(exc).split("\n", 1)[0][:200])
        span.end()


def _unserved_reason(exc: BaseException | None) -> str | None:
    """Why no link served (counted), or ``None``: served, or the caller left."""
    if exc is None or isinstance(exc, GeneratorExit | CancelledError):
        return None
    if isinstance(exc, FallbacksExhaustedError):
        return "exhausted"
    if isinstance(exc, StreamInterruptedError):
        return "interrupted"
    if isinstance(exc, UnrecoverableError):
        return "unrecoverable"
    return "error"
