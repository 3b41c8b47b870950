"""Turn a chain (or one link) plus messages into OpenRouter request bodies.

Parameter precedence, lowest to highest: chain ``params``, link ``params``, call
arguments. ``model``, ``models``, ``provider`` and ``route`` always come from the chain.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Sequence

    from langchain_openrouter_fallback._definition.chain import FallbackChain, Link

__all__ = [
    "MAX_MODELS_PER_REQUEST",
    "group_links",
    "link_payload",
    "merge_params",
    "server_payloads",
    "stream_body",
    "to_openai_messages",
]

MAX_MODELS_PER_REQUEST = 3
"""OpenRouter rejects a ``models`` list longer than this with HTTP 400."""


def to_openai_messages(messages: Sequence[Any]) -> list[dict[str, Any]]:
    """LangChain messages, tuples, strings or OpenAI dicts -> OpenAI chat message dicts.

    An assistant message's ``reasoning_details`` go back as they came (OpenRouter keeps a
    model's reasoning across tool calls only when they are sent on the next turn).
    """
    if all(isinstance(m, dict) and "role" in m for m in messages):
        return [dict(m) for m in messages]
    # LangChain is imported only when its message forms are passed: OpenAI dicts need none.
    from langchain_core.messages import (  # noqa: PLC0415
        AIMessage,
        HumanMessage,
        SystemMessage,
        convert_to_openai_messages,
    )

    # The common prompt (plain text from the user or the system) needs no converter: it is
    # what convert_to_openai_messages gives it (tests/unit_tests/test_payload.py).
    roles: dict[type[Any], str] = {HumanMessage: "user", SystemMessage: "system"}
    plain = [
        (roles[type(m)], m.content)
        for m in messages
        if type(m) in roles
        and isinstance(m.content, str)
        and not m.name
        and not m.additional_kwargs
    ]
    if len(plain) == len(messages):
        return [{"role": role, "content": content} for role, content in plain]
    details = [
        m.additional_kwargs.get("reasoning_details") if isinstance(m, AIMessage) else None
        for m in messages
    ]
    if not any(details):
        converted = convert_to_openai_messages(list(messages))
        return converted if isinstance(converted, list) else [converted]
    result: list[dict[str, Any]] = []
    for message, detail in zip(messages, details, strict=True):
        one = convert_to_openai_messages([message])
        for item in one if isinstance(one, list) else [one]:
            if detail and item.get("role") == "assistant":
                item["reasoning_details"] = detail
            result.append(item)
    return result


def merge_params(*layers: dict[str, Any]) -> dict[str, Any]:
    """Later layers win; ``None`` values in a layer mean "not set" and are skipped."""
    # One comprehension, no dict per layer (this runs several times per call); a later
    # layer's value replaces an earlier one in place, as ``dict.update`` would.
    return {key: value for layer in layers for key, value in layer.items() if value is not None}


def _routing_key(link: Link) -> tuple[Any, ...]:
    provider = link.provider.to_payload() if link.provider else None
    return (repr(provider), repr(sorted(link.params.items())))


def group_links(chain: FallbackChain) -> list[list[Link]]:
    """Consecutive links sharing provider preferences and params, at most three per group."""
    groups: list[list[Link]] = []
    for link in chain.models:
        last = groups[-1] if groups else None
        if (
            last is not None
            and len(last) < MAX_MODELS_PER_REQUEST
            and _routing_key(last[0]) == _routing_key(link)
        ):
            last.append(link)
        else:
            groups.append([link])
    return groups


def link_payload(
    chain: FallbackChain,
    links: Sequence[Link],
    messages: list[dict[str, Any]],
    params: dict[str, Any],
) -> dict[str, Any]:
    """The body for one request: one link (client mode) or one group (server mode)."""
    first = links[0]
    body: dict[str, Any] = {"model": first.model}
    if chain.mode == "server":
        body["models"] = [link.model for link in links]
    body["messages"] = messages
    body.update(merge_params(chain.params, first.params, params))
    if first.provider is not None:
        body["provider"] = first.provider.to_payload()
    if chain.legacy_route and chain.mode == "server":
        body["route"] = "fallback"
    return body


def server_payloads(
    chain: FallbackChain, messages: Sequence[Any], params: dict[str, Any]
) -> list[dict[str, Any]]:
    """Server-mode bodies: one per link group, ``model`` equal to ``models[0]``."""
    converted = to_openai_messages(messages)
    server = chain if chain.mode == "server" else chain.model_copy(update={"mode": "server"})
    return [link_payload(server, group, converted, params) for group in group_links(chain)]


def stream_body(body: dict[str, Any]) -> dict[str, Any]:
    """``body`` as a stream request that ends with a usage chunk."""
    return {**body, "stream": True, "stream_options": {"include_usage": True}}
