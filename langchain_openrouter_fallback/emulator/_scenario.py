"""The emulator's scenario document: per-model behaviour, scripted answers and faults.

A scenario is validated once (pydantic v2, unknown keys rejected) and then compiled by the
app into plain lookups, so the request hot path never touches pydantic.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from langchain_openrouter_fallback._definition.loader import (
    load_document,
    parse_text,
    validate_document,
)
from langchain_openrouter_fallback._errors import ChainValidationError

__all__ = [
    "ErrorSpec",
    "Fault",
    "Flap",
    "Framing",
    "MidstreamError",
    "ModelBehaviour",
    "Scenario",
    "ScenarioError",
    "ScriptedAnswer",
    "ScriptedToolCall",
    "StreamSettings",
    "dump_json",
    "load_scenario",
    "parse_scenario",
]

ScenarioError = ChainValidationError
"""Raised for an invalid scenario; one paragraph naming the source, field path and reason."""

_STRICT = ConfigDict(extra="forbid", frozen=True)
NonNegative = Annotated[float, Field(ge=0)]
Framing = Literal["chunked", "content-length", "close"]
AfterChunks = Annotated[int, Field(ge=0)]
ERROR_STATUSES = frozenset({400, 401, 402, 403, 404, 408, 413, 422, 429, 500, 502, 503, 524, 529})
EFFECTS = (
    "error",
    "hang",
    "latency",
    "slow_first_token",
    "stall_after",
    "cut_after",
    "midstream_error",
    "malformed_chunk",
    "missing_done",
    "error_200",
    "choices_null",
    "answer",
    "reset",
)


class ScriptedToolCall(BaseModel):
    """One scripted tool call; ``arguments`` omitted means generated from the tool's schema."""

    model_config = _STRICT

    name: str
    arguments: dict[str, Any] | str | None = None


class ScriptedAnswer(BaseModel):
    """An answer the scenario author wrote; the emulator never derives answers from prompts."""

    model_config = _STRICT

    reply: str | None = None
    tool_calls: list[ScriptedToolCall] | None = None
    """Used when the request offers the named tools (and a named ``tool_choice`` matches)."""
    json_object: dict[str, Any] | None = None
    """The document returned for ``response_format: {type: json_object}`` (default ``{}``)."""
    reasoning: str | None = None
    """Reasoning the model shows before its answer: streamed as reasoning deltas before any
    content, or ``reasoning`` + ``reasoning_details`` beside a whole message (as recorded
    for Claude Haiku 4.5 with ``reasoning: {effort: medium}``)."""


class ModelBehaviour(BaseModel):
    """How one model (or ``"*"``, every model) behaves when it serves."""

    model_config = _STRICT

    served_as: str | None = None
    """Model slug reported in responses (default: the catalog's canonical slug)."""
    providers: list[str] | None = Field(default=None, min_length=1)
    """Emulated providers, in default routing order (default: derived from the vendor)."""
    latency: NonNegative = 0.0
    """Seconds before the response headers."""
    context_length: int | None = Field(default=None, gt=0)
    """Overrides the catalog's context length."""
    scripted: ScriptedAnswer | None = None
    prefill: bool = True
    """Whether a request ending with an ``assistant`` message (a prefill) is continued;
    ``False`` rejects it with HTTP 400, as Claude 4.6 models do."""


class StreamSettings(BaseModel):
    """SSE shape: keep-alive comments and how many content chunks a text reply becomes."""

    model_config = _STRICT

    keepalives_before: int = Field(default=2, ge=0)
    """``: OPENROUTER PROCESSING`` comments before the first data chunk."""
    keepalive_every: int = Field(default=0, ge=0)
    """One keep-alive comment after every N data chunks (0: never)."""
    chunks: int = Field(default=4, ge=1)
    """Content chunks a text reply is split into."""
    keepalive_interval: float = Field(default=0.5, gt=0)
    """Seconds between keep-alive comments while the first token is slow or a stream stalls."""
    chunk_interval: float = Field(default=0.0, ge=0)
    """Seconds between data chunks (0: as fast as possible), to pace tokens like a model."""


class ErrorSpec(BaseModel):
    """An OpenRouter error: status plus optional message, metadata and ``Retry-After``."""

    model_config = _STRICT

    status: int
    message: str | None = None
    metadata: dict[str, Any] | None = None
    metadata_style: Literal["legacy", "current"] = "legacy"
    """``legacy``: ``{provider_name, raw}``; ``current``: ``{error_type, provider_code}``."""
    retry_after: int | None = Field(default=None, ge=0)
    """Seconds for the ``Retry-After`` header (429 defaults to 1)."""
    context_tokens: int | None = Field(default=None, gt=0)
    """For a context-length 400: the ``N`` in ``maximum context length is N tokens``."""

    @model_validator(mode="after")
    def _known_status(self) -> ErrorSpec:
        if self.status not in ERROR_STATUSES:
            allowed = ", ".join(map(str, sorted(ERROR_STATUSES)))
            msg = f"status {self.status} is not an OpenRouter error status ({allowed})"
            raise ValueError(msg)
        return self


class MidstreamError(BaseModel):
    """An in-band error chunk after ``after`` content chunks (HTTP status stays 200).

    Defaults follow the wire (a recorded minimax stream via OpenRouter: integer ``code``,
    ``finish_reason: null``); a string ``code`` and ``finish_reason: error`` are the docs'
    variant, SCRIPTED per fault.
    """

    model_config = _STRICT

    after: AfterChunks = 1
    code: int | str = 502
    message: str = "Provider disconnected unexpectedly"
    finish_reason: Literal["error"] | None = None


class MalformedChunk(BaseModel):
    """A ``data:`` line with invalid JSON after ``after`` chunks."""

    model_config = _STRICT

    after: AfterChunks = 1


class UnusableAnswer(BaseModel):
    """A 200 answer that arrives whole and well-formed but is no use (SCRIPTED per fault).

    The finish reasons are OpenRouter's normalised set (its SDK's ``FinishReason``: ``stop``,
    ``length``, ``tool_calls``, ``content_filter``); ``refusal`` is the message field
    recorded as ``"refusal": null`` on every answer (``pydantic-ai__test_with_native_options``)
    and ``delta.refusal`` on a stream chunk.
    """

    model_config = _STRICT

    content: str = ""
    """The text answered (``""``: an empty answer; prose where a schema was asked for)."""
    refusal: str | None = None
    finish_reason: Literal["stop", "length", "content_filter"] = "stop"


class Flap(BaseModel):
    """Down for ``down`` seconds, then up for ``up`` seconds, cycling from scenario start/reset."""

    model_config = _STRICT

    down: float = Field(gt=0)
    up: float = Field(gt=0)


def _error_shorthand(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        return {"status": value}
    if value == "context_length":
        return {"status": 400, "context_tokens": 1}
    return value


def _given(value: Any) -> bool:
    # Identity, not `in (None, False)`: `0 == False`, and `cut_after: 0` is an effect.
    return value is not None and value is not False


class Fault(BaseModel):
    """One scripted fault: filters (all optional, AND-ed) plus at most one effect.

    A fault with no effect field returns ``error: 503``; with several, validation fails.
    """

    model_config = _STRICT

    # filters
    model: str | None = None
    provider: str | None = None
    attempts: list[Annotated[int, Field(gt=0)]] | None = None
    every: int | None = Field(default=None, gt=0)
    probability: float | None = Field(default=None, ge=0, le=1)
    flap: Flap | None = None
    # effects
    error: ErrorSpec | None = None
    hang: bool = False
    latency: NonNegative | None = None
    slow_first_token: NonNegative | Literal["forever"] | None = None
    stall_after: AfterChunks | None = None
    cut_after: AfterChunks | None = None
    midstream_error: MidstreamError | None = None
    malformed_chunk: MalformedChunk | None = None
    missing_done: bool = False
    error_200: bool | Literal["json"] = False
    """A 200 whose body is an error; ``json``: a JSON body even for a stream request
    (OpenRouter's errors page: an error is "emitted in the response body or as an SSE data
    event")."""
    choices_null: bool = False
    answer: UnusableAnswer | None = None
    """Answer this instead of the model's reply: empty, refused, filtered, cut at the token
    limit, or prose where JSON was asked for (what ``accept`` checks reject)."""
    reset: bool = False

    @model_validator(mode="before")
    @classmethod
    def _shorthands(cls, data: Any) -> Any:
        if isinstance(data, dict) and "error" in data:
            data = {**data, "error": _error_shorthand(data["error"])}
        return data

    @model_validator(mode="after")
    def _one_effect(self) -> Fault:
        chosen = [name for name in EFFECTS if _given(getattr(self, name))]
        if len(chosen) > 1:
            msg = f"a fault has at most one effect, got {', '.join(chosen)}"
            raise ValueError(msg)
        return self

    @property
    def effect(self) -> str:
        """The name of this fault's effect (``error`` when none was given)."""
        for name in EFFECTS:
            if _given(getattr(self, name)):
                return name
        return "error"

    @property
    def error_spec(self) -> ErrorSpec:
        """The error returned by an ``error`` effect (503 by default)."""
        return self.error or ErrorSpec(status=503)


class Scenario(BaseModel):
    """A whole scenario document (see the package docstring for the format)."""

    model_config = _STRICT

    models: dict[str, ModelBehaviour] = Field(default_factory=dict)
    faults: list[Fault] = Field(default_factory=list)
    seed: int = 0
    stream: StreamSettings = Field(default_factory=StreamSettings)
    padding: int = Field(default=0, ge=0)
    """Leading whitespace blocks before non-streaming JSON bodies (as seen on the wire)."""
    framing: Framing | None = None
    """How completion bodies end: ``chunked``, ``content-length`` or ``close`` (the server
    closes the connection, legal HTTP/1.1 and common behind proxies). Default: streams
    chunked, JSON bodies with ``Content-Length``, as OpenRouter sends them."""


def parse_scenario(text: str, *, source: str = "<scenario>") -> Scenario:
    """Validate a YAML or JSON scenario given as text (JSON is valid YAML)."""
    data = parse_text(text, "yaml", source) if text.strip() else {}
    return validate_document(Scenario, data or {}, source=source, what="scenario")


def load_scenario(scenario: Scenario | dict[str, Any] | str | Path | None) -> Scenario:
    """Normalise every accepted scenario form (object, mapping, file path, ``None``).

    Raises:
        ScenarioError: the document is malformed or invalid; the message names the source,
            the field path (and YAML line) and the reason.
    """
    if scenario is None:
        return Scenario()
    if isinstance(scenario, Scenario):
        return scenario
    if isinstance(scenario, dict):
        return validate_document(Scenario, scenario, source="<scenario>", what="scenario")
    path = Path(scenario)
    data, find_line = load_document(path)
    return validate_document(
        Scenario, data or {}, source=str(path), find_line=find_line, what="scenario"
    )


def dump_json(scenario: Scenario) -> str:
    """The scenario as compact JSON (for the control endpoint and the CLI)."""
    return json.dumps(scenario.model_dump(mode="json", exclude_defaults=True))
