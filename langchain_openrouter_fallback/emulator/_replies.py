"""Deterministic answers: default text, scripted text/tool calls, schema-valid JSON.

Nothing here reads the prompt's wording. The only request facts used are structural: which
tools were offered, ``tool_choice``, ``response_format`` and whether the last message is a
tool result. The one exception is an assistant prefill: when the last message is an
``assistant`` message whose text starts the reply, only the rest of the reply is sent.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from langchain_openrouter_fallback.emulator._scenario import ScriptedAnswer

__all__ = [
    "Reply",
    "ToolCall",
    "build_reply",
    "continue_prefill",
    "estimate_prompt_tokens",
    "estimate_tokens",
    "prefill_of",
    "schema_value",
    "split_text",
]

_MAX_DEPTH = 8
_STRING_FORMATS = {
    "date": "2024-01-01",
    "date-time": "2024-01-01T00:00:00Z",
    "time": "00:00:00",
    "email": "user@example.com",
    "uri": "https://example.com",
    "uuid": "00000000-0000-4000-8000-000000000000",
}


@dataclass(frozen=True, slots=True)
class ToolCall:
    """One tool call of a reply; ``arguments`` is the JSON text sent on the wire."""

    id: str
    name: str
    arguments: str


@dataclass(frozen=True, slots=True)
class Reply:
    """What the serving model answers: text, or tool calls (then ``text`` is ``None``)."""

    text: str | None
    tool_calls: tuple[ToolCall, ...] = ()
    refusal: str | None = None
    finish: str | None = None
    """``finish_reason`` when scripted (default: ``tool_calls`` or ``stop``)."""

    @property
    def finish_reason(self) -> str:
        """The ``finish_reason`` this reply ends with."""
        return self.finish or ("tool_calls" if self.tool_calls else "stop")

    @property
    def completion_chars(self) -> int:
        """Characters the completion-token estimate is based on."""
        calls = sum(len(c.name) + len(c.arguments) for c in self.tool_calls)
        return len(self.text or "") + calls


def estimate_tokens(chars: int) -> int:
    """The emulator's token estimate: one token per four characters, at least one."""
    return max(1, chars // 4)


def _content_chars(content: Any) -> int:
    if isinstance(content, str):
        return len(content)
    if isinstance(content, list):
        return sum(len(p.get("text") or "") for p in content if isinstance(p, dict))
    return 0


def estimate_prompt_tokens(body: dict[str, Any]) -> int:
    """Estimated prompt tokens of a request (message text plus the tool definitions)."""
    chars = sum(_content_chars(m.get("content")) for m in body["messages"] if isinstance(m, dict))
    tools = body.get("tools")
    if tools:
        chars += len(json.dumps(tools))
    return estimate_tokens(chars)


def split_text(text: str, parts: int) -> list[str]:
    """Split ``text`` into at most ``parts`` non-empty pieces at word boundaries."""
    words = text.split(" ")
    if parts <= 1 or len(words) <= 1:
        return [text]
    size = -(-len(words) // parts)
    pieces = [" ".join(words[i : i + size]) for i in range(0, len(words), size)]
    return [p if i == 0 else " " + p for i, p in enumerate(pieces)]


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if not isinstance(ref, str) or not ref.startswith("#/"):
        return schema
    node: Any = root
    for part in ref[2:].split("/"):
        node = node.get(part, {}) if isinstance(node, dict) else {}
    return node if isinstance(node, dict) else {}


def _string_value(schema: dict[str, Any]) -> str:
    value = _STRING_FORMATS.get(str(schema.get("format")), "example")
    min_len = int(schema.get("minLength") or 0)
    max_len = schema.get("maxLength")
    value = value.ljust(min_len, "x")
    return value[: int(max_len)] if max_len is not None else value


def _number_value(schema: dict[str, Any], *, integer: bool) -> int | float:
    low = schema.get("minimum", schema.get("exclusiveMinimum"))
    high = schema.get("maximum", schema.get("exclusiveMaximum"))
    value: float = 1
    if low is not None and value <= low:
        value = low + 1 if "exclusiveMinimum" in schema else low
    if high is not None and value >= high:
        value = high - 1 if "exclusiveMaximum" in schema else high
    return int(value) if integer else float(value)


def _schema_type(schema: dict[str, Any]) -> str | None:
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind is None and "properties" in schema:
        return "object"
    return kind if isinstance(kind, str) else None


def _object_value(schema: dict[str, Any], root: dict[str, Any], depth: int) -> dict[str, Any]:
    props = schema.get("properties") or {}
    return {
        name: schema_value(props.get(name) or {}, root, depth + 1)
        for name in schema.get("required") or []
    }


def _array_value(schema: dict[str, Any], root: dict[str, Any], depth: int) -> list[Any]:
    count = int(schema.get("minItems") or 0)
    return [schema_value(schema.get("items") or {}, root, depth + 1) for _ in range(count)]


def schema_value(schema: dict[str, Any], root: dict[str, Any] | None = None, depth: int = 0) -> Any:
    """A deterministic value valid against a (practical subset of) JSON Schema.

    Required properties are filled with type-appropriate placeholders; ``enum``/``const``
    pick their first value; ``anyOf``/``oneOf`` take the first branch; local ``$ref`` resolve.
    """
    root = schema if root is None else root
    schema = _resolve(schema, root)
    if depth > _MAX_DEPTH:
        return None
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        if schema.get(key):
            return schema_value(schema[key][0], root, depth + 1)
    builders: dict[str | None, Any] = {
        "object": lambda: _object_value(schema, root, depth),
        "array": lambda: _array_value(schema, root, depth),
        "string": lambda: _string_value(schema),
        "integer": lambda: _number_value(schema, integer=True),
        "number": lambda: _number_value(schema, integer=False),
        "boolean": lambda: True,
        "null": lambda: None,
    }
    return builders.get(_schema_type(schema), lambda: "example")()


def _tool_schemas(tools: list[Any]) -> dict[str, dict[str, Any]]:
    schemas: dict[str, dict[str, Any]] = {}
    for tool in tools:
        function = tool.get("function") if isinstance(tool, dict) else None
        if isinstance(function, dict) and isinstance(function.get("name"), str):
            schemas[function["name"]] = function.get("parameters") or {"type": "object"}
    return schemas


def _arguments(value: dict[str, Any] | str | None, schema: dict[str, Any]) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        value = schema_value(schema)
    return json.dumps(value, separators=(",", ":"))


def _wanted_calls(body: dict[str, Any], scripted: ScriptedAnswer | None) -> list[tuple[str, Any]]:
    tools = body.get("tools") or []
    choice = body.get("tool_choice")
    last = body["messages"][-1] if body["messages"] else {}
    if not tools or choice == "none" or (isinstance(last, dict) and last.get("role") == "tool"):
        return []
    named = (choice.get("function") or {}).get("name") if isinstance(choice, dict) else None
    if scripted is not None and scripted.tool_calls:
        offered = _tool_schemas(tools)
        calls = [
            (c.name, c.arguments)
            for c in scripted.tool_calls
            if c.name in offered and named in {None, c.name}
        ]
        if calls:
            return calls
    if isinstance(named, str):
        return [(named, None)]
    if choice == "required":
        schemas = _tool_schemas(tools)
        return [(next(iter(schemas)), None)] if schemas else []
    return []


def _structured_text(body: dict[str, Any], scripted: ScriptedAnswer | None) -> str | None:
    fmt = body.get("response_format")
    if not isinstance(fmt, dict):
        return None
    if fmt.get("type") == "json_schema":
        schema = (fmt.get("json_schema") or {}).get("schema") or {"type": "object"}
        return json.dumps(schema_value(schema), separators=(",", ":"))
    if fmt.get("type") == "json_object":
        document = scripted.json_object if scripted is not None else None
        return json.dumps(document or {}, separators=(",", ":"), ensure_ascii=False)
    return None


def build_reply(
    body: dict[str, Any],
    *,
    scripted: ScriptedAnswer | None,
    default_text: str,
    call_id: str,
) -> Reply:
    """Choose the reply: tool calls, structured JSON, scripted text or the default text."""
    calls = _wanted_calls(body, scripted)
    if calls:
        schemas = _tool_schemas(body.get("tools") or [])
        return Reply(
            text=None,
            tool_calls=tuple(
                ToolCall(f"{call_id}_{i}", name, _arguments(args, schemas.get(name, {})))
                for i, (name, args) in enumerate(calls)
            ),
        )
    structured = _structured_text(body, scripted)
    if structured is not None:
        return Reply(text=structured)
    if scripted is not None and scripted.reply is not None:
        return Reply(text=scripted.reply)
    return Reply(text=default_text)


def prefill_of(body: dict[str, Any]) -> str | None:
    """The assistant prefill a request ends with (its text), or ``None``."""
    messages = body.get("messages") or []
    last = messages[-1] if messages else None
    if not isinstance(last, dict) or last.get("role") != "assistant":
        return None
    content = last.get("content")
    if isinstance(content, list):
        content = "".join(p.get("text") or "" for p in content if isinstance(p, dict))
    return content if isinstance(content, str) else None


def continue_prefill(reply: Reply, prefill: str | None) -> Reply:
    """The rest of a text reply that starts with ``prefill``; other replies are unchanged.

    A prefill that does not start the reply is ignored (the whole reply is sent), as a model
    that starts a new answer would.
    """
    if not prefill or reply.text is None or not reply.text.startswith(prefill):
        return reply
    return Reply(text=reply.text[len(prefill) :])
