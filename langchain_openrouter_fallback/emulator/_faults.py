"""Fault selection at run time: attempt counters, seeded chance and the flap clock.

A :class:`FaultPlan` is built from a :class:`Scenario` when it is installed (or reset) and
owns all mutable per-scenario state, so swapping scenarios resets everything atomically.
"""

from __future__ import annotations

import random
import threading
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from langchain_openrouter_fallback.emulator._scenario import Fault, Flap, Scenario

__all__ = ["FaultPlan"]


class FaultPlan:
    """Decides which fault (if any) hits each provider attempt."""

    def __init__(self, scenario: Scenario, clock: Callable[[], float] = time.monotonic) -> None:
        """Start counters and the flap clock now; seed the random source."""
        self.scenario = scenario
        self._clock = clock
        self.started = clock()
        self._rng = random.Random(scenario.seed)  # noqa: S311 - deterministic test double
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()
        self._by_model: dict[str, list[Fault]] = {}
        for fault in scenario.faults:
            self._by_model.setdefault(fault.model or "*", []).append(fault)

    @property
    def has_faults(self) -> bool:
        """Whether any fault is scripted at all (fast path when not)."""
        return bool(self._by_model)

    def next_attempt(self, model: str) -> int:
        """Count one more request reaching ``model``; return its 1-based number."""
        with self._lock:
            count = self._counts.get(model, 0) + 1
            self._counts[model] = count
            return count

    def _flapping_down(self, flap: Flap, now: float) -> bool:
        return (now - self.started) % (flap.down + flap.up) < flap.down

    def _matches(self, fault: Fault, provider: str, attempt: int, now: float) -> bool:
        checks = (
            fault.provider is None or fault.provider.lower() == provider.lower(),
            fault.attempts is None or attempt in fault.attempts,
            fault.every is None or attempt % fault.every == 0,
            fault.flap is None or self._flapping_down(fault.flap, now),
        )
        if not all(checks):
            return False
        if fault.probability is None:
            return True
        with self._lock:
            return self._rng.random() < fault.probability

    def pick(self, model: str, provider: str, attempt: int) -> Fault | None:
        """The first scripted fault matching this model, provider and attempt number."""
        if not self._by_model:
            return None
        now = self._clock()
        for key in (model, "*"):
            for fault in self._by_model.get(key, ()):
                if self._matches(fault, provider, attempt, now):
                    return fault
        return None
