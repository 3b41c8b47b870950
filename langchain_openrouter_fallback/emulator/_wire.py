"""OpenRouter's wire shapes: completion bodies, SSE chunks, usage and error bodies.

Key sets and key order follow the real recordings in ``tests/data/recordings``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from langchain_openrouter_fallback.emulator._replies import Reply
    from langchain_openrouter_fallback.emulator._scenario import ErrorSpec, MidstreamError

__all__ = [
    "DONE",
    "KEEPALIVE",
    "USER_ID",
    "Served",
    "completion_body",
    "context_length_error",
    "dumps",
    "error_200_body",
    "error_body",
    "fault_error",
    "midstream_chunk",
    "sse",
    "stream_events",
]

KEEPALIVE = b": OPENROUTER PROCESSING\n\n"
DONE = b"data: [DONE]\n\n"
USER_ID = "user_emulator"
_SEP = (",", ":")
_CONTEXT_MESSAGE = (
    "This endpoint's maximum context length is {limit} tokens. However, you requested about "
    "{asked} tokens ({asked} of text input). Please reduce the length of either one, or use "
    "the context-compression plugin to compress your prompt automatically."
)
_DEFAULT_MESSAGES = {
    400: "Provider returned error",
    401: "User not found.",
    402: "Insufficient credits. Add more using https://openrouter.ai/settings/credits",
    403: '{model} requires moderation on OpenRouter. Your input was flagged for "harassment"',
    404: "No endpoints found for {model}.",
    408: "Request timed out",
    413: "Payload too large",
    422: "Unprocessable request",
    429: "Provider returned error",
    500: "Internal Server Error",
    502: "Provider returned error",
    503: "No instances available",
    524: "Provider returned error",
    529: "Provider returned error",
}
_ERROR_TYPES = {
    400: "invalid_request",
    401: "authentication",
    402: "payment_required",
    403: "content_policy_violation",
    408: "timeout",
    429: "rate_limit_exceeded",
    500: "server",
    502: "provider_unavailable",
    503: "provider_unavailable",
    524: "timeout",
    529: "provider_overloaded",
}
_RAW = {
    429: "{model} is temporarily rate-limited upstream. Please retry shortly.",
    529: "Overloaded",
}
_PROVIDER_ERRORS = frozenset({400, 408, 429, 500, 502, 503, 524, 529})


def dumps(value: Any) -> bytes:
    """Compact JSON bytes, as OpenRouter sends them."""
    return json.dumps(value, separators=_SEP, ensure_ascii=False).encode()


def sse(value: Any) -> bytes:
    """One ``data:`` event."""
    return b"data: " + dumps(value) + b"\n\n"


def error_body(
    status: int, message: str, metadata: dict[str, Any] | None = None, *, user_id: bool = True
) -> dict[str, Any]:
    """``{"error": {"message", "code", "metadata"?}, "user_id"?}``."""
    error: dict[str, Any] = {"message": message, "code": status}
    if metadata is not None:
        error["metadata"] = metadata
    body: dict[str, Any] = {"error": error}
    if user_id:
        body["user_id"] = USER_ID
    return body


def context_length_error(limit: int, asked: int, tries: int) -> dict[str, Any]:
    """The real 400 for a prompt over the context window, with ``previous_errors``."""
    message = _CONTEXT_MESSAGE.format(limit=limit, asked=asked)
    previous = [{"code": 400, "message": message} for _ in range(max(0, tries - 1))]
    return error_body(400, message, {"provider_name": None, "previous_errors": previous})


def _metadata(spec: ErrorSpec, model: str, provider: str, message: str) -> dict[str, Any] | None:
    if spec.metadata is not None:
        return spec.metadata
    status = spec.status
    if status == 403:  # noqa: PLR2004 - HTTP status
        return {
            "reasons": ["harassment"],
            "flagged_input": "...",
            "provider_name": provider,
            "model_slug": model,
        }
    if status not in _PROVIDER_ERRORS:
        return None
    if spec.metadata_style == "current":
        return {"error_type": _ERROR_TYPES.get(status, "server"), "provider_code": status}
    raw = _RAW.get(status, message).format(model=model)
    return {"provider_name": provider, "raw": raw}


def fault_error(
    spec: ErrorSpec, model: str, provider: str, prompt_tokens: int
) -> tuple[int, dict[str, Any], dict[str, str]]:
    """Status, body and extra headers of a scripted error."""
    if spec.context_tokens is not None:
        limit = min(spec.context_tokens, max(1, prompt_tokens - 1))
        return 400, context_length_error(limit, prompt_tokens, 1), {}
    message = spec.message or _DEFAULT_MESSAGES[spec.status].format(model=model)
    metadata = _metadata(spec, model, provider, message)
    headers: dict[str, str] = {}
    if spec.retry_after is not None or spec.status == 429:  # noqa: PLR2004 - HTTP status
        headers["retry-after"] = str(1 if spec.retry_after is None else spec.retry_after)
    return spec.status, error_body(spec.status, message, metadata), headers


@dataclass(frozen=True, slots=True)
class Served:
    """Who served a completion and its identity on the wire."""

    gen_id: str
    created: int
    model: str
    provider: str
    native_finish: dict[str, str]
    prompt_tokens: int
    prompt_price: float
    completion_price: float

    def head(self, obj: str) -> dict[str, Any]:
        """The leading keys every body/chunk carries."""
        return {
            "id": self.gen_id,
            "object": obj,
            "created": self.created,
            "model": self.model,
            "provider": self.provider,
        }

    def usage(self, completion_tokens: int, reasoning_tokens: int = 0) -> dict[str, Any]:
        """The ``usage`` object with cost from catalog prices."""
        prompt_cost = self.prompt_tokens * self.prompt_price
        completion_cost = completion_tokens * self.completion_price
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": self.prompt_tokens + completion_tokens,
            "cost": prompt_cost + completion_cost,
            "is_byok": False,
            "prompt_tokens_details": {
                "cached_tokens": 0,
                "cache_write_tokens": 0,
                "audio_tokens": 0,
                "video_tokens": 0,
            },
            "cost_details": {
                "upstream_inference_cost": prompt_cost + completion_cost,
                "upstream_inference_prompt_cost": prompt_cost,
                "upstream_inference_completions_cost": completion_cost,
            },
            "completion_tokens_details": {
                "reasoning_tokens": reasoning_tokens,
                "image_tokens": 0,
                "audio_tokens": 0,
            },
        }

    def finish(self, reason: str) -> tuple[str, str]:
        """``finish_reason`` and the provider's ``native_finish_reason``."""
        return reason, self.native_finish.get(reason, reason)


def _tool_calls_json(reply: Reply) -> list[dict[str, Any]]:
    return [
        {
            "type": "function",
            "index": i,
            "id": call.id,
            "function": {"name": call.name, "arguments": call.arguments},
        }
        for i, call in enumerate(reply.tool_calls)
    ]


def reasoning_details(served: Served, text: str) -> list[dict[str, Any]]:
    """``reasoning_details`` as recorded: one ``reasoning.text`` entry at index 0."""
    vendor = served.model.partition("/")[0]
    fmt = _REASONING_FORMATS.get(vendor, "unknown")
    return [{"type": "reasoning.text", "text": text, "format": fmt, "index": 0}]


_REASONING_FORMATS = {
    "anthropic": "anthropic-claude-v1",
    "openai": "openai-responses-v1",
    "google": "google-gemini-v1",
    "x-ai": "xai-responses-v1",
}
"""``reasoning_details[].format`` per vendor (OpenRouter's reasoning-tokens docs)."""


def _reasoning_tokens(reasoning: str | list[str] | None) -> int:
    text = "".join(reasoning) if isinstance(reasoning, list) else reasoning or ""
    return max(1, len(text) // 4) if text else 0


def completion_body(
    served: Served, reply: Reply, completion_tokens: int, reasoning: str | None = None
) -> dict[str, Any]:
    """A non-streaming ``chat.completion`` body (``reasoning`` beside the content)."""
    finish, native = served.finish(reply.finish_reason)
    message: dict[str, Any] = {
        "role": "assistant",
        "content": reply.text,
        "refusal": reply.refusal,
        "reasoning": reasoning,
    }
    if reasoning:
        message["reasoning_details"] = reasoning_details(served, reasoning)
    if reply.tool_calls:
        message["tool_calls"] = _tool_calls_json(reply)
    body = served.head("chat.completion")
    body["system_fingerprint"] = None
    body["service_tier"] = None
    body["choices"] = [
        {
            "index": 0,
            "logprobs": None,
            "finish_reason": finish,
            "native_finish_reason": native,
            "message": message,
        }
    ]
    reasoning_tokens = _reasoning_tokens(reasoning)
    body["usage"] = served.usage(completion_tokens + reasoning_tokens, reasoning_tokens)
    return body


def _chunk(served: Served, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    reason, native = served.finish(finish) if finish else (None, None)
    chunk = served.head("chat.completion.chunk")
    chunk["choices"] = [
        {"index": 0, "delta": delta, "finish_reason": reason, "native_finish_reason": native}
    ]
    return chunk


def _tool_deltas(reply: Reply, pieces: int) -> list[dict[str, Any]]:
    deltas: list[dict[str, Any]] = []
    for i, call in enumerate(reply.tool_calls):
        opening = {"index": i, "id": call.id, "type": "function"}
        opening["function"] = {"name": call.name, "arguments": ""}
        deltas.append({"content": None, "role": "assistant", "tool_calls": [opening]})
        size = max(1, -(-len(call.arguments) // pieces))
        for start in range(0, len(call.arguments), size):
            part = {"index": i, "function": {"arguments": call.arguments[start : start + size]}}
            deltas.append({"content": None, "role": "assistant", "tool_calls": [part]})
    return deltas


def stream_events(
    served: Served,
    reply: Reply,
    pieces: list[str],
    completion_tokens: int,
    thoughts: list[str] | None = None,
) -> list[dict[str, Any]]:
    """Every data chunk of a successful stream: reasoning, content, finish, then usage.

    Reasoning deltas carry ``content: ""`` beside ``reasoning`` and ``reasoning_details``,
    in the shape recorded for Claude Haiku 4.5 (``NOTES.md``, "Reasoning").
    """
    deltas: list[dict[str, Any]] = [
        {
            "content": "",
            "role": "assistant",
            "reasoning": thought,
            "reasoning_details": reasoning_details(served, thought),
        }
        for thought in thoughts or []
    ]
    if reply.refusal:
        deltas.append({"content": None, "role": "assistant", "refusal": reply.refusal})
    if reply.tool_calls:
        deltas += _tool_deltas(reply, max(1, len(pieces)))
    else:
        deltas += [{"content": p, "role": "assistant"} for p in pieces if p]
    chunks = [_chunk(served, d) for d in deltas]
    chunks.append(_chunk(served, {"content": "", "role": "assistant"}, reply.finish_reason))
    usage = served.head("chat.completion.chunk")
    usage["service_tier"] = None
    usage["choices"] = chunks[-1]["choices"]
    reasoning_tokens = _reasoning_tokens(thoughts)
    usage["usage"] = served.usage(completion_tokens + reasoning_tokens, reasoning_tokens)
    chunks.append(usage)
    return chunks


def midstream_chunk(head: dict[str, Any], spec: MidstreamError) -> dict[str, Any]:
    """An in-band error chunk: top-level ``error`` plus ``finish_reason`` ``error``/``null``."""
    chunk = {**head, "object": "chat.completion.chunk"}
    chunk["error"] = {"code": spec.code, "message": spec.message}
    chunk["choices"] = [
        {
            "index": 0,
            "delta": {"content": ""},
            "finish_reason": spec.finish_reason,
            "native_finish_reason": None,
        }
    ]
    return chunk


def error_200_body(provider: str) -> dict[str, Any]:
    """HTTP 200 whose body is an error: ``{"id": null, "choices": null, "error": {...}}``."""
    error = {"code": 502, "message": "Provider returned error"}
    error["metadata"] = {"provider_name": provider, "raw": "upstream returned no choices"}
    return {"id": None, "choices": None, "error": error}
