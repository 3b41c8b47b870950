"""The guard's ``auto`` limits: resolved per attempt, learned from the attempts that served.

As in the chat model (``decisions.limits_now``), per upstream (``decisions.circuit_key``: the
request's endpoint plus the ``upstream`` the deployment carries), every attempt that served
teaches: the whole attempt's seconds (``timeout``), and for streams the seconds to the first
output, reasoning included (``first_token``), and the longest silence between outputs
(``stall``). The observations live in one ``decisions.LatencyBook`` per process (:data:`BOOK`),
so each proxy worker learns on its own: the chain's ``shared_state`` is not used
for them (its Redis client blocks, and the guard runs on LiteLLM's event loop).
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING

from langchain_openrouter_fallback.decisions import (
    LIMIT_METRIC,
    LatencyBook,
    learned_limit,
    observed,
)
from langchain_openrouter_fallback.wire import Progress

if TYPE_CHECKING:
    import httpx

    from langchain_openrouter_fallback.wire import Limit
    from litellm_config._limits import LinkLimits

__all__ = ["BOOK", "Lesson", "attempt_clock"]

BOOK = LatencyBook()
"""What this process (one proxy worker) learned, per upstream."""

_COMPLETIONS = "/chat/completions"


class Lesson:
    """One attempt of an upstream with ``auto`` limits: teaches the book once, if it served."""

    __slots__ = ("_book", "_key", "_progress", "_streaming", "done")

    def __init__(
        self, book: LatencyBook, key: tuple[str, str], progress: Progress, *, streaming: bool
    ) -> None:
        """An attempt of upstream ``key`` timed by ``progress``."""
        self._book = book
        self._key = key
        self._progress = progress
        self._streaming = streaming
        self.done = False
        """Taught already, or failed (nothing to teach)."""

    def served(self) -> None:
        """The attempt served a whole answer: what it took teaches the book (once)."""
        if self.done:
            return
        self.done = True
        self._book.observe(self._key, observed(self._progress, streaming=self._streaming))

    def failed(self) -> None:
        """The attempt failed: only successes teach."""
        self.done = True


def _endpoint(request: httpx.Request) -> str:
    """The endpoint a request reaches (its URL up to ``/chat/completions``), as a base URL."""
    url = str(request.url.copy_with(query=None, fragment=None))
    return url.removesuffix(_COMPLETIONS).rstrip("/")


def attempt_clock(
    limits: LinkLimits, request: httpx.Request, *, streaming: bool, book: LatencyBook = BOOK
) -> tuple[Progress, Lesson | None]:
    """The clock of one attempt under ``limits``, and its lesson when it has ``auto`` limits.

    An ``auto`` limit is what ``book`` learned for the upstream (``cold`` until
    ``min_samples`` attempts served); ``first_token`` and ``stall`` apply to streams only.
    """
    auto = limits.auto
    key = (_endpoint(request), limits.upstream or "") if auto else None
    latency = book.latency(key) if key is not None else {}
    values: dict[str, float | None] = {}
    learned: dict[Limit, str] = {}
    for name, metric in LIMIT_METRIC.items():
        spec = auto.get(name)
        if name != "timeout" and not streaming:
            values[name] = None
        elif spec is None:
            value = getattr(limits, name)
            values[name] = float(value) if value is not None else None
        else:
            seconds, source, _ = learned_limit(spec, latency.get(metric))
            values[name] = seconds
            learned[metric] = source
    timeout = values["timeout"]
    progress = Progress(
        deadline=time.monotonic() + (timeout if timeout is not None else math.inf),
        first_token=values["first_token"],
        stall=values["stall"],
        learned=learned or None,
    )
    lesson = Lesson(book, key, progress, streaming=streaming) if key is not None else None
    return progress, lesson
