"""Exceptions, error kinds, and the one place upstream failures are classified.

The hierarchy::

    OpenRouterFallbackError            root: catch this to catch everything below
    ├── ChainValidationError           (also ValueError) a chain or scenario document is invalid
    ├── FallbacksExhaustedError        every attempt failed; ``.attempts`` lists them
    ├── UnrecoverableError             a failure no other link can fix (bad key, bad request)
    └── StreamInterruptedError         a stream failed after content reached the consumer

Every error that ran attempts carries them as ``.attempts`` (a list of
:class:`~langchain_openrouter_fallback.Attempt`).
"""

from __future__ import annotations

import re
from enum import StrEnum
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Sequence

    from langchain_openrouter_fallback._attempts import Attempt

__all__ = [
    "ChainValidationError",
    "ErrorKind",
    "FallbacksExhaustedError",
    "OpenRouterFallbackError",
    "StreamInterruptedError",
    "UnrecoverableError",
    "classify",
    "classify_exception",
]


class ErrorKind(StrEnum):
    """Why an attempt failed; decides what the client mode does next."""

    AUTH = "auth"
    PAYMENT = "payment"
    INVALID_REQUEST = "invalid_request"
    INVALID_MODEL = "invalid_model"
    CONTEXT_LENGTH = "context_length"
    CONTENT_POLICY = "content_policy"
    RATE_LIMIT = "rate_limit"
    SERVER = "server"
    TIMEOUT = "timeout"
    NETWORK = "network"
    MALFORMED = "malformed"
    REJECTED = "rejected"
    """An ``accept`` check turned the answer down (its cost counts; the circuit is untouched)."""
    INTERRUPTED = "interrupted"

    @property
    def moves_on(self) -> bool:
        """Whether another link may succeed where this one failed (the DESIGN table)."""
        return self not in _FATAL_KINDS


_FATAL_KINDS = frozenset({ErrorKind.AUTH, ErrorKind.PAYMENT, ErrorKind.INVALID_REQUEST})


class OpenRouterFallbackError(Exception):
    """Root of every error this package raises."""


class ChainValidationError(OpenRouterFallbackError, ValueError):
    """A chain (or scenario) document is invalid; the message names file, field and reason."""

    def __init__(
        self, message: str, *, source: str | None = None, errors: Sequence[str] = ()
    ) -> None:
        """Keep the source file and the individual problems as attributes."""
        super().__init__(message)
        self.source = source
        self.errors = list(errors)


class _AttemptsError(OpenRouterFallbackError):
    def __init__(
        self, message: str, *, attempts: Sequence[Attempt], chain: str | None = None
    ) -> None:
        super().__init__(message)
        self.attempts = list(attempts)
        self.chain = chain


class FallbacksExhaustedError(_AttemptsError):
    """No link served the request; ``.attempts`` says what each one did."""


class UnrecoverableError(_AttemptsError):
    """A failure that no other link can fix (auth, payment, invalid request)."""

    def __init__(
        self,
        message: str,
        *,
        attempts: Sequence[Attempt],
        kind: ErrorKind,
        status_code: int | None = None,
        chain: str | None = None,
    ) -> None:
        """Also record the error kind and HTTP status."""
        super().__init__(message, attempts=attempts, chain=chain)
        self.kind = kind
        self.status_code = status_code


class StreamInterruptedError(_AttemptsError):
    """A stream broke after content reached the consumer; ``.partial_text`` holds that content."""

    def __init__(
        self,
        message: str,
        *,
        attempts: Sequence[Attempt],
        partial_text: str,
        chain: str | None = None,
        kind: ErrorKind | None = None,
        status_code: int | None = None,
    ) -> None:
        """Also keep the text the consumer received and what broke the stream."""
        super().__init__(message, attempts=attempts, chain=chain)
        self.partial_text = partial_text
        self.kind = kind
        """Why the stream broke (``timeout`` for a stall, ``network`` for a cut...)."""
        self.status_code = status_code


_CONTEXT_RE = re.compile(
    r"context length|context window|context_length|maximum context|too many tokens"
    r"|prompt is too long|input is too long",
    re.IGNORECASE,
)
_MODEL_RE = re.compile(
    r"not a valid model|no endpoints found|model not found|unknown model|no allowed providers"
    r"|does not exist",
    re.IGNORECASE,
)
_MODERATION_RE = re.compile(r"moderation|flagged|content policy|guardrail|safety", re.IGNORECASE)

_ERROR_TYPE_KINDS: dict[str, ErrorKind] = {
    "context_length_exceeded": ErrorKind.CONTEXT_LENGTH,
    "rate_limit_exceeded": ErrorKind.RATE_LIMIT,
    "provider_overloaded": ErrorKind.SERVER,
    "provider_unavailable": ErrorKind.SERVER,
    "content_policy_violation": ErrorKind.CONTENT_POLICY,
    "authentication": ErrorKind.AUTH,
    "payment_required": ErrorKind.PAYMENT,
    "invalid_request": ErrorKind.INVALID_REQUEST,
    "timeout": ErrorKind.TIMEOUT,
    "server": ErrorKind.SERVER,
}

_STATUS_KINDS: dict[int, ErrorKind] = {
    401: ErrorKind.AUTH,
    402: ErrorKind.PAYMENT,
    403: ErrorKind.CONTENT_POLICY,
    404: ErrorKind.INVALID_MODEL,
    408: ErrorKind.TIMEOUT,
    413: ErrorKind.CONTEXT_LENGTH,
    429: ErrorKind.RATE_LIMIT,
    524: ErrorKind.TIMEOUT,
}


def _error_object(body: Any) -> dict[str, Any]:
    err = body.get("error") if isinstance(body, dict) else None
    return err if isinstance(err, dict) else {}


def error_message(body: Any) -> str:
    """The human message of an OpenRouter error body, including provider ``raw`` text."""
    err = _error_object(body)
    parts = [str(err.get("message") or "")]
    meta = err.get("metadata")
    if isinstance(meta, dict):
        parts.extend(str(meta[key]) for key in ("raw", "reasons") if meta.get(key))
    return " ".join(dict.fromkeys(p for p in parts if p))


def _classify_bad_request(status: int | None, message: str) -> ErrorKind:
    # OpenRouter reports context, model and moderation problems as plain 400s.
    if _CONTEXT_RE.search(message):
        return ErrorKind.CONTEXT_LENGTH
    if _MODEL_RE.search(message):
        return ErrorKind.INVALID_MODEL
    if status is None:
        return ErrorKind.SERVER
    if _MODERATION_RE.search(message):
        return ErrorKind.CONTENT_POLICY
    return ErrorKind.INVALID_REQUEST


def classify(status: int | None, body: Any = None) -> ErrorKind:
    """Map an HTTP status and OpenRouter error body to an :class:`ErrorKind`.

    Args:
        status: the HTTP status, or the numeric ``error.code`` of an in-band error.
        body: the parsed response body (or in-band chunk), if any.
    """
    meta = _error_object(body).get("metadata")
    error_type = meta.get("error_type") if isinstance(meta, dict) else None
    if isinstance(error_type, str) and error_type in _ERROR_TYPE_KINDS:
        return _ERROR_TYPE_KINDS[error_type]
    if status in {400, 422} or status is None:
        return _classify_bad_request(status, error_message(body))
    if status in _STATUS_KINDS:
        return _STATUS_KINDS[status]
    return ErrorKind.SERVER if status >= 500 else ErrorKind.INVALID_REQUEST  # noqa: PLR2004


@cache
def _exception_kinds() -> tuple[tuple[type[BaseException], ErrorKind], ...]:
    # httpx is imported here, not at the top: loading a chain file must not pay for it,
    # and an httpx exception can only exist once httpx is loaded anyway.
    import httpx  # noqa: PLC0415

    return (
        # Most specific first: httpx's timeouts are also transport errors.
        (httpx.TimeoutException, ErrorKind.TIMEOUT),
        (TimeoutError, ErrorKind.TIMEOUT),
        (httpx.RemoteProtocolError, ErrorKind.NETWORK),
        (httpx.NetworkError, ErrorKind.NETWORK),
        (httpx.ProxyError, ErrorKind.NETWORK),
        (httpx.UnsupportedProtocol, ErrorKind.INVALID_REQUEST),
        (httpx.DecodingError, ErrorKind.MALFORMED),
        (httpx.TransportError, ErrorKind.NETWORK),
        (ConnectionError, ErrorKind.NETWORK),
        (ValueError, ErrorKind.MALFORMED),
    )


def classify_exception(exc: BaseException) -> ErrorKind:
    """Map a transport-level exception (httpx, OS, parsing) to an :class:`ErrorKind`."""
    for exc_type, kind in _exception_kinds():
        if isinstance(exc, exc_type):
            return kind
    return ErrorKind.NETWORK
