"""The time limits one attempt runs under: the link's, else the chain's, else the chat model's.

The generated LiteLLM configs read them from here, so a chain that sets no limits gets the
same 60 / 15 / 10 s in the proxy as in-process. The chat model's run applies the same rule
(``tests/litellm_config/test_mapping.py`` compares the two step by step).

A limit is seconds, or ``auto`` (:class:`AutoLimit`): learned per upstream from the attempts
that succeeded (``_decisions/learned.py``), with a cold-start value until enough have.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    TypeAdapter,
    ValidationError,
    WithJsonSchema,
    model_validator,
)

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from langchain_openrouter_fallback._definition.chain import FallbackChain, Link

__all__ = [
    "DEFAULT_ATTEMPT_TIMEOUT",
    "DEFAULT_FIRST_TOKEN_TIMEOUT",
    "DEFAULT_STALL_TIMEOUT",
    "LIMIT_NAMES",
    "MAX_SECONDS",
    "AttemptLimits",
    "AutoLimit",
    "LimitSource",
    "Seconds",
    "TimeLimit",
    "attempt_limits",
    "field_name",
    "time_limit",
]

MAX_SECONDS = 86_400.0
"""Longest time limit accepted anywhere (one day): ``timeout``, ``deadline``, ``hedge``...

Larger values (``.inf`` included) are refused where they are written, since every timer
they reach would overflow the platform's clock."""

Seconds = Annotated[float, Field(gt=0, le=MAX_SECONDS, allow_inf_nan=False)]
"""A time limit: finite, more than 0 and at most :data:`MAX_SECONDS`."""
_SECONDS: TypeAdapter[float] = TypeAdapter(Seconds)

LimitSource = Literal["link", "chain", "model", "default", "learned", "cold"]
"""Where a limit's value came from: set on the link, on the chain, on the chat model
(constructor or call), the built-in default; an ``auto`` limit's ``learned`` or ``cold`` value."""

DEFAULT_CEILING = 120.0
"""An ``auto`` limit's ceiling when it sets none (or its cold value, when that is larger)."""


class AutoLimit(BaseModel):
    """A limit learned per upstream: ``quantile`` of what succeeded, times ``factor``, clamped.

    Written ``auto`` or ``{auto: {cold: 15, floor: 1, ceiling: 120}}`` wherever a limit is
    set. Until ``min_samples`` attempts of the upstream succeeded, ``cold`` applies. Fields
    left out take the defaults of where the limit is used (a timeout, or ``hedge.after``).
    """

    model_config = ConfigDict(
        extra="forbid", frozen=True, use_attribute_docstrings=True, allow_inf_nan=False
    )

    cold: Seconds | None = None
    """Seconds until enough is learned (default: the value the limit would have without
    ``auto``: the chain's or chat model's setting, else the built-in default)."""
    floor: Seconds | None = None
    """Never less (default: 1 s for timeouts, 0.05 s for ``hedge.after``)."""
    ceiling: Seconds | None = None
    """Never more (default: 120 s, or ``cold`` when that is larger)."""
    quantile: Annotated[float, Field(ge=0.5, le=0.999)] | None = None
    """Which quantile of the observed times (default: 0.99 for timeouts, 0.95 for hedging)."""
    factor: Annotated[float, Field(ge=1, le=10)] | None = None
    """Safety factor on that quantile (default: 1.5 for timeouts, 1 for hedging)."""
    min_samples: Annotated[int, Field(ge=1, le=10_000)] = 20
    """Successful attempts of the upstream before the learned value replaces ``cold``."""

    @model_validator(mode="after")
    def _ordered(self) -> AutoLimit:
        if self.floor is not None and self.ceiling is not None and self.floor > self.ceiling:
            msg = f"floor {self.floor:g} is above ceiling {self.ceiling:g}"
            raise ValueError(msg)
        return self

    def settled(self, cold: float, *, hedge: bool = False) -> AutoLimit:
        """This limit with every field set: the defaults of its use, ``cold`` if unset."""
        cold = self.cold or cold
        ceiling = self.ceiling or max(DEFAULT_CEILING, cold, self.floor or 0.0)
        # Already valid: a default never crosses what the user set (a low ceiling lowers
        # the default floor with it).
        return AutoLimit.model_construct(
            cold=cold,
            floor=self.floor or min(0.05 if hedge else 1.0, ceiling),
            ceiling=ceiling,
            quantile=self.quantile or (0.95 if hedge else 0.99),
            factor=self.factor or (1.0 if hedge else 1.5),
            min_samples=self.min_samples,
        )

    def spelling(self) -> str | dict[str, Any]:
        """How a chain file writes it: ``auto``, or ``{auto: {...}}`` with the fields set."""
        fields = self.model_dump(exclude_defaults=True)
        return {"auto": fields} if fields else "auto"


def time_limit(value: Any) -> float | AutoLimit:
    """Validate a limit as written: seconds, ``auto``, ``{auto: {...}}`` or an AutoLimit.

    Raises:
        ValueError: with the reason (and the ``auto`` field at fault).
    """
    if isinstance(value, AutoLimit):
        return value
    if value == "auto":
        return AutoLimit()
    if isinstance(value, dict) and set(value) == {"auto"}:
        try:
            return AutoLimit.model_validate(value["auto"] or {})
        except ValidationError as exc:
            error = exc.errors()[0]
            where = ".".join(["auto", *map(str, error["loc"])])
            msg = f"{where}: {error['msg'].removeprefix('Value error, ')}"
            raise ValueError(msg) from None
    if isinstance(value, str | dict | bool):
        msg = "expected seconds, 'auto' or {auto: {cold, floor, ceiling, ...}}"
        raise ValueError(msg)  # noqa: TRY004 - pydantic reports ValueError, not TypeError
    try:
        return _SECONDS.validate_python(value)
    except ValidationError as exc:
        msg = f"{exc.errors()[0]['msg']} (seconds, more than 0 and at most {MAX_SECONDS:g})"
        raise ValueError(msg) from None


def _limit_schema() -> dict[str, Any]:
    auto = AutoLimit.model_json_schema()
    auto.pop("title", None)
    return {
        "anyOf": [
            {"type": "number", "exclusiveMinimum": 0, "maximum": MAX_SECONDS},
            {"const": "auto", "description": "learned per upstream (cold start: the default)"},
            {
                "type": "object",
                "properties": {"auto": auto},
                "required": ["auto"],
                "additionalProperties": False,
            },
        ]
    }


TimeLimit = Annotated[
    float | AutoLimit,
    PlainValidator(time_limit),
    PlainSerializer(lambda v: v.spelling() if isinstance(v, AutoLimit) else v),
    WithJsonSchema(_limit_schema()),
]
"""A limit as a chain or chat model sets it: seconds, or ``auto``."""

DEFAULT_ATTEMPT_TIMEOUT = 60.0
"""Seconds per attempt when neither the link nor the model sets ``timeout``."""
DEFAULT_FIRST_TOKEN_TIMEOUT = 15.0
"""Streams: seconds until the first output (text, tool call or reasoning) when the link sets
no ``first_token_timeout``; keep-alive comments never count."""
DEFAULT_STALL_TIMEOUT = 10.0
"""Streams: seconds of silence allowed between outputs when the link sets no ``stall_timeout``."""


LIMIT_NAMES = ("timeout", "first_token", "stall")
"""The limits of an attempt, by short name (``field_name`` gives the chain field)."""
_NAMES = LIMIT_NAMES
_FIELDS = {"timeout": "timeout", "first_token": "first_token_timeout", "stall": "stall_timeout"}


@dataclass(frozen=True, slots=True, kw_only=True)
class AttemptLimits:
    """The limits, in seconds, of one attempt of a step (before the chain ``deadline``).

    An ``auto`` limit's value here is its cold one; :attr:`auto` holds its settled
    :class:`AutoLimit` (the run applies what was learned, once enough was).
    """

    timeout: float
    """The whole attempt, headers and body."""
    first_token: float
    """Streams: until the first output."""
    stall: float
    """Streams: the longest silence between outputs."""
    defaulted: frozenset[str] = frozenset()
    """Which of ``timeout``, ``first_token``, ``stall`` came from a default, not the link."""
    sources: Mapping[str, LimitSource] = field(default_factory=dict)
    """Where each value came from, by name (``link``, ``chain``, ``model``, ``default``)."""
    auto: Mapping[str, AutoLimit] = field(default_factory=dict)
    """The ``auto`` limits by name, every field settled."""

    def ceiling(self, name: str) -> float:
        """The most ``name`` can be: its value, or an ``auto`` limit's ceiling."""
        auto = self.auto.get(name)
        value: float = getattr(self, name)
        return max(value, auto.ceiling or value) if auto is not None else value


_MEMO: dict[tuple[Any, ...], tuple[tuple[Any, ...], AttemptLimits]] = {}
_MEMO_SIZE = 256


def attempt_limits(
    links: Sequence[Link],
    *,
    chain: FallbackChain | None = None,
    timeout: float | AutoLimit | None = None,
    first_token: float | AutoLimit | None = None,
    stall: float | AutoLimit | None = None,
) -> AttemptLimits:
    """The limits an attempt of ``links`` (one link, or a server-mode group) runs under.

    Each limit is the link's own, else the ``chain``'s, else the chat model's (these
    arguments), else the built-in ``DEFAULT_*``. An ``auto`` limit's cold value is the first
    number below it in that order (or its own ``cold``).

    Args:
        links: the step's links; the first one's stream limits apply to the whole step.
        chain: the chain the links belong to (its ``timeout``, ``first_token_timeout``,
            ``stall_timeout`` apply to links without their own).
        timeout: the chat model's ``timeout`` (``None``: :data:`DEFAULT_ATTEMPT_TIMEOUT`).
        first_token: its ``first_token_timeout`` (``None``: :data:`DEFAULT_FIRST_TOKEN_TIMEOUT`).
        stall: its ``stall_timeout`` (``None``: :data:`DEFAULT_STALL_TIMEOUT`).

    Returns:
        A server-mode group's ``timeout`` is the sum of its links' when every link sets a
        number (OpenRouter tries them inside one request); otherwise the next layer's.
    """
    # Asked before every attempt with the same chain objects: remembered by identity (the
    # entry holds them, so an id cannot be reused while it is remembered).
    defaults = (DEFAULT_ATTEMPT_TIMEOUT, DEFAULT_FIRST_TOKEN_TIMEOUT, DEFAULT_STALL_TIMEOUT)
    key = (*map(id, links), id(chain), timeout, first_token, stall, defaults)
    remembered = _MEMO.get(key)
    if remembered is not None:
        return remembered[1]
    limits = _attempt_limits(links, chain, (timeout, first_token, stall), defaults)
    if len(_MEMO) >= _MEMO_SIZE:
        _MEMO.clear()
    _MEMO[key] = ((*links, chain), limits)
    return limits


def _attempt_limits(
    links: Sequence[Link],
    chain: FallbackChain | None,
    model: tuple[float | AutoLimit | None, ...],
    defaults: tuple[float, ...],
) -> AttemptLimits:
    first = links[0]
    own_timeout = first.timeout
    if len(links) > 1:
        timeouts = [link.timeout for link in links]
        numbers = [t for t in timeouts if isinstance(t, float | int)]
        own_timeout = math.fsum(numbers) if len(numbers) == len(timeouts) else None
    own = (own_timeout, first.first_token_timeout, first.stall_timeout)
    chained = (
        (chain.timeout, chain.first_token_timeout, chain.stall_timeout)
        if chain is not None
        else (None, None, None)
    )
    values: list[float] = []
    sources: dict[str, LimitSource] = {}
    auto: dict[str, AutoLimit] = {}
    for i, name in enumerate(_NAMES):
        value: float | AutoLimit
        if own[i] is not None:
            value, sources[name] = own[i], "link"  # type: ignore[assignment]
        elif chained[i] is not None:
            value, sources[name] = chained[i], "chain"  # type: ignore[assignment]
        elif model[i] is not None:
            value, sources[name] = model[i], "model"  # type: ignore[assignment]
        else:
            value, sources[name] = defaults[i], "default"
        if isinstance(value, AutoLimit):
            below = (own[i], chained[i], model[i], defaults[i])
            cold = next(v for v in below if v is not None and not isinstance(v, AutoLimit))
            auto[name] = value.settled(cold)
            value = auto[name].cold or cold
        values.append(float(value))
    return AttemptLimits(
        timeout=values[0],
        first_token=values[1],
        stall=values[2],
        defaulted=frozenset(name for name in _NAMES if sources[name] == "default"),
        sources=sources,
        auto=auto,
    )


def field_name(name: str) -> str:
    """The chain field of a limit (``first_token`` -> ``first_token_timeout``)."""
    return _FIELDS[name]
