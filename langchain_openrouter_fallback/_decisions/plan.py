"""Chain + request -> the ordered steps to try (client: one link each; server: groups of <= 3).

Each step's body is first adapted to its link
(:mod:`~langchain_openrouter_fallback._decisions.adapt`:
structured output, ``tool_choice``, ``max_tokens``, unsupported fields, prefill). Then
capability-aware skipping: a request that, adapted, still needs tools, images or a JSON schema
skips links the catalog says lack them, and a prompt whose estimated size exceeds a link's
context window skips that link. Unknown models are never skipped on capability grounds.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, overload

from langchain_openrouter_fallback._decisions.adapt import (
    Adaptation,
    CatalogLimits,
    adapt,
    untouched,
)
from langchain_openrouter_fallback._decisions.prefill import rejects_prefill
from langchain_openrouter_fallback._definition.payload import group_links, link_payload

if TYPE_CHECKING:
    from langchain_openrouter_fallback._decisions.adapt import Adapted
    from langchain_openrouter_fallback._definition.catalog import Catalog
    from langchain_openrouter_fallback._definition.chain import FallbackChain, Link

__all__ = [
    "CHARS_PER_TOKEN",
    "Plan",
    "RequestFeatures",
    "Step",
    "estimate_tokens",
    "plan",
    "step_groups",
]

CHARS_PER_TOKEN = 4
"""Rough prompt-size estimate; deliberately simple (no tokenizer dependency)."""
_IMAGE_PARTS = frozenset({"image_url", "image"})


def estimate_tokens(
    messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None
) -> int:
    """Estimated prompt tokens: characters / 4 (+4 per message), images excluded.

    ``tools`` (OpenAI format) count as their JSON characters / 4. Context checks, ``max_cost``
    and ``ChatOpenRouterFallback.get_num_tokens*`` all use this one estimate.
    """
    extra = len(json.dumps(tools)) // CHARS_PER_TOKEN if tools else 0
    size = 0
    for message in messages:
        content = message.get("content")
        if isinstance(content, list):
            size += sum(len(str(p.get("text", ""))) for p in content if isinstance(p, dict))
        elif content:
            size += len(str(content))
        if message.get("tool_calls"):
            size += len(json.dumps(message["tool_calls"]))
    return size // CHARS_PER_TOKEN + 4 * len(messages) + extra


@dataclass(frozen=True, slots=True)
class RequestFeatures:
    """What a request needs from a model."""

    tools: bool = False
    images: bool = False
    json_schema: bool = False
    json_mode: bool = False
    prompt_tokens: int = 0

    @classmethod
    def of(cls, body: dict[str, Any], prompt_tokens: int | None = None) -> RequestFeatures:
        """Read the features from an OpenAI-style request body.

        ``prompt_tokens``: ``estimate_tokens`` of the body's messages, when already known.
        """
        messages = body.get("messages") or []
        images = False
        for message in messages:  # a loop, not a generator: text-only messages cost a check
            content = message.get("content")
            if isinstance(content, list) and any(
                isinstance(part, dict) and part.get("type") in _IMAGE_PARTS for part in content
            ):
                images = True
                break
        fmt = body.get("response_format")
        kind = fmt.get("type") if fmt else None
        return cls(
            bool(body.get("tools")) and body.get("tool_choice") != "none",
            images,
            kind == "json_schema",
            kind == "json_object",
            estimate_tokens(messages) if prompt_tokens is None else prompt_tokens,
        )

    def missing(self, capabilities: frozenset[str]) -> list[str]:
        """Capabilities this request needs that are not in ``capabilities``."""
        if not (self.tools or self.images or self.json_schema or self.json_mode):
            return []  # most requests need nothing special
        needs = {
            "tools": self.tools,
            "vision": self.images,
            "json_schema": self.json_schema,
            "json_mode": self.json_mode,
        }
        return [name for name, needed in needs.items() if needed and name not in capabilities]


@dataclass(slots=True)
class Step:
    """One planned attempt."""

    label: str
    links: list[Link]
    body: dict[str, Any]
    skip: str | None = None
    """Why the step will not run, decided before sending anything."""
    context_length: int | None = None
    """The primary model's context window per the catalog (``None``: unknown)."""
    adapted: Adapted = field(default_factory=dict)
    """What the body changed for this link: ``{field: (sent, requested)}``."""
    schema_tool: str | None = None
    """The tool standing in for ``response_format: json_schema`` (its call is the answer)."""

    @property
    def link(self) -> Link:
        """The first (client mode: only) link of the step."""
        return self.links[0]

    @property
    def model(self) -> str:
        """The primary model of the step."""
        return self.links[0].model


def _skip_reason(link: Link, features: RequestFeatures, catalog: Catalog) -> str | None:
    info = catalog.get(link.model)
    if info is None:
        return None
    missing = features.missing(info.capabilities())
    if missing:
        return f"lacks {', '.join(missing)}"
    if info.context_length and features.prompt_tokens > info.context_length:
        return f"prompt (~{features.prompt_tokens} tokens) exceeds context {info.context_length}"
    return None


def adapt_for(
    links: Sequence[Link], body: dict[str, Any], catalog: Catalog, prompt_tokens: int
) -> Adaptation:
    """``body`` adapted to what ``links`` (one link, or a server-mode group) accept."""
    rejects = any(map(rejects_prefill, links))
    if not rejects and untouched(body, catalog.tracked_parameters):
        return Adaptation(body)  # what adapt returns for it, without the catalog's limits
    infos = [info for link in links if (info := catalog.get(link.model)) is not None]
    provider = links[0].provider
    return adapt(
        body,
        CatalogLimits.of(infos),
        tracked=catalog.tracked_parameters,
        prompt_tokens=prompt_tokens,
        enforce=bool(provider and provider.require_parameters),
        rejects_prefill=rejects,
    )


def step_groups(chain: FallbackChain) -> list[list[Link]]:
    """The links each step sends: one per step in client mode, up to three in server mode."""
    return group_links(chain) if chain.mode == "server" else [[link] for link in chain.models]


class Plan(Sequence["Step"]):
    """The ordered steps of one request, each built when first asked for.

    Building a step adapts and checks a body; most requests are served by the first link,
    so the others are only built if the run reaches them.
    """

    def __init__(
        self,
        chain: FallbackChain,
        messages: list[dict[str, Any]],
        params: dict[str, Any],
        catalog: Catalog,
    ) -> None:
        """Group the links; no body is built yet."""
        self._chain = chain
        self._messages = messages
        self._params = params
        self._catalog = catalog
        self._groups = step_groups(chain)
        self._steps: list[Step | None] = [None] * len(self._groups)
        self._prompt_tokens: int | None = None

    def __len__(self) -> int:
        return len(self._groups)

    @overload
    def __getitem__(self, index: int) -> Step: ...

    @overload
    def __getitem__(self, index: slice) -> list[Step]: ...

    def __getitem__(self, index: int | slice) -> Step | list[Step]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        step = self._steps[index]
        if step is None:
            step = self._steps[index] = self._build(self._groups[index])
        return step

    def _build(self, group: list[Link]) -> Step:
        chain, catalog = self._chain, self._catalog
        if self._prompt_tokens is None:
            self._prompt_tokens = estimate_tokens(self._messages)
        requested = link_payload(chain, group, self._messages, self._params)
        adapted = adapt_for(group, requested, catalog, self._prompt_tokens)
        # The estimate holds while adapting left the messages as they were (the usual case).
        same = adapted.body.get("messages") is self._messages
        features = RequestFeatures.of(adapted.body, self._prompt_tokens if same else None)
        info = catalog.get(group[0].model)
        step = Step(
            group[0].label if len(group) == 1 else "+".join(link.label for link in group),
            group,
            adapted.body,
            context_length=info.context_length if info else None,
            adapted=adapted.adapted,
            schema_tool=adapted.schema_tool,
        )
        if chain.mode == "client":
            step.skip = _skip_reason(group[0], features, catalog)
        else:
            usable = [link for link in group if _skip_reason(link, features, catalog) is None]
            step.skip = None if usable else "no model in the group fits the request"
        return step


def plan(
    chain: FallbackChain,
    messages: list[dict[str, Any]],
    params: dict[str, Any],
    catalog: Catalog,
) -> Plan:
    """The ordered steps for one request (built lazily, see :class:`Plan`)."""
    return Plan(chain, messages, params, catalog)
