"""Optional OpenTelemetry: a span per request, a child span per attempt, ``gen_ai`` metrics.

With ``opentelemetry-api`` installed (the ``otel`` extra) every chat-model request is reported
to the tracer and meter providers the application configured; without it nothing of
OpenTelemetry is imported and every function here does nothing. Names, units and attributes:
``docs/observability.md``. The OpenTelemetry code lives in ``_face.otel`` and loads on the first
request, never on ``import``.

Public seam (other runtimes use it; the LiteLLM proxy guard does):

- :func:`use_providers`: report to these providers instead of the global ones.
- :func:`record_attempt`: one attempt made outside a chat model, as a span under the current
  one plus the same metrics.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import contextlib
import threading
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from types import ModuleType

    from langchain_openrouter_fallback._attempts import Attempt
    from langchain_openrouter_fallback._decisions.clock import AttemptFailure
    from langchain_openrouter_fallback._decisions.run import ChainRun, Try
    from langchain_openrouter_fallback._wire.attempt import AttemptReader

__all__ = ["RunObserver", "active", "enabled", "record_attempt", "use_providers"]


class RunObserver(Protocol):
    """Told of each attempt a run records (``ChainRun``)."""

    def recorded(
        self, attempt: Attempt, action: Try[Any] | None, failure: AttemptFailure | None
    ) -> None:
        """``attempt`` was just recorded; ``action`` is its try (``None``: skipped)."""


class _Config:
    """Process-wide telemetry settings, guarded by one lock."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.tracer_provider: Any = None
        self.meter_provider: Any = None
        self.module: ModuleType | None = None
        self.loaded = False


_CONFIG = _Config()


def _otel() -> ModuleType | None:
    """The OpenTelemetry reporter, or ``None`` without ``opentelemetry-api`` (asked once)."""
    if _CONFIG.loaded:
        return _CONFIG.module
    try:
        # Optional extra: imported on the first request, never at package import.
        from langchain_openrouter_fallback._face import otel  # noqa: PLC0415
    except ImportError:
        otel = None  # type: ignore[assignment]
    _CONFIG.module, _CONFIG.loaded = otel, True
    return otel


def enabled() -> bool:
    """Whether ``opentelemetry-api`` is installed, so requests can be reported."""
    return _otel() is not None


def active() -> bool:
    """Whether requests are reported now: the API is installed and a provider is configured.

    With the API alone (no SDK set globally, no :func:`use_providers`) nothing is built.
    """
    otel = _otel()
    return otel is not None and bool(otel.active())


def providers() -> tuple[Any, Any]:
    """The tracer and meter providers set by :func:`use_providers` (``None``: global)."""
    return _CONFIG.tracer_provider, _CONFIG.meter_provider


@contextlib.contextmanager
def use_providers(*, tracer_provider: Any = None, meter_provider: Any = None) -> Iterator[None]:
    """Report to these providers instead of the global ones, until the block ends.

    ``None`` means the global provider (``opentelemetry.trace.set_tracer_provider``,
    ``opentelemetry.metrics.set_meter_provider``). Tests use it with an in-memory exporter.

    Args:
        tracer_provider: an ``opentelemetry.trace.TracerProvider``.
        meter_provider: an ``opentelemetry.metrics.MeterProvider``.
    """
    with _CONFIG.lock:
        saved = _CONFIG.tracer_provider, _CONFIG.meter_provider
        _CONFIG.tracer_provider, _CONFIG.meter_provider = tracer_provider, meter_provider
    try:
        yield
    finally:
        with _CONFIG.lock:
            _CONFIG.tracer_provider, _CONFIG.meter_provider = saved


_NOTHING: contextlib.nullcontext[None] = contextlib.nullcontext()


def watch(
    run: ChainRun[Any],
    *,
    circuits: Callable[..., dict[str, dict[str, Any]]] | None = None,
    streaming: bool = False,
) -> contextlib.AbstractContextManager[None]:
    """Report ``run`` while the block runs: its span ends with the block (how it ended).

    ``circuits`` (``breaker_state(detail=True)`` of the chat model) feeds the circuit gauge.
    Without ``opentelemetry-api``, or with it but no provider configured, this is a shared
    no-op context.
    """
    otel = _otel()
    if otel is None or not otel.active():
        return _NOTHING
    return otel.RunWatch(run, circuits, streaming=streaming)  # type: ignore[no-any-return]


def record_attempt(
    attempt: Attempt,
    *,
    server: str | None = None,
    chain: str | None = None,
    reader: AttemptReader | None = None,
    failure: AttemptFailure | None = None,
    streaming: bool = False,
) -> None:
    """Report one attempt made outside a chat model: a span under the current one, and metrics.

    The span starts ``attempt.elapsed_ms`` before now. Does nothing without
    ``opentelemetry-api``.

    Args:
        attempt: the attempt's record (``label``, ``model``, ``outcome``, ``error_kind``...).
        server: the endpoint's base URL (``server.address`` / ``server.port``).
        chain: the chain (or LiteLLM model group) the attempt belongs to.
        reader: what the response said (response id, finish reason, usage), if it was read.
        failure: why the attempt failed (the limit that fired), if it did.
        streaming: the attempt was a stream (time to first chunk is reported).
    """
    otel = _otel()
    if otel is not None and otel.active():
        otel.record_attempt(
            attempt, server=server, chain=chain, reader=reader, failure=failure,
            streaming=streaming,
        )  # fmt: skip
