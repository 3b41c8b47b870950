"""Circuit-breaker state per upstream, shared across requests (closed -> open -> half-open).

A circuit belongs to the upstream it protects (:func:`circuit_key`): the endpoint (``base_url``)
plus the model id(s) a request names, plus the ``provider`` preferences when set, since they
pick other providers. Never a chain name or a link label: two chat models that share no upstream
share no state, and two chains that call the same model at the same endpoint share its circuit.

A link opens after ``BreakerPolicy.failures`` consecutive health failures, or when ``rate`` of
the attempts in a ``window`` failed (at least ``min_calls`` of them). It stays open for
``cooldown`` seconds (or the upstream's ``Retry-After`` when that is longer), then lets one
probe through: success closes it, failure opens it again. Request-specific failures (context
length, content policy, bad requests) say nothing about the link's health and are not counted.

The registry also keeps what each upstream's successful attempts took (``_learned``), the
observations ``auto`` limits learn from, under the same identity and in the same place (Redis
with ``shared_state``), and each chain's hedge budget (``_hedge_budget``, this process only).

Where the circuits live::

    HealthRegistry          policy and error-kind checks; falls back to local state
      └── HealthBackend     protocol: allow / record_success / record_failure / circuit
            ├── MemoryBackend   this process (the default)
            └── RedisBackend    every process sharing ``shared_state: redis://...``
                                (``_health_redis``; redis is imported only when used)
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol, TypeVar, runtime_checkable

from langchain_openrouter_fallback._decisions.hedge_budget import HedgeBudgets
from langchain_openrouter_fallback._decisions.learned import LatencyBook
from langchain_openrouter_fallback._errors import ErrorKind
from langchain_openrouter_fallback._log import logger

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, Sequence

    from langchain_openrouter_fallback._decisions.learned import Histogram, Metric
    from langchain_openrouter_fallback._definition.chain import BreakerPolicy, Link

__all__ = [
    "BackendUnavailableError",
    "BreakerState",
    "Circuit",
    "HealthBackend",
    "HealthRegistry",
    "LatencyBackend",
    "MemoryBackend",
    "circuit_key",
    "default_registry",
    "shared_registry",
]


BreakerState = Literal["closed", "open", "half_open"]
Key = tuple[str, str]
"""``(endpoint, upstream)``: see :func:`circuit_key`."""
_T = TypeVar("_T")

BACKEND_RETRY = 5.0
"""Seconds to use local state after a shared backend failed, before trying it again."""
LATENCY_REFRESH = 1.0
"""Seconds a shared upstream's latency summary is reused before it is read again."""

HEALTH_KINDS = frozenset(
    {
        ErrorKind.SERVER,
        ErrorKind.TIMEOUT,
        ErrorKind.NETWORK,
        ErrorKind.MALFORMED,
        ErrorKind.RATE_LIMIT,
        ErrorKind.INVALID_MODEL,
        ErrorKind.INTERRUPTED,
    }
)


def circuit_key(endpoint: str, links: Sequence[Link]) -> Key:
    """The circuit of the upstream these links (one request) reach at ``endpoint``.

    ``upstream`` is the model id (server mode: the ids sent together, comma-separated), plus
    `` provider=<canonical JSON>`` when the link sets provider preferences.
    """
    upstream = ",".join(link.model for link in links)
    provider = links[0].provider
    if provider is not None:
        upstream += " provider=" + json.dumps(
            provider.to_payload(), sort_keys=True, separators=(",", ":")
        )
    return (endpoint.rstrip("/"), upstream)


@runtime_checkable
class LatencyBackend(Protocol):
    """A shared backend that also keeps what each upstream took (``auto`` limits)."""

    def observe(self, key: Key, observations: Mapping[Metric, float]) -> None:
        """Add one successful attempt's observations."""
        ...

    def latency(self, key: Key) -> dict[Metric, Histogram]:
        """The upstream's histograms."""
        ...


class BackendUnavailableError(Exception):
    """A shared backend could not be reached; the registry falls back to local state."""


@dataclass(frozen=True, slots=True)
class Circuit:
    """A read-only view of one circuit (for ``breaker_state`` and drill tables)."""

    state: BreakerState = "closed"
    failures: int = 0
    """Consecutive health failures counted so far."""
    open_for: float = 0.0
    """Seconds until the half-open probe is allowed (0 unless open)."""


class HealthBackend(Protocol):
    """Where circuits live; every method is one atomic step on one circuit."""

    def allow(self, key: Key, policy: BreakerPolicy) -> bool:
        """Whether a request may try the link now (claims the half-open probe if so)."""
        ...

    def record_success(self, key: Key, policy: BreakerPolicy) -> None:
        """The link served."""
        ...

    def record_failure(self, key: Key, policy: BreakerPolicy, retry_after: float) -> BreakerState:
        """Count a health failure; returns the state it leaves the circuit in."""
        ...

    def circuit(self, key: Key) -> Circuit:
        """The circuit now."""
        ...

    def reset(self) -> None:
        """Forget every circuit."""
        ...

    def forget(self, keys: Iterable[Key]) -> None:
        """Forget these circuits (they start closed again)."""
        ...


@dataclass(slots=True)
class _Circuit:
    failures: int = 0
    open_until: float = 0.0
    """0: closed; otherwise open until then, half-open after."""
    probing: bool = False
    window_start: float = 0.0
    calls: int = 0
    failed: int = 0

    def state(self, now: float) -> BreakerState:
        if self.open_until == 0.0:
            return "closed"
        return "open" if now < self.open_until else "half_open"

    def count(self, policy: BreakerPolicy, now: float, *, failed: bool) -> None:
        if now - self.window_start >= policy.window:
            self.window_start, self.calls, self.failed = now, 0, 0
        self.calls += 1
        self.failed += failed

    def trips(self, policy: BreakerPolicy) -> bool:
        if self.probing or self.failures >= policy.failures:
            return True
        rate = policy.rate
        return (
            rate is not None and self.calls >= policy.min_calls and self.failed >= rate * self.calls
        )


class MemoryBackend:
    """Circuits in this process; thread-safe. The Lua script in ``_health_redis`` mirrors it."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        """Start with every circuit closed."""
        self._clock = clock
        self._lock = threading.Lock()
        self._circuits: dict[Key, _Circuit] = {}

    def allow(self, key: Key, policy: BreakerPolicy) -> bool:
        """Closed: yes. Open: no. Half-open: yes for one probe per cooldown."""
        with self._lock:
            circuit = self._circuits.get(key)
            if circuit is None or circuit.open_until == 0.0:
                return True
            now = self._clock()
            if now < circuit.open_until:
                return False
            if circuit.probing and now < circuit.open_until + policy.cooldown:
                return False  # one probe at a time; a lost probe is retried after a cooldown
            circuit.probing = True
            circuit.open_until = now
            return True

    def record_success(self, key: Key, policy: BreakerPolicy) -> None:
        """Close the circuit; with a ``rate`` policy, count the call in the window."""
        with self._lock:
            circuit = self._circuits.get(key)
            if policy.rate is None or (circuit is not None and circuit.open_until):
                self._circuits.pop(key, None)  # closed, with nothing left to remember
                return
            now = self._clock()
            if circuit is None:
                circuit = self._circuits[key] = _Circuit(window_start=now)
            circuit.failures = 0
            circuit.count(policy, now, failed=False)

    def record_failure(self, key: Key, policy: BreakerPolicy, retry_after: float) -> BreakerState:
        """Count the failure; open (again) when a limit is reached or the probe failed."""
        with self._lock:
            now = self._clock()
            circuit = self._circuits.get(key)
            if circuit is None:
                circuit = self._circuits[key] = _Circuit(window_start=now)
            circuit.failures += 1
            circuit.count(policy, now, failed=True)
            if circuit.trips(policy):
                circuit.open_until = now + max(policy.cooldown, retry_after)
                circuit.probing = False
                circuit.window_start, circuit.calls, circuit.failed = now, 0, 0
            return circuit.state(now)

    def circuit(self, key: Key) -> Circuit:
        """A snapshot of the circuit."""
        with self._lock:
            circuit = self._circuits.get(key)
            if circuit is None:
                return Circuit()
            now = self._clock()
            state = circuit.state(now)
            open_for = circuit.open_until - now if state == "open" else 0.0
            return Circuit(state, circuit.failures, open_for)

    def reset(self) -> None:
        """Forget every circuit."""
        with self._lock:
            self._circuits.clear()

    def forget(self, keys: Iterable[Key]) -> None:
        """Forget these circuits."""
        with self._lock:
            for key in keys:
                self._circuits.pop(key, None)


class HealthRegistry:
    """Breaker state keyed by upstream (:func:`circuit_key`), kept in a :class:`HealthBackend`.

    A shared backend that cannot be reached never fails a request: the registry logs once
    and uses its in-process state until the backend answers again (tried every few seconds).
    """

    def __init__(
        self,
        backend: HealthBackend | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Keep circuits in ``backend`` (default: this process only)."""
        self._local = MemoryBackend(clock)
        self.backend: HealthBackend = backend or self._local
        self._lock = threading.Lock()
        self._down_until = 0.0
        self._down = False
        self._latency = LatencyBook()
        self._shared_latency = backend if isinstance(backend, LatencyBackend) else None
        self._latency_cache: dict[Key, tuple[float, dict[Metric, Histogram]]] = {}
        self.hedges = HedgeBudgets()
        """The hedge budgets of the chains using this registry (``hedge.budget``)."""

    def _call(self, operation: Callable[[HealthBackend], _T]) -> _T:
        return self._shared(lambda: operation(self.backend), lambda: operation(self._local))

    def _shared(self, shared: Callable[[], _T], local: Callable[[], _T]) -> _T:
        """``shared()`` on the shared backend; ``local()`` without one, or while it is down."""
        if self.backend is self._local or time.monotonic() < self._down_until:
            return local()
        try:
            result = shared()
        except BackendUnavailableError as exc:
            with self._lock:
                self._down_until = time.monotonic() + BACKEND_RETRY
                first, self._down = not self._down, True
            if first:
                logger.warning("shared breaker state unavailable (%s); using local state", exc)
            return local()
        if self._down:
            with self._lock:
                self._down = False
            logger.info("shared breaker state reachable again")
        return result

    # -- what the upstreams took (``auto`` limits) -----------------------------------------

    def observe(self, key: Key, observations: Mapping[Metric, float]) -> None:
        """An attempt of this upstream served: add what it took (here, and shared if set)."""
        self._latency.observe(key, observations)
        shared = self._shared_latency
        if shared is not None:
            self._shared(lambda: shared.observe(key, observations), lambda: None)

    def latency(self, key: Key) -> dict[Metric, Histogram]:
        """What this upstream's successful attempts took, by metric.

        With a shared backend, its summary (every process's attempts), read at most once per
        :data:`LATENCY_REFRESH` seconds per upstream; this process's own while it is down.
        """
        shared = self._shared_latency
        if shared is None:
            return self._latency.latency(key)
        now = time.monotonic()
        cached = self._latency_cache.get(key)
        if cached is not None and cached[0] > now:
            return cached[1]

        def read() -> dict[Metric, Histogram]:
            histograms = shared.latency(key)
            self._latency_cache[key] = (now + LATENCY_REFRESH, histograms)
            return histograms

        # Only what the shared backend said is kept: local state is read afresh each time.
        return self._shared(read, lambda: self._latency.latency(key))

    def state(self, key: Key) -> BreakerState:
        """The circuit's state now."""
        return self.circuit(key).state

    def circuit(self, key: Key) -> Circuit:
        """The circuit now: state, consecutive failures, seconds left open."""
        return self._call(lambda backend: backend.circuit(key))

    def allow(self, key: Key, policy: BreakerPolicy) -> bool:
        """Whether a request may try this link now (claims the half-open probe if so)."""
        if not policy.enabled:
            return True
        return self._call(lambda backend: backend.allow(key, policy))

    def record_success(self, key: Key, policy: BreakerPolicy | None = None) -> None:
        """The link served: close its circuit."""
        if policy is None:  # imported only then: this runs once per served request
            from langchain_openrouter_fallback._definition.chain import BreakerPolicy  # noqa: PLC0415 - cycle

            policy = BreakerPolicy()
        if policy.enabled:
            self._call(lambda backend: backend.record_success(key, policy))

    def record_failure(
        self,
        key: Key,
        policy: BreakerPolicy,
        kind: ErrorKind,
        retry_after: float | None = None,
    ) -> BreakerState:
        """Count a failure; returns the state it leaves the circuit in."""
        if not policy.enabled or kind not in HEALTH_KINDS:
            return self.state(key)
        wait = retry_after or 0.0
        return self._call(lambda backend: backend.record_failure(key, policy, wait))

    def reset(self) -> None:
        """Forget all state (tests, or after a deploy): circuits, latencies, hedge budgets."""
        self._local.reset()
        self._latency.reset()
        self._latency_cache.clear()
        self.hedges.reset()
        if self.backend is not self._local:
            self._call(lambda backend: backend.reset())

    def forget(self, keys: Iterable[Key]) -> None:
        """Forget these circuits, here and in the shared backend (what they took stays)."""
        keys = list(keys)
        self._local.forget(keys)
        if self.backend is not self._local:
            self._call(lambda backend: backend.forget(keys))


_DEFAULT = HealthRegistry()
_SHARED: dict[str, HealthRegistry] = {}
_SHARED_LOCK = threading.Lock()


def default_registry() -> HealthRegistry:
    """The process-wide registry chat models share unless given their own."""
    return _DEFAULT


def shared_registry(url: str) -> HealthRegistry:
    """The registry backed by the Redis at ``url`` (one client per URL, created on first use).

    Without the ``redis`` package this logs a warning and returns a process-local registry.
    """
    with _SHARED_LOCK:
        registry = _SHARED.get(url)
        if registry is None:
            # Optional extra: imported only when a chain asks for shared state.
            from langchain_openrouter_fallback._decisions.health_redis import RedisBackend  # noqa: PLC0415

            try:
                registry = HealthRegistry(RedisBackend(url))
            except ImportError:
                logger.warning("shared_state needs the redis package; using local state")
                registry = HealthRegistry()
            _SHARED[url] = registry
        return registry
