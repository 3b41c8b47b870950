"""The hedge budget: at most a fraction of requests may start a hedge (``hedge.budget``).

A token bucket per chain, in this process: each request adds ``budget`` of a token, the
bucket holds at most ``max(1, 10 x budget)`` and starts full; a hedge takes one whole token
or is withheld. Over any run of ``n`` requests at most ``max(1, 10 x budget) + budget x n``
hedge, so when an upstream slows down for everyone, hedging cannot double the bill: it
settles at one request in ``1 / budget``.
"""

from __future__ import annotations

import threading

__all__ = ["HedgeBudgets"]

_EPSILON = 1e-9


def capacity(budget: float) -> float:
    """Most tokens the bucket of ``budget`` holds."""
    return max(1.0, 10 * budget)


class HedgeBudgets:
    """One token bucket per chain name (thread-safe)."""

    def __init__(self) -> None:
        """Buckets are made full on a chain's first request."""
        self._tokens: dict[str, float] = {}
        self._lock = threading.Lock()

    def request(self, chain: str, budget: float) -> None:
        """A request of ``chain`` started: it adds ``budget`` of a token."""
        with self._lock:
            held = self._tokens.get(chain)
            full = capacity(budget)
            self._tokens[chain] = full if held is None else min(full, held + budget)

    def take(self, chain: str) -> bool:
        """Whether a hedge of ``chain`` may start now (it takes a token if so)."""
        with self._lock:
            held = self._tokens.get(chain, 0.0)
            if held < 1.0 - _EPSILON:  # ten requests of 0.1 add up to 0.9999999999999999
                return False
            self._tokens[chain] = max(0.0, held - 1.0)
            return True

    def tokens(self, chain: str) -> float:
        """Tokens in ``chain``'s bucket now."""
        with self._lock:
            return self._tokens.get(chain, 0.0)

    def reset(self) -> None:
        """Refill every bucket (forget them)."""
        with self._lock:
            self._tokens.clear()
