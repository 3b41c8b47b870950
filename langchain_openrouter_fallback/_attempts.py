"""The record of one attempt: what was tried, how it ended, how long it took."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["Attempt", "Outcome", "Recovery", "describe_attempts", "reported_cost"]

Outcome = Literal["ok", "error", "skipped", "cancelled"]
Recovery = Literal["buffered", "continued"]
"""How an attempt picked up a stream that an earlier attempt broke (``stream_recovery``)."""


@dataclass(slots=True)
class Attempt:
    """One try of one link (client mode) or one payload group (server mode)."""

    label: str
    model: str
    outcome: Outcome = "ok"
    error_kind: str | None = None
    status_code: int | None = None
    elapsed_ms: float = 0.0
    first_token_ms: float | None = None
    error: str | None = None
    """Short reason, e.g. the upstream message or ``circuit open``."""
    served_model: str | None = None
    """The model OpenRouter reported as serving (often a versioned slug)."""
    provider: str | None = None
    """The upstream provider that served, e.g. ``"Amazon Bedrock"``."""
    cost: float | None = None
    retry: int = 0
    """0 for the first try of a link, 1.. for its retries."""
    models: list[str] = field(default_factory=list)
    """Server mode: the ``models`` list sent in this request."""
    notes: list[str] = field(default_factory=list)
    """Things worth knowing that did not fail the attempt (e.g. a skipped malformed event)."""
    recovered: Recovery | None = None
    """Streams: this attempt took over a broken stream, restarted unseen (``buffered``) or
    asked to continue the consumer's partial answer (``continued``)."""
    contributed_chars: int = 0
    """Streams: characters of text this attempt added to the answer the consumer saw."""
    adapted: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    """Request fields changed for this link, ``{field: (sent, requested)}`` (see ``_adapt``)."""
    request_sent: bool = False
    """The request went out (headers written, body on its way): the upstream may have seen it.
    ``False``: it never left (refused connection, timeout while connecting, skipped)."""
    rejected_by: str | None = None
    """``rejected`` attempts: the ``accept`` check that turned the answer down (the reason
    is in ``error``)."""
    limits: dict[str, float] = field(default_factory=dict)
    """The limits the attempt ran under, in seconds: ``timeout`` (what was left of it within
    the chain ``deadline``), and for streams ``first_token_timeout`` and ``stall_timeout``."""
    auto_limits: dict[str, str] = field(default_factory=dict)
    """The limits set to ``auto``, by name: ``learned`` (from the upstream's successful
    attempts) or ``cold`` (not enough of them yet); their seconds are in :attr:`limits`."""

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; empty optional lists are dropped."""
        # Field by field, not dataclasses.asdict: this runs for every call's metadata and
        # asdict deep-copies recursively; only the containers need copying.
        data = {}
        for name in _FIELDS:
            value = getattr(self, name)
            if name not in _CONTAINERS:
                data[name] = value
            elif value:  # empty optional lists are dropped
                # Only ``adapted`` nests (values sent and requested); the rest hold scalars.
                data[name] = copy.deepcopy(value) if name == "adapted" else copy.copy(value)
        return data

    def describe(self) -> str:
        """One line for logs and exception messages."""
        text = f"{self.label} ({self.model}): {self.outcome}"
        if self.error_kind:
            text += f" [{self.error_kind}"
            text += f" {self.status_code}]" if self.status_code else "]"
        if self.recovered:
            text += f" ({self.recovered})"
        if self.error:
            text += f" {self.error}"
        return f"{text} after {self.elapsed_ms:.0f} ms"


_FIELDS = tuple(f.name for f in fields(Attempt))
_CONTAINERS = frozenset({"models", "notes", "adapted", "limits", "auto_limits"})


def describe_attempts(attempts: Sequence[Attempt]) -> str:
    """A numbered, multi-line listing of attempts."""
    return "\n".join(f"  {i}. {a.describe()}" for i, a in enumerate(attempts, 1))


def reported_cost(body: Any) -> float | None:
    """``usage.cost`` of a response, error or stream chunk body, when it reports one."""
    usage = body.get("usage") if isinstance(body, dict) else None
    cost = usage.get("cost") if isinstance(usage, dict) else None
    return float(cost) if isinstance(cost, int | float) and not isinstance(cost, bool) else None
