"""The emulator's shared state: installed scenario, routing tables, fault plan and request log.

The state is written from the server thread (requests) and from the caller's thread
(``set_scenario``/``reset``); a scenario swap replaces one immutable-ish :class:`Runtime`
object in a single assignment, so a request always sees one consistent scenario.
"""

from __future__ import annotations

import random
import string
import threading
from collections import deque
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from langchain_openrouter_fallback._definition.catalog import Catalog, load_catalog
from langchain_openrouter_fallback.emulator._faults import FaultPlan
from langchain_openrouter_fallback.emulator._routing import Router
from langchain_openrouter_fallback.emulator._scenario import load_scenario
from langchain_openrouter_fallback.emulator._wire import dumps

if TYPE_CHECKING:
    from pathlib import Path

    from langchain_openrouter_fallback.emulator._scenario import Scenario

__all__ = ["DEFAULT_LOG_LIMIT", "EmulatorState", "LogEntry", "Runtime"]

DEFAULT_LOG_LIMIT = 10_000
_ID_ALPHABET = string.ascii_letters + string.digits


@dataclass(slots=True)
class LogEntry:
    """One request as the emulator saw and answered it (the API key is redacted)."""

    time: float
    """Arrival time (``time.time()``)."""
    method: str
    path: str
    headers: dict[str, str]
    body: Any
    status: int | None = None
    model: str | None = None
    """The model that served (the slug reported on the wire), if any."""
    provider: str | None = None
    fault: str | None = None
    """Effect of the fault that shaped the final answer, if any."""
    attempts: list[dict[str, Any]] = field(default_factory=list)
    """Every provider attempt: ``{model, provider, status, fault}``."""
    ended: float | None = None
    """When the answer ended (``time.time()``): sent in full, cut, or left by the client."""

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready copy."""
        return asdict(self)


class Runtime:
    """One installed scenario with its compiled lookups and fresh counters."""

    def __init__(self, scenario: Scenario, catalog: Catalog) -> None:
        """Compile ``scenario`` against ``catalog``."""
        self.scenario = scenario
        self.router = Router(scenario, catalog)
        self.plan = FaultPlan(scenario)
        self.ids = random.Random(scenario.seed)  # noqa: S311 - deterministic ids, not secrets
        extra = [
            {"id": m, "name": m, "context_length": b.context_length}
            for m, b in scenario.models.items()
            if m != "*" and catalog.get(m) is None
        ]
        # Served as given (every top-level key kept); scenario-only models are appended.
        self.models_body = dumps({**catalog.document, "data": [*catalog.raw_models, *extra]})

    def generation_id(self, created: int) -> str:
        """``gen-<unix>-<20 chars>``, deterministic for a given seed."""
        return f"gen-{created}-" + "".join(self.ids.choices(_ID_ALPHABET, k=20))


class EmulatorState:
    """Everything an emulator app instance shares with its controller."""

    def __init__(
        self,
        scenario: Scenario | dict[str, Any] | str | Path | None = None,
        *,
        catalog: Catalog | str | Path | None = None,
        log_limit: int = DEFAULT_LOG_LIMIT,
    ) -> None:
        """Validate and install ``scenario`` (see :func:`load_scenario` for accepted forms).

        ``catalog``: a :class:`Catalog`, a saved ``/models`` response (file path) or ``None``
        for :func:`load_catalog`.
        """
        if catalog is None:
            self.catalog = load_catalog()
        elif isinstance(catalog, Catalog):
            self.catalog = catalog
        else:
            self.catalog = Catalog.from_file(catalog)
        self.runtime = Runtime(load_scenario(scenario), self.catalog)
        self._log: deque[LogEntry] = deque(maxlen=log_limit)
        self._lock = threading.Condition()
        self._seen = 0

    @property
    def scenario(self) -> Scenario:
        """The installed scenario."""
        return self.runtime.scenario

    def set_scenario(self, scenario: Scenario | dict[str, Any] | str | Path | None) -> None:
        """Install a new scenario; counters, seeded randomness and the flap clock restart."""
        self.runtime = Runtime(load_scenario(scenario), self.catalog)

    def reset(self) -> None:
        """Restart counters and the flap clock of the current scenario and clear the log."""
        self.runtime = Runtime(self.runtime.scenario, self.catalog)
        self.clear_log()

    def record(self, entry: LogEntry) -> None:
        """Append to the request log (on arrival; the entry is completed in place)."""
        with self._lock:
            self._log.append(entry)
            self._seen += 1
            self._lock.notify_all()

    def wait_for_requests(self, count: int, timeout: float | None = None) -> bool:
        """Block until ``count`` requests arrived since the last reset; ``False`` on timeout."""
        with self._lock:
            return self._lock.wait_for(lambda: self._seen >= count, timeout)

    @property
    def log(self) -> list[LogEntry]:
        """A snapshot of the request log, oldest first."""
        with self._lock:
            return list(self._log)

    def clear_log(self) -> None:
        """Forget logged requests."""
        with self._lock:
            self._log.clear()
            self._seen = 0
