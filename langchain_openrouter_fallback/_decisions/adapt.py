"""Per-link request adaptation from the catalog: every link gets a request it can serve.

A link's catalog entry (``supported_parameters``, ``top_provider.max_completion_tokens``,
``context_length``) decides what changes, in this order:

- ``response_format: json_schema`` on a link without ``structured_outputs``: the schema
  becomes a tool the link is told (or, with ``tool_choice`` support, forced) to call, and the
  tool call is turned back into JSON text (``_face/tool_answer.py``), so the caller parses the
  same object whichever link served; without tools, ``json_object`` plus the schema as an
  instruction. ``json_object`` on a link without ``response_format`` becomes an instruction.
- A forced ``tool_choice`` on a link without ``tool_choice``: dropped, and the demand is
  written as an instruction instead.
- ``max_tokens`` / ``max_completion_tokens`` above the link's ceiling (its maximum completion
  and what its context leaves after the estimated prompt): clamped.
- Any other field the catalog tracks (``seed``, ``logit_bias``...) that the link lacks:
  dropped, unless ``provider.require_parameters`` asks OpenRouter to enforce parameters.
- A trailing assistant message (prefill) on a link documented to reject one: dropped.

Every change is recorded as ``{field: (sent, requested)}``. Unknown models are not adapted.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from collections.abc import Sequence

    from langchain_openrouter_fallback._definition.catalog import ModelInfo

__all__ = [
    "Adaptation",
    "CatalogLimits",
    "StructuredOutputRoute",
    "adapt",
    "structured_output_route",
    "untouched",
]

Adapted = dict[str, tuple[Any, Any]]
"""Field -> (value sent, value requested); ``None`` means "not sent" / "not requested"."""
_CONVERTED = frozenset({"tools", "response_format", "tool_choice", "max_tokens"})
"""Tracked parameters adapted by conversion or clamping, never merely dropped."""
_TOKEN_FIELDS = ("max_tokens", "max_completion_tokens")
_FREE_CHOICES = (None, "auto", "none")
_READ = frozenset({"response_format", "tool_choice", *_TOKEN_FIELDS})
"""The fields the conversions and the clamp look at (besides the tracked ones)."""

StructuredOutputRoute = Literal["native", "tool", "json_object", "unsupported"]
"""How a link answers ``response_format: json_schema`` (see :func:`structured_output_route`)."""


def structured_output_route(parameters: frozenset[str]) -> StructuredOutputRoute:
    """How a link with these catalog ``supported_parameters`` is sent a ``json_schema`` request.

    ``native``: as asked (``structured_outputs``); ``tool``: the schema becomes a tool the link
    calls (forced when it takes ``tool_choice``); ``json_object``: JSON mode plus the schema as
    an instruction; ``unsupported``: none of these, so the plan skips the link. The adaptation,
    ``validate``'s listing and the LiteLLM linter all read this one answer.
    """
    if "structured_outputs" in parameters:
        return "native"
    if "tools" in parameters:
        return "tool"
    if "response_format" in parameters:
        return "json_object"
    return "unsupported"


@dataclass(frozen=True, slots=True)
class CatalogLimits:
    """What a link accepts per the catalog (server mode: what every model of a group accepts)."""

    parameters: frozenset[str]
    max_completion_tokens: int | None
    context_length: int | None

    @classmethod
    def of(cls, infos: Sequence[ModelInfo]) -> CatalogLimits | None:
        """The limits shared by ``infos`` (``None`` when the catalog knows none of them)."""
        if not infos:
            return None
        if len(infos) == 1:  # client mode: one link per step, read as it is
            info = infos[0]
            return cls(
                info.supported_parameters,
                info.max_completion_tokens or None,
                info.context_length or None,
            )
        parameters = frozenset.intersection(*(i.supported_parameters for i in infos))
        ceilings = [i.max_completion_tokens for i in infos if i.max_completion_tokens]
        contexts = [i.context_length for i in infos if i.context_length]
        return cls(parameters, min(ceilings, default=None), min(contexts, default=None))

    def token_ceiling(self, prompt_tokens: int) -> int | None:
        """The most output tokens this link can produce for a prompt of this size."""
        ceilings = [self.max_completion_tokens] if self.max_completion_tokens else []
        if self.context_length and self.context_length > prompt_tokens:
            ceilings.append(self.context_length - prompt_tokens)
        return min(ceilings, default=None)


@dataclass(slots=True)
class Adaptation:
    """The body to send to one link, what was changed, and how to read the answer."""

    body: dict[str, Any]
    adapted: Adapted = field(default_factory=dict)
    schema_tool: str | None = None
    """The tool standing in for ``response_format: json_schema``; its call is the answer."""


def _instruct(body: dict[str, Any], text: str) -> None:
    """Add ``text`` as a system message after the leading system messages."""
    messages = list(body.get("messages") or [])
    at = 0
    while at < len(messages) and messages[at].get("role") in {"system", "developer"}:
        at += 1
    messages.insert(at, {"role": "system", "content": text})
    body["messages"] = messages


def _tool_names(tools: Any) -> list[str]:
    return [str((t.get("function") or {}).get("name")) for t in tools or [] if isinstance(t, dict)]


def _schema_as_tool(out: Adaptation, spec: dict[str, Any], limits: CatalogLimits) -> None:
    body = out.body
    name = str(spec.get("name") or "output")
    tool = {
        "type": "function",
        "function": {
            "name": name,
            "description": f"Give the final answer as a {name} object.",
            "parameters": spec.get("schema") or {"type": "object"},
        },
    }
    requested_tools = _tool_names(body.get("tools"))
    body["tools"] = [*(body.get("tools") or []), tool]
    del body["response_format"]
    out.schema_tool = name
    out.adapted["response_format"] = (None, "json_schema")
    out.adapted["tools"] = ([*requested_tools, name], requested_tools or None)
    if not requested_tools and "tool_choice" in limits.parameters:
        requested_choice = body.get("tool_choice")
        body["tool_choice"] = {"type": "function", "function": {"name": name}}
        out.adapted["tool_choice"] = (name, requested_choice)
    elif requested_tools:
        _instruct(body, f"When you give your final answer, give it by calling the {name} tool.")
    else:
        _instruct(body, f"Answer by calling the {name} tool.")


def _structured(out: Adaptation, limits: CatalogLimits, *, enforce: bool) -> None:
    body = out.body
    fmt = body.get("response_format")
    if not isinstance(fmt, dict):
        return
    kind = fmt.get("type")
    if kind == "json_schema":
        spec = fmt.get("json_schema") or {}
        route = structured_output_route(limits.parameters)
        if route == "tool":
            _schema_as_tool(out, spec, limits)
        elif route == "json_object":
            body["response_format"] = {"type": "json_object"}
            schema = json.dumps(spec.get("schema") or {}, separators=(",", ":"))
            _instruct(body, f"Reply with one JSON object matching this JSON schema: {schema}")
            out.adapted["response_format"] = ("json_object", "json_schema")
    elif kind == "json_object" and "response_format" not in limits.parameters and not enforce:
        del body["response_format"]
        _instruct(body, "Reply with one JSON object and nothing else.")
        out.adapted["response_format"] = (None, "json_object")


def _tool_choice(out: Adaptation, limits: CatalogLimits, *, enforce: bool) -> None:
    body = out.body
    choice = body.get("tool_choice")
    if choice in _FREE_CHOICES or "tool_choice" in limits.parameters or enforce:
        return
    del body["tool_choice"]
    out.adapted["tool_choice"] = (None, choice)
    named = (choice.get("function") or {}).get("name") if isinstance(choice, dict) else None
    what = f"the {named} tool" if named else "one of the tools"
    _instruct(body, f"You must answer by calling {what}.")


def _clamp(out: Adaptation, limits: CatalogLimits, prompt_tokens: int) -> None:
    ceiling = limits.token_ceiling(prompt_tokens)
    if ceiling is None:
        return
    for name in _TOKEN_FIELDS:
        value = out.body.get(name)
        if isinstance(value, int) and not isinstance(value, bool) and value > ceiling:
            out.body[name] = ceiling
            out.adapted[name] = (ceiling, value)


def _drop_unsupported(
    out: Adaptation, limits: CatalogLimits, tracked: frozenset[str], *, enforce: bool
) -> None:
    if enforce:
        return
    for name in [k for k in out.body if k in tracked and k not in _CONVERTED]:
        if name not in limits.parameters:
            out.adapted[name] = (None, out.body.pop(name))


def _drop_prefill(out: Adaptation) -> None:
    messages = out.body.get("messages") or []
    if messages and messages[-1].get("role") == "assistant" and not messages[-1].get("tool_calls"):
        out.body["messages"] = messages[:-1]
        content = messages[-1].get("content")
        out.adapted["prefill"] = (None, content if isinstance(content, str) else "<parts>")


def untouched(body: dict[str, Any], tracked: frozenset[str]) -> bool:
    """Whether no adaptation can change ``body`` (its prefill aside), whatever the link.

    Most requests: no field the catalog tracks, no ``response_format``, ``tool_choice``
    or token limit. Checked first, so such a request costs no copy and no catalog limits.
    """
    return _READ.isdisjoint(body) and tracked.isdisjoint(body)


def adapt(
    body: dict[str, Any],
    limits: CatalogLimits | None,
    *,
    tracked: frozenset[str],
    prompt_tokens: int,
    enforce: bool = False,
    rejects_prefill: bool = False,
) -> Adaptation:
    """``body`` as this link can serve it (a copy when anything changes).

    Args:
        body: the request as the caller asked for it.
        limits: the link's catalog limits (``None``: unknown model, nothing is adapted).
        tracked: every parameter name the catalog lists for some model; only these are
            ever dropped (other fields are not the catalog's to judge).
        prompt_tokens: the estimated prompt size, for the context-window ceiling.
        enforce: ``provider.require_parameters`` is set, so unsupported fields stay.
        rejects_prefill: the link is documented to reject a trailing assistant message.
    """
    if not rejects_prefill and (limits is None or untouched(body, tracked)):
        return Adaptation(body)
    out = Adaptation(copy.copy(body))
    if rejects_prefill:
        _drop_prefill(out)
    if limits is not None:
        _structured(out, limits, enforce=enforce)
        _tool_choice(out, limits, enforce=enforce)
        _clamp(out, limits, prompt_tokens)
        _drop_unsupported(out, limits, tracked, enforce=enforce)
    return out if out.adapted else Adaptation(body)
