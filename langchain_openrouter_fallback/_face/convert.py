"""OpenRouter response JSON -> LangChain messages, with every malformed shape classified.

Shapes handled besides the normal ones: ``{"id": null, "choices": null, "error": {...}}`` and
other 200 bodies carrying ``error``, ``choices[0].finish_reason == "error"`` with
``choices[0].error``, and in-band stream errors (a chunk with a top-level ``error``).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    InvalidToolCall,
    ToolCall,
    ToolCallChunk,
)
from langchain_core.messages.ai import InputTokenDetails, OutputTokenDetails, UsageMetadata

from langchain_openrouter_fallback._decisions.clock import AttemptFailure
from langchain_openrouter_fallback._errors import ErrorKind
from langchain_openrouter_fallback._wire.attempt import usable_choice

if TYPE_CHECKING:
    from langchain_openrouter_fallback._wire.attempt import Delta

__all__ = [
    "chunk_to_message",
    "completion_to_message",
    "merge_reasoning_details",
    "reasoning_kwargs",
    "response_metadata",
    "usage_metadata",
]

MODEL_PROVIDER = "openrouter"


def usage_metadata(usage: Any) -> UsageMetadata | None:
    """OpenRouter ``usage`` -> LangChain usage metadata (cached and reasoning tokens too)."""
    if not isinstance(usage, dict):
        return None
    prompt = int(usage.get("prompt_tokens") or 0)
    completion = int(usage.get("completion_tokens") or 0)
    result = UsageMetadata(
        input_tokens=prompt,
        output_tokens=completion,
        total_tokens=int(usage.get("total_tokens") or prompt + completion),
    )
    cached = (usage.get("prompt_tokens_details") or {}).get("cached_tokens")
    if cached is not None:
        result["input_token_details"] = InputTokenDetails(cache_read=int(cached))
    reasoning = (usage.get("completion_tokens_details") or {}).get("reasoning_tokens")
    if reasoning is not None:
        result["output_token_details"] = OutputTokenDetails(reasoning=int(reasoning))
    return result


def response_metadata(body: dict[str, Any], choice: dict[str, Any]) -> dict[str, Any]:
    """What a response says about who served it, and how."""
    meta: dict[str, Any] = {
        "model_name": body.get("model"),
        "model_provider": MODEL_PROVIDER,
        "provider": body.get("provider"),
        "id": body.get("id"),
        "finish_reason": choice.get("finish_reason"),
        "native_finish_reason": choice.get("native_finish_reason"),
    }
    usage = body.get("usage")
    if isinstance(usage, dict):
        meta["usage"] = usage
        meta["cost"] = usage.get("cost")
    return {k: v for k, v in meta.items() if v is not None}


def _tool_calls(raw_calls: Any) -> tuple[list[ToolCall], list[InvalidToolCall]]:
    calls: list[ToolCall] = []
    invalid: list[InvalidToolCall] = []
    for raw in raw_calls or []:
        function = raw.get("function") or {}
        name = str(function.get("name") or "")
        arguments = function.get("arguments") or "{}"
        try:
            args = json.loads(arguments) if isinstance(arguments, str) else arguments
        except ValueError:
            args = None
        if isinstance(args, dict):
            calls.append(ToolCall(name=name, args=args, id=raw.get("id"), type="tool_call"))
        else:
            invalid.append(
                InvalidToolCall(
                    name=name,
                    args=str(arguments),
                    id=raw.get("id"),
                    error="arguments are not a JSON object",
                    type="invalid_tool_call",
                )
            )
    return calls, invalid


def reasoning_kwargs(message: dict[str, Any]) -> dict[str, Any]:
    """Reasoning for ``additional_kwargs``: text and ``reasoning_details`` as sent.

    ``reasoning_content`` is what LangChain turns into reasoning content blocks;
    ``reasoning_details`` go back on the next turn.
    """
    extra: dict[str, Any] = {}
    if message.get("reasoning"):
        extra["reasoning_content"] = message["reasoning"]
    if message.get("reasoning_details"):
        extra["reasoning_details"] = message["reasoning_details"]
    return extra


def merge_reasoning_details(merged: list[dict[str, Any]], pieces: Any) -> None:
    """Fold streamed ``reasoning_details`` pieces into whole entries (joined by ``index``)."""
    for piece in pieces if isinstance(pieces, list) else ():
        if not isinstance(piece, dict):
            continue
        index = piece.get("index")
        entry = next((e for e in merged if index is not None and e.get("index") == index), None)
        if entry is None:
            merged.append(dict(piece))
            continue
        for key, value in piece.items():
            if key in _JOINED and isinstance(value, str) and isinstance(entry.get(key), str):
                entry[key] += value
            elif value is not None and entry.get(key) is None:
                entry[key] = value


_JOINED = frozenset({"text", "summary", "data", "signature"})
"""``reasoning_details`` fields streamed in pieces; other fields are the same in every piece."""


def completion_to_message(body: Any, choice: dict[str, Any] | None = None) -> AIMessage:
    """A non-streaming completion body -> ``AIMessage`` (raises ``AttemptFailure`` if unusable).

    ``choice``: the body's first choice when the caller's reader already checked it.
    """
    if choice is None:
        choice = usable_choice(body)
    message = choice.get("message")
    if not isinstance(message, dict):
        raise AttemptFailure(ErrorKind.MALFORMED, "choice has no message object")
    calls, invalid = _tool_calls(message.get("tool_calls"))
    extra = reasoning_kwargs(message)
    if message.get("refusal"):
        extra["refusal"] = message["refusal"]
    return AIMessage(
        content=message.get("content") or "",
        tool_calls=calls,
        invalid_tool_calls=invalid,
        additional_kwargs=extra,
        usage_metadata=usage_metadata(body.get("usage")),
        response_metadata=response_metadata(body, choice),
        id=body.get("id"),
    )


def chunk_to_message(checked: Delta) -> AIMessageChunk:
    """One checked stream chunk (see ``AttemptReader``) -> message chunk.

    The chunk carries content, reasoning, tool-call deltas and usage; who-served metadata is
    attached once, to the final chunk, by the caller (LangChain concatenates string metadata).
    ``reasoning_details`` pieces are left in ``additional_kwargs`` for the caller to join.
    """
    data, delta = checked.data, checked.delta
    tool_chunks = [
        ToolCallChunk(
            name=(call.get("function") or {}).get("name"),
            args=(call.get("function") or {}).get("arguments"),
            id=call.get("id"),
            index=call.get("index"),
            type="tool_call_chunk",
        )
        for call in delta.get("tool_calls") or []
    ]
    return AIMessageChunk(
        content=delta.get("content") or "",
        tool_call_chunks=tool_chunks,
        additional_kwargs=reasoning_kwargs(delta),
        usage_metadata=usage_metadata(data.get("usage")),
        id=data.get("id"),
    )
