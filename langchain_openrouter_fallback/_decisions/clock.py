"""The attempt clock and the failure it reports: the vocabulary the engine and the wire share.

:class:`Progress` is the one clock of an attempt: a whole-attempt deadline plus optional
first-token and stall limits. Only output (content, tool calls or reasoning, reported through
:meth:`Progress.token`) moves it; keep-alive comments and whitespace padding never do. The run
(``_run``) sets it up per try; the transport enforces it (``_transport``).

:class:`AttemptFailure` is how one attempt failed, classified (:class:`ErrorKind`), with the
HTTP context the run decides on (status, ``Retry-After``, which limit fired).

Neither knows about httpx, SSE or LangChain: the decisions layer imports them, and nothing
of the wire.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from langchain_openrouter_fallback._errors import ErrorKind, classify, error_message

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

__all__ = ["DEFAULT_CONNECT_TIMEOUT", "LIMIT_FIELDS", "AttemptFailure", "Limit", "Progress"]

DEFAULT_CONNECT_TIMEOUT = 10.0
Limit = Literal["connect", "first_token", "stall", "total"]
"""Which limit of an attempt's clock fired."""
LIMIT_FIELDS: dict[str, str] = {
    "total": "timeout", "first_token": "first_token_timeout", "stall": "stall_timeout",
}  # fmt: skip
"""The chain field that sets each limit of the clock."""


class AttemptFailure(Exception):  # noqa: N818 - internal signal, not a user-facing error
    """One attempt failed; carries what the executor needs to decide what comes next."""

    def __init__(
        self,
        kind: ErrorKind,
        message: str,
        *,
        status_code: int | None = None,
        retry_after: float | None = None,
        body: Any = None,
        reset_before_response: bool = False,
        limit: Limit | None = None,
        check: str | None = None,
    ) -> None:
        """Record kind, message and optional HTTP context."""
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.status_code = status_code
        self.retry_after = retry_after
        self.body = body
        self.reset_before_response = reset_before_response
        """The connection broke after connecting and before any response byte."""
        self.limit = limit
        """A ``timeout``: which limit of the attempt's clock fired (``None`` for a 408/524)."""
        self.check = check
        """A ``rejected`` answer: the ``accept`` check that turned it down."""

    @classmethod
    def from_status(
        cls, status: int, body: Any, *, retry_after: float | None = None
    ) -> AttemptFailure:
        """An HTTP error status (or in-band error object) with its OpenRouter body."""
        message = error_message(body) or (body if isinstance(body, str) else f"HTTP {status}")
        return cls(
            classify(status, body),
            str(message)[:500],
            status_code=status,
            retry_after=retry_after,
            body=body,
        )


@dataclass(slots=True)
class Progress:
    """The clock of one attempt; all times are ``time.monotonic()`` seconds."""

    deadline: float
    first_token: float | None = None
    stall: float | None = None
    connect: float = DEFAULT_CONNECT_TIMEOUT
    started: float = field(default_factory=time.monotonic)
    first_token_at: float | None = None
    last_token_at: float | None = None
    expired: Limit | None = None
    """Which limit fired (``total``, ``first_token``, ``stall``), once one has."""
    responded: bool = False
    """The response's status line and headers arrived (set by the transport)."""
    armed_at: float = math.inf
    """The deadline the watchdog is currently waiting for (sync only)."""
    rearm: Callable[[], None] | None = None
    request_sent: bool = False
    """The request went out: its headers were written and its body followed (see :meth:`trace`)."""
    longest_gap: float = 0.0
    """The longest silence between two outputs so far, in seconds."""
    learned: Mapping[Limit, str] | None = None
    """Limits of an ``auto`` setting, with ``learned`` or ``cold`` (named in timeout messages)."""

    def trace(self, event: str, info: Mapping[str, Any]) -> None:
        """The httpx ``trace`` extension (sync): the request counts as sent once its body starts.

        Not ``send_request_body.complete``: an async write can be cancelled after its bytes
        left (anyio yields once more), and a request the upstream may have read must count.
        The hook then takes itself off the request: httpcore would call it at every later
        phase (~2 us each), and the transport knows the headers are in when ``stream`` returns.
        """
        if event.endswith("send_request_body.started"):
            self.request_sent = True
            request = info.get("request")
            if request is not None:
                request.extensions.pop("trace", None)

    async def atrace(self, event: str, info: Mapping[str, Any]) -> None:
        """Async twin of :meth:`trace` (the async client awaits its trace callback)."""
        self.trace(event, info)

    def token(self) -> None:
        """Output arrived: the first-token limit is met and the stall clock restarts."""
        now = time.monotonic()
        last = self.last_token_at
        if last is None:
            self.first_token_at = now
        elif now - last > self.longest_gap:
            self.longest_gap = now - last
        self.last_token_at = now
        self._changed()

    def finishing(self, grace: float) -> None:
        """The answer is complete; allow ``grace`` seconds for trailing usage, no more."""
        self.deadline = min(self.deadline, time.monotonic() + grace)
        self._changed()

    def _changed(self) -> None:
        # Deadlines that move later are found by the watchdog when it wakes; one that moves
        # earlier than what it waits for must wake it now.
        if self.rearm is not None and self.next_deadline()[0] < self.armed_at:
            self.rearm()

    def next_deadline(self) -> tuple[float, Limit]:
        """The earliest limit still running, and its name."""
        limits: list[tuple[float, Limit]] = [(self.deadline, "total")]
        if self.first_token is not None and self.first_token_at is None:
            limits.append((self.started + self.first_token, "first_token"))
        if self.stall is not None and self.last_token_at is not None:
            limits.append((self.last_token_at + self.stall, "stall"))
        return min(limits)

    def check(self) -> None:
        """Raise the timeout that fired, if one did (a socket shut down may read as an end)."""
        if self.expired is not None:
            raise self.timeout_failure()

    def expire(self) -> AttemptFailure:
        """A wait ran out: the earliest running limit fired; returns its failure."""
        _, self.expired = self.next_deadline()
        return self.timeout_failure()

    def timeout_failure(self) -> AttemptFailure:
        """The failure to report when a limit fired (``total`` unless another one did)."""
        reason: Limit = self.expired or "total"
        limit = {
            "first_token": self.first_token,
            "stall": self.stall,
            "total": self.deadline - self.started,
        }.get(reason)
        detail = {
            "first_token": "no first token",
            "stall": "stream stalled",
            "total": "no complete answer",
            "connect": "could not connect",
        }.get(reason, reason)
        within = f" within {limit:.3g} s" if limit else ""
        learned = self.learned.get(reason) if self.learned else None
        message = f"{detail}{within} ({reason} timeout{f', {learned}' if learned else ''})"
        return AttemptFailure(ErrorKind.TIMEOUT, message, limit=reason)

    @property
    def elapsed_ms(self) -> float:
        """Milliseconds since the attempt started."""
        return (time.monotonic() - self.started) * 1000

    @property
    def first_token_ms(self) -> float | None:
        """Milliseconds to the first content token, if any arrived."""
        if self.first_token_at is None:
            return None
        return (self.first_token_at - self.started) * 1000
