"""A link's time limits as a generated deployment carries them to the proxy plugin's guard.

The generator fills them with the limits the chat model would apply to the link (its own, else
the defaults of :mod:`langchain_openrouter_fallback.definition`), capped by the chain
``deadline``. Not to be confused with the catalog limits that adapt a request
(:class:`langchain_openrouter_fallback.decisions.CatalogLimits`). Kept apart from the guard
(which needs httpx) so that generating a config stays light.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["MODEL_INFO_KEY", "LinkLimits"]

MODEL_INFO_KEY = "openrouter_fallback"
"""Where a generated deployment's ``model_info`` carries the link's limits."""


@dataclass(frozen=True, slots=True, kw_only=True)
class LinkLimits:
    """A deployment's guard settings: time limits in seconds (``None``: no limit)."""

    timeout: float | None = None
    first_token: float | None = None
    stall: float | None = None
    buffer: bool = False
    """``stream_recovery: buffer``: hold the whole stream until its ``finish_reason``."""
    accept: tuple[str, ...] = ()
    """The chain's ``accept`` checks the guard applies (``decisions.GUARD_CHECKS``)."""

    def as_dict(self) -> dict[str, float | str | list[str]]:
        """The ``model_info`` form (the chain's field names), unset limits left out."""
        fields: dict[str, float | str | list[str] | None] = {
            "timeout": self.timeout,
            "first_token_timeout": self.first_token,
            "stall_timeout": self.stall,
            "stream_recovery": "buffer" if self.buffer else None,
            "accept": list(self.accept) or None,
        }
        return {name: value for name, value in fields.items() if value is not None}

    @classmethod
    def from_model_info(cls, info: Mapping[str, Any] | None) -> LinkLimits | None:
        """The limits a generated deployment carries, or ``None`` for other deployments."""
        raw = (info or {}).get(MODEL_INFO_KEY)
        if not isinstance(raw, dict):
            return None
        return cls(
            timeout=raw.get("timeout"),
            first_token=raw.get("first_token_timeout"),
            stall=raw.get("stall_timeout"),
            buffer=raw.get("stream_recovery") == "buffer",
            accept=tuple(str(check) for check in raw.get("accept") or ()),
        )
