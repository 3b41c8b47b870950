"""Limits that learn: what each upstream's successful attempts took, and the limits that gives.

Per upstream (the circuit identity, ``health.circuit_key``) every attempt that served adds up
to three observations (:data:`Metric`, :func:`observed`): ``first_token``, the seconds to its
first output (text, tool call or reasoning; streams), ``stall``, its longest silence between
outputs (streams), and ``total``, the whole attempt. Each is kept as
a :class:`Histogram` with log-scale buckets, never as raw samples: 8 buckets per doubling
from 1 ms, so a bucket's upper edge overstates a time by at most 9%, and the counts are
halved whenever they pass :data:`MAX_WEIGHT`, so the summary stays small, leans to recent
behaviour, and processes can add into one shared copy (``_health_redis``).

An ``auto`` limit (:class:`~langchain_openrouter_fallback._definition.attempt_limits.AutoLimit`)
is then :func:`learned_limit`: the ``quantile`` of the histogram times ``factor``, clamped to
``[floor, ceiling]``, or ``cold`` until ``min_samples`` attempts served. Only successes
teach: an attempt cut by a limit says nothing about how long a healthy answer takes (a
learned limit too short for the upstream shows as timeouts, and ``ceiling`` bounds how
long a hanging upstream can hold a request).
"""

from __future__ import annotations

import math
import threading
import time
from typing import TYPE_CHECKING, Literal

from langchain_openrouter_fallback._definition.attempt_limits import LIMIT_NAMES

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from langchain_openrouter_fallback._decisions.clock import Progress
    from langchain_openrouter_fallback._definition.attempt_limits import (
        AttemptLimits,
        AutoLimit,
        LimitSource,
    )

__all__ = [
    "BUCKETS_PER_DOUBLING",
    "MAX_WEIGHT",
    "METRICS",
    "Histogram",
    "LatencyBook",
    "Learned",
    "Metric",
    "bucket_of",
    "bucket_upper",
    "learned_limit",
    "limits_now",
    "observed",
]

Metric = Literal["first_token", "stall", "total"]
METRICS: tuple[Metric, ...] = ("first_token", "stall", "total")
LIMIT_METRIC: dict[str, Metric] = {
    "timeout": "total", "first_token": "first_token", "stall": "stall",
}  # fmt: skip
"""Which observation teaches which limit (by the limit's short name). Each observation is
named as the attempt clock (``Progress``) names the limit it teaches."""
BUCKETS_PER_DOUBLING = 8
MAX_WEIGHT = 1000
"""Once a histogram holds more observations than this, every count is halved."""
Learned = Literal["learned", "cold"]
Key = tuple[str, str]


def bucket_of(seconds: float) -> int:
    """The bucket holding ``seconds`` (1 ms and less share bucket 0)."""
    return max(0, math.ceil(BUCKETS_PER_DOUBLING * math.log2(max(seconds * 1000, 1.0))))


def bucket_upper(bucket: int) -> float:
    """The upper edge of ``bucket``, in seconds."""
    return 2 ** (bucket / BUCKETS_PER_DOUBLING) / 1000


class Histogram:
    """Observations of one kind for one upstream: counts per log-scale bucket."""

    __slots__ = ("counts", "weight")

    def __init__(self, counts: Mapping[int, int] | None = None) -> None:
        """Start from ``counts`` (bucket -> observations), e.g. as read from Redis."""
        self.counts: dict[int, int] = dict(counts or {})
        self.weight = sum(self.counts.values())
        """Observations held (after any halving)."""

    def add(self, seconds: float) -> None:
        """Count one observation; halve every count once the weight passes MAX_WEIGHT."""
        index = bucket_of(seconds)
        self.counts[index] = self.counts.get(index, 0) + 1
        self.weight += 1
        if self.weight > MAX_WEIGHT:
            self.counts = {b: c // 2 for b, c in self.counts.items() if c // 2}
            self.weight = sum(self.counts.values())

    def quantile(self, q: float) -> float | None:
        """The upper edge of the bucket where ``q`` of the observations lie (``None``: empty)."""
        if not self.weight:
            return None
        rank = q * self.weight
        seen = 0
        for index in sorted(self.counts):
            seen += self.counts[index]
            if seen >= rank:
                return bucket_upper(index)
        return bucket_upper(max(self.counts))

    def copy(self) -> Histogram:
        """An independent copy."""
        return Histogram(self.counts)


def learned_limit(spec: AutoLimit, observed: Histogram | None) -> tuple[float, Learned, int]:
    """The value of a settled ``auto`` limit now: ``(seconds, learned or cold, samples)``."""
    samples = observed.weight if observed is not None else 0
    cold = spec.cold or 0.0
    if observed is None or samples < spec.min_samples:
        return cold, "cold", samples
    quantile = observed.quantile(spec.quantile or 0.99) or cold
    value = quantile * (spec.factor or 1.0)
    floor, ceiling = spec.floor or 0.0, spec.ceiling or math.inf
    return round(min(max(value, floor), ceiling), 3), "learned", samples


def limits_now(
    limits: AttemptLimits,
    latency: Mapping[Metric, Histogram],
    *,
    names: Iterable[str] = LIMIT_NAMES,
) -> dict[str, tuple[float, LimitSource, int | None]]:
    """Each limit's value now, where it came from, and (``auto``) the samples behind it.

    ``names`` are the short names (``timeout``, ``first_token``, ``stall``); a fixed limit
    keeps its value and source (``link``, ``chain``, ``model``, ``default``), an ``auto`` one
    is :func:`learned_limit` from ``latency`` (``learned`` or ``cold``).
    """
    now: dict[str, tuple[float, LimitSource, int | None]] = {}
    for name in names:
        spec = limits.auto.get(name)
        if spec is None:
            now[name] = (getattr(limits, name), limits.sources.get(name, "default"), None)
        else:
            now[name] = learned_limit(spec, latency.get(LIMIT_METRIC[name]))
    return now


def observed(progress: Progress, *, streaming: bool) -> dict[Metric, float]:
    """What an attempt that served took: its whole time; for streams, its first output too.

    A stream's longest gap between outputs counts when it had two outputs or more.
    """
    taken: dict[Metric, float] = {"total": time.monotonic() - progress.started}
    if streaming and progress.first_token_at is not None:
        taken["first_token"] = progress.first_token_at - progress.started
        if progress.longest_gap:
            taken["stall"] = progress.longest_gap
    return taken


class LatencyBook:
    """Histograms per upstream and metric, in this process (thread-safe)."""

    def __init__(self) -> None:
        """An empty book."""
        self._histograms: dict[Key, dict[Metric, Histogram]] = {}
        self._lock = threading.Lock()

    def observe(self, key: Key, observations: Mapping[Metric, float]) -> None:
        """Add one successful attempt's observations."""
        with self._lock:
            histograms = self._histograms.setdefault(key, {})
            for metric, seconds in observations.items():
                histogram = histograms.get(metric)
                if histogram is None:
                    histogram = histograms[metric] = Histogram()
                histogram.add(seconds)

    def latency(self, key: Key) -> dict[Metric, Histogram]:
        """A copy of the upstream's histograms (empty when nothing served yet)."""
        with self._lock:
            return {m: h.copy() for m, h in self._histograms.get(key, {}).items()}

    def reset(self) -> None:
        """Forget everything."""
        with self._lock:
            self._histograms.clear()
