"""Chain policies -> LiteLLM Router reliability settings (retries, cooldowns, Redis).

Every function here is pure: policy objects in, plain JSON-ready dicts out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from langchain_openrouter_fallback import ErrorKind

if TYPE_CHECKING:
    from langchain_openrouter_fallback import BreakerPolicy, RetryPolicy

__all__ = [
    "COOLDOWN_EXCEPTIONS",
    "REDIS_PASSWORD_REF",
    "RETRY_FIELDS",
    "UNMAPPED_RETRY_KINDS",
    "allowed_fails",
    "allowed_fails_policy",
    "redis_settings",
    "retry_policy",
]

RETRY_FIELDS: dict[ErrorKind, tuple[str, ...]] = {
    ErrorKind.RATE_LIMIT: ("RateLimitErrorRetries",),
    ErrorKind.SERVER: ("InternalServerErrorRetries", "ServiceUnavailableErrorRetries"),
    ErrorKind.TIMEOUT: ("TimeoutErrorRetries",),
    ErrorKind.CONTENT_POLICY: ("ContentPolicyViolationErrorRetries",),
    ErrorKind.AUTH: ("AuthenticationErrorRetries",),
    ErrorKind.INVALID_REQUEST: ("BadRequestErrorRetries",),
    ErrorKind.CONTEXT_LENGTH: ("BadRequestErrorRetries",),
    ErrorKind.NETWORK: ("DefaultRetries",),
}
"""Which ``retry_policy`` fields (litellm ``types/router.py::RetryPolicy``) an error kind sets."""

UNMAPPED_RETRY_KINDS = frozenset(ErrorKind) - frozenset(RETRY_FIELDS)
"""Kinds LiteLLM has no exception class for; retrying on them cannot be expressed."""

_ALL_RETRY_FIELDS = (
    "BadRequestErrorRetries",
    "AuthenticationErrorRetries",
    "TimeoutErrorRetries",
    "RateLimitErrorRetries",
    "ContentPolicyViolationErrorRetries",
    "InternalServerErrorRetries",
    "ServiceUnavailableErrorRetries",
    "DefaultRetries",
)

COOLDOWN_EXCEPTIONS = (
    "TimeoutErrorAllowedFails",
    "RateLimitErrorAllowedFails",
    "InternalServerErrorAllowedFails",
    "ServiceUnavailableErrorAllowedFails",
    "BadGatewayErrorAllowedFails",
    "NotFoundErrorAllowedFails",
    "AuthenticationErrorAllowedFails",
)
"""``AllowedFailsPolicy`` fields the breaker sets: exactly the statuses LiteLLM's
``_is_cooldown_required`` already cools down (5xx, 408, 429, 404, 401), never 400/403, so
a deployment-level policy cannot start cooling links down for bad requests."""

REDIS_PASSWORD_REF = "os.environ/REDIS_PASSWORD"  # noqa: S105 - a reference, not a secret


def retry_policy(policy: RetryPolicy) -> dict[str, int]:
    """``retry_policy`` for LiteLLM: ``max_retries`` for the kinds in ``on``, 0 for the rest.

    Every field is written (0 included): LiteLLM skips its own "should I retry" heuristics
    once a policy answers, so an explicit 0 is what keeps it from retrying other errors.
    """
    mapped = dict.fromkeys(_ALL_RETRY_FIELDS, 0)
    for kind in sorted(policy.on):
        for field in RETRY_FIELDS.get(kind, ()):
            mapped[field] = policy.max_retries
    return mapped


def allowed_fails(breaker: BreakerPolicy) -> int:
    """LiteLLM cools down when the fail count *exceeds* ``allowed_fails``: ``failures - 1``."""
    return breaker.failures - 1


def allowed_fails_policy(breaker: BreakerPolicy) -> dict[str, int]:
    """An ``allowed_fails_policy`` naming every cooldown-worthy exception type."""
    return dict.fromkeys(COOLDOWN_EXCEPTIONS, allowed_fails(breaker))


def redis_settings(url: str) -> dict[str, Any]:
    """Router Redis settings for a chain's ``shared_state`` URL.

    A URL without credentials is used as is (``redis_url``). A URL with a password is split
    into host / port with ``redis_password: os.environ/REDIS_PASSWORD`` (LiteLLM's Redis
    client resolves ``os.environ/`` references), so no secret is written to the config.
    """
    parts = urlsplit(url)
    if parts.password is None and parts.username is None:
        return {"redis_url": url}
    settings: dict[str, Any] = {
        "redis_host": parts.hostname or "localhost",
        "redis_port": parts.port or 6379,
        "redis_password": REDIS_PASSWORD_REF,
    }
    cache_kwargs: dict[str, Any] = {}
    if parts.scheme == "rediss":
        cache_kwargs["ssl"] = True
    db = parts.path.strip("/")
    if db:
        cache_kwargs["db"] = int(db) if db.isdigit() else db
    if parts.username:
        cache_kwargs["username"] = parts.username
    if cache_kwargs:
        settings["cache_kwargs"] = cache_kwargs
    return settings
