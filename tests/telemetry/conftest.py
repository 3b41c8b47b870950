"""An in-memory OpenTelemetry SDK per test (spans and metrics), and the chains the tests run."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from langchain_openrouter_fallback import ChatOpenRouterFallback, FallbackChain, telemetry
from langchain_openrouter_fallback.emulator import Emulator
from tests.conftest import KEY

PRIMARY = "openai/gpt-4o-mini"
SECONDARY = "anthropic/claude-haiku-4.5"
THIRD = "google/gemini-2.5-flash"
P = "openrouter_fallback."


@dataclass
class Otel:
    """What the test's SDK saw."""

    spans: InMemorySpanExporter
    reader: InMemoryMetricReader

    def finished(self) -> list[ReadableSpan]:
        return list(self.spans.get_finished_spans())

    def request(self) -> ReadableSpan:
        """The one request span (no parent)."""
        (root,) = [s for s in self.finished() if s.parent is None]
        return root

    def attempts(self) -> list[ReadableSpan]:
        """The attempt spans under the request span, in the order they were recorded."""
        root = self.request()
        return [s for s in self.finished() if s.parent and s.parent.span_id == root.context.span_id]

    def points(self, name: str) -> list[tuple[dict[str, Any], Any]]:
        """``(attributes, value or count)`` of every data point of metric ``name``."""
        data = self.reader.get_metrics_data()
        found = []
        for resource in data.resource_metrics if data else ():
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    if metric.name == name:
                        for point in metric.data.data_points:
                            value = getattr(point, "value", None)
                            found.append((dict(point.attributes), getattr(point, "count", value)))
        return found


@contextmanager
def in_memory_sdk() -> Iterator[Otel]:
    """The OpenTelemetry SDK in memory, as the package's providers, until the block ends."""
    spans = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    try:
        with telemetry.use_providers(
            tracer_provider=tracer_provider, meter_provider=meter_provider
        ):
            yield Otel(spans, reader)
    finally:
        meter_provider.shutdown()
        tracer_provider.shutdown()


@pytest.fixture
def otel() -> Iterator[Otel]:
    """This test's tracer and meter providers, in memory."""
    with in_memory_sdk() as seen:
        yield seen


def chain(name: str, **policies: Any) -> FallbackChain:
    """Primary, secondary, third; roomy limits, no retries."""
    links = [
        {"model": PRIMARY, "label": "primary", "timeout": 20},
        {"model": SECONDARY, "label": "secondary", "timeout": 20},
        {"model": THIRD, "label": "third", "timeout": 20},
    ]
    return FallbackChain.model_validate(
        {"name": name, "models": links, "retry": {"max_retries": 0}, **policies}
    )


def model(emu: Emulator, the_chain: FallbackChain) -> ChatOpenRouterFallback:
    return ChatOpenRouterFallback(
        chain=the_chain, api_key=KEY, base_url=emu.base_url, private_breakers=True
    )
