"""The hedge budget: at most a fraction of requests may start a hedge (``hedge.budget``).

A sliding window per chain name, in this process: the last :data:`WINDOW` requests to start,
each marked once it hedged. A request may hedge while fewer than ``budget x n`` of the ``n``
requests in the window did (``n`` counts the request asking). One request at a time, that is
one hedge per ``1 / budget`` requests; with many in flight a request asks a moment after it
started, while the window slides on, so the share can run a little over (``make bench``
measures it). When an upstream slows down for everyone, hedging cannot double the bill.
"""

from __future__ import annotations

import threading
from collections import deque

__all__ = ["WINDOW", "HedgeBudgets", "Ticket"]

WINDOW = 100
"""Requests the budget looks back over."""
_EPSILON = 1e-9
"""``0.1 x 10`` is 0.9999999999999999: a share this close to a whole hedge is one."""


class Ticket:
    """One request's place in its chain's window."""

    __slots__ = ("hedged",)

    def __init__(self) -> None:
        """Not hedged yet."""
        self.hedged = False


class HedgeBudgets:
    """One window of recent requests per chain name (thread-safe)."""

    def __init__(self) -> None:
        """No requests yet."""
        self._windows: dict[str, deque[Ticket]] = {}
        self._lock = threading.Lock()

    def request(self, chain: str) -> Ticket:
        """A request of ``chain`` started: its place in the window."""
        ticket = Ticket()
        with self._lock:
            window = self._windows.get(chain)
            if window is None:
                window = self._windows[chain] = deque(maxlen=WINDOW)
            window.append(ticket)
        return ticket

    def take(self, chain: str, ticket: Ticket, budget: float) -> bool:
        """Whether the request holding ``ticket`` may hedge now (marked as hedged if so)."""
        with self._lock:
            window = self._windows.get(chain, ())
            if sum(t.hedged for t in window) >= budget * len(window) - _EPSILON:
                return False
            ticket.hedged = True
            return True

    def hedged(self, chain: str) -> tuple[int, int]:
        """``(hedged, requests)`` in ``chain``'s window now."""
        with self._lock:
            window = self._windows.get(chain, ())
            return sum(t.hedged for t in window), len(window)

    def reset(self) -> None:
        """Forget every window."""
        with self._lock:
            self._windows.clear()
