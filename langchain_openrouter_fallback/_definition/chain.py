"""The fallback chain: one validated definition users write once.

A chain document (YAML, TOML, JSON, or a dict in Python)::

    name: default
    mode: client            # or server (OpenRouter's own `models` fallback)
    deadline: 60            # seconds for the whole chain
    params: {temperature: 0}
    models:
      - model: anthropic/claude-sonnet-4.5
        label: primary
        timeout: 30
        provider: {order: [anthropic, amazon-bedrock], allow_fallbacks: true}
      - openai/gpt-4o-mini  # shorthand: label defaults to the model id

One file may hold several chains under ``chains:`` (a mapping name -> chain). A chain has
at most :data:`MAX_LINKS` links.
Request parameter precedence: call arguments > link ``params`` > chain ``params``.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PositiveInt,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from langchain_openrouter_fallback._definition.attempt_limits import (
    MAX_SECONDS,
    AutoLimit,
    Seconds,
    TimeLimit,
)
from langchain_openrouter_fallback._definition.catalog import load_catalog
from langchain_openrouter_fallback._definition.payload import server_payloads
from langchain_openrouter_fallback._definition.provider import ProviderPreferences
from langchain_openrouter_fallback._errors import ErrorKind

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from pathlib import Path

    from langchain_openrouter_fallback._definition.catalog import Catalog

__all__ = [
    "CAPABILITIES",
    "MAX_LINKS",
    "MAX_SECONDS",
    "TRANSIENT_STATUSES",
    "AutoLimit",
    "BreakerPolicy",
    "CheckName",
    "FallbackChain",
    "HedgePolicy",
    "Link",
    "Requirements",
    "RetryPolicy",
    "Seconds",
    "StreamRecovery",
]

_MODEL_ID = re.compile(r"^[a-z0-9][a-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*(:[a-z]+)?$")
VARIANTS = frozenset({"free", "nitro", "floor", "thinking", "extended", "exacto", "online"})
CAPABILITIES = frozenset({"tools", "vision", "json_schema", "json_mode", "reasoning"})

MAX_LINKS = 100
"""Most links a chain may have (a file with more is refused before it is validated)."""

_Wait = Annotated[float, Field(ge=0, le=MAX_SECONDS, allow_inf_nan=False)]
_Usd = Annotated[float, Field(ge=0, allow_inf_nan=False)]

StreamRecovery = Literal["raise", "buffer", "continue"]
"""What a stream does when it breaks after content reached the consumer."""
CheckName = Literal["non_empty", "no_refusal", "complete", "schema"]
"""The named ``accept`` checks (what each one rejects: ``_decisions/accept.py``)."""

DEFAULT_BREAKER_COOLDOWN = 30.0
DEFAULT_BREAKER_FAILURES = 3
DEFAULT_BREAKER_WINDOW = 60.0
DEFAULT_BREAKER_MIN_CALLS = 10


def _check_model_id(value: str) -> str:
    if not _MODEL_ID.match(value):
        msg = f"{value!r} is not an OpenRouter model id (expected vendor/name[:variant])"
        raise ValueError(msg)
    variant = value.partition(":")[2]
    if variant and variant not in VARIANTS:
        msg = f"unknown variant ':{variant}' (known: {', '.join(sorted(VARIANTS))})"
        raise ValueError(msg)
    return value


ModelId = Annotated[str, AfterValidator(_check_model_id)]


def _or_shorthand(shorthand: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
    """A ``json_schema_extra`` adding the short form a document may also use.

    The before-validators accept these forms, so the JSON Schema (for editors) must too.
    """

    def extra(schema: dict[str, Any]) -> None:
        keep: dict[str, Any] = {
            k: schema.pop(k) for k in ("title", "description", "default") if k in schema
        }
        alternatives = schema.pop("anyOf", None) or [dict(schema)]
        schema.clear()
        schema.update(keep, anyOf=[*alternatives, shorthand])

    return extra


class _Strict(BaseModel):
    # Attribute docstrings become the JSON Schema's descriptions (editors, the docs' reference);
    # no field of a chain is meant to be infinite or NaN (JSON cannot even carry them).
    model_config = ConfigDict(
        extra="forbid", frozen=True, use_attribute_docstrings=True, allow_inf_nan=False
    )


TRANSIENT_STATUSES = frozenset({500, 502, 504})
"""HTTP statuses worth one quick retry on the same link (503 "no provider available" and 529
"overloaded" are not: they move on at once)."""


class RetryPolicy(_Strict):
    """Retries of one link before moving to the next.

    The default gives a link one quick retry (``backoff`` plus jitter, inside the chain
    ``deadline``) after a 429 whose ``Retry-After`` fits the remaining budget, or after a
    transient failure: HTTP 500, 502 or 504, or a connection reset before any response byte.
    503, 529, timeouts and every other failure move on at once.
    """

    max_retries: Annotated[int, Field(ge=0, le=10)] = 1
    """Most retries of one link, whatever the reason (0: never retry)."""
    on: frozenset[ErrorKind] = frozenset({ErrorKind.RATE_LIMIT})
    """Error kinds retried whatever their status (``timeout``: only a missed first token)."""
    transient: bool = True
    """Also retry HTTP 500/502/504 (:data:`TRANSIENT_STATUSES`) and connection resets before
    any response byte, whatever ``on`` says; ``false`` leaves only ``on``."""
    backoff: _Wait = 0.25
    """First wait in seconds when the upstream names none; doubles per retry."""
    max_wait: _Wait = 10.0
    """Never wait longer than this for one retry (a longer ``Retry-After`` moves on)."""
    jitter: Annotated[float, Field(ge=0, le=1)] = 0.1
    """Fraction of each wait randomised, so clients don't retry in lockstep."""


class BreakerPolicy(_Strict):
    """Per-link circuit breaker: skip a link that keeps failing, probe it after a cooldown."""

    enabled: bool = True
    """``false`` never opens the circuit: every attempt is sent."""
    failures: PositiveInt = DEFAULT_BREAKER_FAILURES
    """Consecutive fallback-worthy failures that open the circuit."""
    cooldown: Annotated[float, Field(gt=0, le=3600)] = DEFAULT_BREAKER_COOLDOWN
    """Seconds the circuit stays open before one half-open probe (``Retry-After`` may extend it)."""
    rate: Annotated[float, Field(gt=0, le=1)] | None = None
    """Also open when this fraction of the attempts in ``window`` failed (``None``: off)."""
    window: Annotated[float, Field(gt=0, le=3600)] = DEFAULT_BREAKER_WINDOW
    """Seconds of the fixed window the failure ``rate`` is measured over."""
    min_calls: PositiveInt = DEFAULT_BREAKER_MIN_CALLS
    """Attempts a window needs before its failure ``rate`` can open the circuit."""


class HedgePolicy(_Strict):
    """Start the next link in parallel when the current one is slow to produce a token."""

    after: TimeLimit
    """Seconds without a first output before the hedge starts; ``auto``: a learned high
    quantile (p95) of the running upstream's time to first output (cold start: 1 s)."""
    max_parallel: Annotated[int, Field(ge=2, le=5)] = 2
    """Most attempts of one request in flight at once (the original plus its hedges)."""
    budget: Annotated[float, Field(gt=0, le=1)] | None = None
    """Most hedges per request (``0.1``: one request in ten): of the chain's last 100 requests
    in this process, at most ``budget`` of them hedge; a hedge beyond that is withheld
    (``None``: no budget)."""


class Requirements(_Strict):
    """What every link of a chain must support (checked against the catalog)."""

    model_config = ConfigDict(
        json_schema_extra=_or_shorthand(
            {
                "type": "array",
                "description": "shorthand: [tools, vision, {min_context: 100000}]",
                "items": {
                    "anyOf": [
                        {"enum": sorted(CAPABILITIES)},
                        {
                            "type": "object",
                            "properties": {"min_context": {"type": "integer", "minimum": 1}},
                            "required": ["min_context"],
                            "additionalProperties": False,
                        },
                    ]
                },
            }
        )
    )

    capabilities: frozenset[str] = frozenset()
    """Capabilities every link must have: ``tools``, ``vision``, ``json_schema``, ``json_mode``,
    ``reasoning``."""
    min_context: PositiveInt | None = None
    """Smallest context window, in tokens, every link must have."""

    @model_validator(mode="before")
    @classmethod
    def _from_list(cls, data: Any) -> Any:
        """Accept the document form: ``[tools, vision, {min_context: 100000}]``."""
        if not isinstance(data, list):
            return data
        caps: list[Any] = []
        min_context: Any = None
        for item in data:
            if isinstance(item, dict) and set(item) == {"min_context"}:
                min_context = item["min_context"]
            else:
                caps.append(item)
        return {"capabilities": caps, "min_context": min_context}

    @field_validator("capabilities")
    @classmethod
    def _known(cls, value: frozenset[str]) -> frozenset[str]:
        unknown = value - CAPABILITIES
        if unknown:
            msg = f"unknown capability {sorted(unknown)} (known: {', '.join(sorted(CAPABILITIES))})"
            raise ValueError(msg)
        return value

    def __bool__(self) -> bool:
        return bool(self.capabilities) or self.min_context is not None


class Link(_Strict):
    """One model in a chain, with its own limits and routing."""

    model_config = ConfigDict(
        json_schema_extra=_or_shorthand(
            {
                "type": "string",
                "pattern": _MODEL_ID.pattern,
                "description": "shorthand: a model id (the label defaults to it)",
            }
        )
    )

    model: ModelId
    """OpenRouter model id, ``vendor/name`` with an optional ``:variant`` (``:free``, ...)."""
    label: str = ""
    """Name used in attempt records and configs; defaults to the model id. Unique per chain."""
    timeout: TimeLimit | None = None
    """Seconds for the whole attempt, or ``auto`` (learned per upstream)."""
    first_token_timeout: TimeLimit | None = None
    """Streams: seconds until the first output (text, tool call or reasoning; keep-alives
    don't count), or ``auto``."""
    stall_timeout: TimeLimit | None = None
    """Streams: longest silence between outputs, or ``auto``."""
    provider: ProviderPreferences | None = None
    """OpenRouter provider routing for this link (sent as the request's ``provider``)."""
    params: dict[str, Any] = Field(default_factory=dict)
    """Request parameters for this link; they override the chain's ``params``."""
    retry: RetryPolicy | None = None
    """Overrides the chain's retry policy for this link."""
    breaker: BreakerPolicy | None = None
    """Overrides the chain's breaker policy for this link."""
    prefill: bool | None = None
    """Whether this link continues an assistant prefill (``stream_recovery: continue``);
    ``None``: the vendor default (see ``_prefill.VENDOR_DEFAULTS``)."""

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, data: Any) -> Any:
        return {"model": data} if isinstance(data, str) else data

    @model_validator(mode="after")
    def _default_label(self) -> Link:
        if not self.label:
            object.__setattr__(self, "label", self.model)
        return self

    @field_validator("params")
    @classmethod
    def _no_routing_in_params(cls, value: dict[str, Any]) -> dict[str, Any]:
        reserved = {"model", "models", "messages", "provider", "route"} & set(value)
        if reserved:
            msg = f"{sorted(reserved)} are set by the chain, not by params"
            raise ValueError(msg)
        return value


def _requirement_problems(
    links: Sequence[Link], requires: Requirements, catalog: Catalog
) -> list[str]:
    problems: list[str] = []
    for link in links:
        info = catalog.get(link.model)
        if info is None:
            continue
        missing = sorted(requires.capabilities - info.capabilities())
        if missing:
            problems.append(f"{link.label} ({link.model}) lacks {', '.join(missing)}")
        need = requires.min_context
        if need and info.context_length and info.context_length < need:
            problems.append(
                f"{link.label} ({link.model}) has a {info.context_length}-token context, "
                f"below min_context {need}"
            )
    return problems


class FallbackChain(_Strict):
    """An ordered list of links plus the policies that run them.

    Build one with :meth:`from_file` (YAML / TOML / JSON) or :meth:`model_validate`.
    """

    name: str = Field(default="default", min_length=1)
    """The chain's name: attempt records, logs, and the LiteLLM model group."""
    mode: Literal["client", "server"] = "client"
    """``client``: attempt by attempt in this process; ``server``: OpenRouter's own ``models``
    fallback, one request per group of at most three links."""
    base_url: str | None = None
    """OpenRouter-compatible endpoint for this chain (chat model and LiteLLM config alike)."""
    models: list[Link] = Field(min_length=1, max_length=MAX_LINKS)
    """The links, in the order they are tried."""
    params: dict[str, Any] = Field(default_factory=dict)
    """Request parameters for every link (``temperature``, ``max_tokens``, ...)."""
    legacy_route: bool = False
    """Also send the deprecated ``route: "fallback"`` in server-mode bodies."""
    deadline: Seconds | None = None
    """Seconds for the whole chain; later attempts get what is left."""
    timeout: TimeLimit | None = None
    """Seconds per attempt for links that set none, or ``auto`` (default: the chat model's,
    else 60)."""
    first_token_timeout: TimeLimit | None = None
    """Streams: seconds to the first output for links that set none, or ``auto`` (default:
    the chat model's, else 15)."""
    stall_timeout: TimeLimit | None = None
    """Streams: longest silence between outputs for links that set none, or ``auto``
    (default: the chat model's, else 10)."""
    max_cost: _Usd | None = None
    """USD ceiling per request: an attempt whose worst case (catalog prices x estimated prompt
    and maximum output tokens) exceeds what is left is skipped; reported costs are spent."""
    requires: Requirements = Field(default_factory=Requirements)
    """What every link must support; a chain whose links lack it is refused."""
    fallback_on: frozenset[ErrorKind] | None = None
    """Error kinds that move to the next link (default: every recoverable kind)."""
    retry: RetryPolicy = Field(default_factory=RetryPolicy)
    """Retries of one link before the next (a link's own ``retry`` replaces it)."""
    breaker: BreakerPolicy = Field(default_factory=BreakerPolicy)
    """The circuit breaker of each link's upstream (a link's own ``breaker`` replaces it)."""
    hedge: HedgePolicy | None = Field(
        default=None,
        json_schema_extra=_or_shorthand(
            {
                "anyOf": [
                    {"type": "number", "exclusiveMinimum": 0, "maximum": MAX_SECONDS},
                    {"const": "auto"},
                ],
                "description": "shorthand: {after: N} or {after: auto}",
            }
        ),
    )
    """Start the next link in parallel when one is slow to a first token (``None``: off)."""
    stream_recovery: StreamRecovery = "raise"
    """A stream that breaks after content reached the consumer: ``raise``
    :class:`StreamInterruptedError`, ``buffer`` every attempt until it completes (a failure
    restarts unseen on the next link), or ``continue`` the partial answer on the next link
    that accepts an assistant prefill. Overridable per call (``stream_recovery=``)."""
    shared_state: str | None = None
    """``redis://...`` URL for breaker state shared across processes."""
    accept: tuple[CheckName, ...] = ()
    """Checks an answer must pass before it is committed (``non_empty``, ``no_refusal``,
    ``complete``, ``schema``); a rejected answer is a failed attempt of kind ``rejected`` and
    the next link is tried. The chat model also takes callables (``accept=`` on the
    constructor or per call)."""

    @field_validator("accept", mode="before")
    @classmethod
    def _accept_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [value]  # `accept: non_empty` reads as a one-check list
        if isinstance(value, list | tuple):
            return tuple(dict.fromkeys(value))  # each check once, in the order given
        return value

    @field_validator("hedge", mode="before")
    @classmethod
    def _hedge_shorthand(cls, value: Any) -> Any:
        is_number = isinstance(value, int | float) and not isinstance(value, bool)
        return {"after": value} if is_number or value == "auto" else value

    @field_validator("params")
    @classmethod
    def _chain_params(cls, value: dict[str, Any]) -> dict[str, Any]:
        return Link._no_routing_in_params(value)  # noqa: SLF001

    @field_validator("shared_state")
    @classmethod
    def _redis_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("redis://", "rediss://", "unix://")):
            msg = "shared_state must be a redis:// or rediss:// URL"
            raise ValueError(msg)
        return value

    @field_validator("models")
    @classmethod
    def _unique_labels(cls, links: list[Link]) -> list[Link]:
        seen: dict[str, int] = {}
        for index, link in enumerate(links):
            if link.label in seen:
                # The index travels in the error's context so the loader can name the line.
                kind = "duplicate_label"
                msg = "duplicate label '{label}' (models.{first} has it; labels must be unique)"
                raise PydanticCustomError(
                    kind,
                    msg,
                    {"label": link.label, "index": index, "first": seen[link.label]},
                )
            seen[link.label] = index
        return links

    @field_validator("requires")
    @classmethod
    def _requirements_met(cls, requires: Requirements, info: ValidationInfo) -> Requirements:
        # Declared requirements are checked, never just documented: a capability chain
        # whose links lack the capability is rejected when it is defined.
        links = info.data.get("models")
        if requires and links:
            problems = _requirement_problems(links, requires, load_catalog())
            if problems:
                raise ValueError("; ".join(problems))
        return requires

    @property
    def labels(self) -> list[str]:
        """Link labels in chain order."""
        return [link.label for link in self.models]

    def link(self, label: str) -> Link:
        """The link with this label."""
        for link in self.models:
            if link.label == label:
                return link
        msg = f"chain {self.name!r} has no link labelled {label!r}"
        raise KeyError(msg)

    def requirement_problems(self, catalog: Catalog) -> list[str]:
        """Links the catalog knows that lack what ``requires`` declares."""
        return _requirement_problems(self.models, self.requires, catalog)

    def openrouter_payloads(self, messages: Sequence[Any], **params: Any) -> list[dict[str, Any]]:
        """Server-side fallback request bodies, in the order they should be tried.

        Links are grouped in order into requests of at most three models; a group never
        mixes different ``provider`` preferences or link ``params``.
        """
        return server_payloads(self, messages, params)

    @classmethod
    def from_file(cls, path: str | Path, *, name: str | None = None) -> FallbackChain:
        """Load a chain from a YAML, TOML or JSON file.

        Args:
            path: the chain file.
            name: which chain, when the file holds several under ``chains:``.
        """
        # The loader validates into this class, so it is imported here, not at the top.
        from langchain_openrouter_fallback._definition.loader import load_chain  # noqa: PLC0415

        return load_chain(path, name=name)
