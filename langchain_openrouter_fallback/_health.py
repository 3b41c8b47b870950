"""Circuit-breaker state per link, shared across requests (closed -> open -> half-open).

A link opens after ``BreakerPolicy.failures`` consecutive health failures, stays open for
``cooldown`` seconds (or the upstream's ``Retry-After`` when that is longer), then lets one
probe through. Request-specific failures (context length, content policy, bad requests) say
nothing about the link's health and are not counted.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from langchain_openrouter_fallback._errors import ErrorKind

if TYPE_CHECKING:
    from collections.abc import Callable

    from langchain_openrouter_fallback._chain import BreakerPolicy

__all__ = ["BreakerState", "HealthRegistry", "default_registry"]

BreakerState = Literal["closed", "open", "half_open"]

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


@dataclass(slots=True)
class _Circuit:
    failures: int = 0
    open_until: float = 0.0
    probing: bool = False


class HealthRegistry:
    """In-process breaker state keyed by ``(chain, label)``; thread-safe."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        """Start with every circuit closed."""
        self._clock = clock
        self._lock = threading.Lock()
        self._circuits: dict[tuple[str, str], _Circuit] = {}

    def state(self, key: tuple[str, str]) -> BreakerState:
        """The circuit's state now."""
        with self._lock:
            circuit = self._circuits.get(key)
            if circuit is None or circuit.open_until == 0.0:
                return "closed"
            return "open" if self._clock() < circuit.open_until else "half_open"

    def allow(self, key: tuple[str, str], policy: BreakerPolicy) -> bool:
        """Whether a request may try this link now (claims the half-open probe if so)."""
        if not policy.enabled:
            return True
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

    def record_success(self, key: tuple[str, str]) -> None:
        """The link served: close its circuit."""
        with self._lock:
            self._circuits.pop(key, None)

    def record_failure(
        self,
        key: tuple[str, str],
        policy: BreakerPolicy,
        kind: ErrorKind,
        retry_after: float | None = None,
    ) -> BreakerState:
        """Count a failure; returns the state it leaves the circuit in."""
        if not policy.enabled or kind not in HEALTH_KINDS:
            return self.state(key)
        with self._lock:
            circuit = self._circuits.setdefault(key, _Circuit())
            circuit.failures += 1
            if circuit.probing or circuit.failures >= policy.failures:
                circuit.open_until = self._clock() + max(policy.cooldown, retry_after or 0.0)
                circuit.probing = False
                return "open"
            return "closed"

    def reset(self) -> None:
        """Forget all state (tests, or after a deploy)."""
        with self._lock:
            self._circuits.clear()


_DEFAULT = HealthRegistry()


def default_registry() -> HealthRegistry:
    """The process-wide registry chat models share unless given their own."""
    return _DEFAULT
