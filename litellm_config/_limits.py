"""A link's time limits as a generated deployment carries them to the proxy plugin's guard.

The generator fills them with the limits the chat model would apply to the link (its own, else
the chain's, else the defaults of :mod:`langchain_openrouter_fallback.definition`), capped by
the chain ``deadline``. An ``auto`` limit travels with every field settled (``{auto: {cold,
floor, ceiling, ...}}``) plus the ``upstream`` it is learned for, so the guard resolves it the
way the chat model does. Not to be confused with the catalog limits that adapt a request
(:class:`langchain_openrouter_fallback.decisions.CatalogLimits`). Kept apart from the guard
(which needs httpx) so that generating a config stays light.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from langchain_openrouter_fallback.definition import AutoLimit, time_limit

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["MODEL_INFO_KEY", "Limit", "LinkLimits"]

MODEL_INFO_KEY = "openrouter_fallback"
"""Where a generated deployment's ``model_info`` carries the link's limits."""

Limit = float | AutoLimit
"""Seconds, or an ``auto`` limit with every field settled."""


def _spelled(value: Limit | None) -> float | dict[str, Any] | None:
    if isinstance(value, AutoLimit):
        return {"auto": value.model_dump(exclude_none=True)}
    return value


def _parsed(value: Any) -> Limit | None:
    if value is None:
        return None
    parsed = time_limit(value)
    return parsed if isinstance(parsed, AutoLimit) else float(parsed)


@dataclass(frozen=True, slots=True, kw_only=True)
class LinkLimits:
    """A deployment's guard settings: time limits (``None``: no limit)."""

    timeout: Limit | None = None
    first_token: Limit | None = None
    stall: Limit | None = None
    buffer: bool = False
    """``stream_recovery: buffer``: hold the whole stream until its ``finish_reason``."""
    accept: tuple[str, ...] = ()
    """The chain's ``accept`` checks the guard applies (``decisions.GUARD_CHECKS``)."""
    upstream: str | None = None
    """What ``auto`` limits are learned for: the upstream part of ``decisions.circuit_key``
    (model ids and provider preferences; the endpoint is the request's)."""

    @property
    def auto(self) -> dict[str, AutoLimit]:
        """The ``auto`` limits, by short name (``timeout``, ``first_token``, ``stall``)."""
        limits = {"timeout": self.timeout, "first_token": self.first_token, "stall": self.stall}
        return {name: value for name, value in limits.items() if isinstance(value, AutoLimit)}

    def as_dict(self) -> dict[str, Any]:
        """The ``model_info`` form (the chain's field names), unset limits left out."""
        fields: dict[str, Any] = {
            "timeout": _spelled(self.timeout),
            "first_token_timeout": _spelled(self.first_token),
            "stall_timeout": _spelled(self.stall),
            "stream_recovery": "buffer" if self.buffer else None,
            "accept": list(self.accept) or None,
            "upstream": self.upstream,
        }
        return {name: value for name, value in fields.items() if value is not None}

    @classmethod
    def from_model_info(cls, info: Mapping[str, Any] | None) -> LinkLimits | None:
        """The limits a generated deployment carries, or ``None`` for other deployments.

        Raises:
            ValueError: a limit is neither seconds nor ``auto`` (a hand-edited config).
        """
        raw = (info or {}).get(MODEL_INFO_KEY)
        if not isinstance(raw, dict):
            return None
        upstream = raw.get("upstream")
        return cls(
            timeout=_parsed(raw.get("timeout")),
            first_token=_parsed(raw.get("first_token_timeout")),
            stall=_parsed(raw.get("stall_timeout")),
            buffer=raw.get("stream_recovery") == "buffer",
            accept=tuple(str(check) for check in raw.get("accept") or ()),
            upstream=str(upstream) if upstream is not None else None,
        )
