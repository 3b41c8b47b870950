"""The time limits one attempt runs under: a link's own, else the chat model's defaults.

The generated LiteLLM configs read them from here, so a chain that sets no limits gets the
same 60 / 15 / 10 s in the proxy as in-process. The chat model's run applies the same rule
(``tests/litellm_config/test_mapping.py`` compares the two step by step).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

    from langchain_openrouter_fallback._definition.chain import Link

__all__ = [
    "DEFAULT_ATTEMPT_TIMEOUT",
    "DEFAULT_FIRST_TOKEN_TIMEOUT",
    "DEFAULT_STALL_TIMEOUT",
    "AttemptLimits",
    "attempt_limits",
]

DEFAULT_ATTEMPT_TIMEOUT = 60.0
"""Seconds per attempt when neither the link nor the model sets ``timeout``."""
DEFAULT_FIRST_TOKEN_TIMEOUT = 15.0
"""Streams: seconds until the first output (text, tool call or reasoning) when the link sets
no ``first_token_timeout``; keep-alive comments never count."""
DEFAULT_STALL_TIMEOUT = 10.0
"""Streams: seconds of silence allowed between outputs when the link sets no ``stall_timeout``."""


_NAMES = ("timeout", "first_token", "stall")


@dataclass(frozen=True, slots=True, kw_only=True)
class AttemptLimits:
    """The limits, in seconds, of one attempt of a step (before the chain ``deadline``)."""

    timeout: float
    """The whole attempt, headers and body."""
    first_token: float
    """Streams: until the first output."""
    stall: float
    """Streams: the longest silence between outputs."""
    defaulted: frozenset[str] = frozenset()
    """Which of ``timeout``, ``first_token``, ``stall`` came from a default, not the link."""


def attempt_limits(
    links: Sequence[Link],
    *,
    timeout: float | None = None,
    first_token: float | None = None,
    stall: float | None = None,
) -> AttemptLimits:
    """The limits an attempt of ``links`` (one link, or a server-mode group) runs under.

    Args:
        links: the step's links; the first one's stream limits apply to the whole step.
        timeout: the default for links without ``timeout`` (``None``:
            :data:`DEFAULT_ATTEMPT_TIMEOUT`).
        first_token: the default ``first_token_timeout`` (``None``:
            :data:`DEFAULT_FIRST_TOKEN_TIMEOUT`).
        stall: the default ``stall_timeout`` (``None``: :data:`DEFAULT_STALL_TIMEOUT`).

    Returns:
        A server-mode group's ``timeout`` is the sum of its links' when every link sets one
        (OpenRouter tries them inside one request); otherwise the default.
    """
    timeouts = [link.timeout for link in links]
    own_timeout = sum(t for t in timeouts if t) if all(timeouts) else None
    own = (own_timeout, links[0].first_token_timeout, links[0].stall_timeout)
    return AttemptLimits(
        timeout=own[0] or timeout or DEFAULT_ATTEMPT_TIMEOUT,
        first_token=own[1] or first_token or DEFAULT_FIRST_TOKEN_TIMEOUT,
        stall=own[2] or stall or DEFAULT_STALL_TIMEOUT,
        defaulted=frozenset(name for name, value in zip(_NAMES, own, strict=True) if not value),
    )
