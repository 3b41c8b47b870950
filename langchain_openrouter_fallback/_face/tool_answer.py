"""A link told to call a stand-in tool for a JSON schema: its call becomes the JSON answer.

The adaptation (``_decisions/adapt.py``) turns a ``json_schema`` request into a forced tool on
links without structured outputs; here, on the LangChain side, the tool's call (or its streamed
argument deltas) is turned back into text, so the caller parses the same object whichever link
served.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from langchain_core.messages import AIMessage, AIMessageChunk

__all__ = ["ToolAnswer", "answer_from_tool"]


def answer_from_tool(message: AIMessage, name: str) -> AIMessage:
    """A message whose call of the stand-in tool ``name`` becomes its JSON text content."""
    call = next((c for c in message.tool_calls if c["name"] == name), None)
    bad = next((c for c in message.invalid_tool_calls if c.get("name") == name), None)
    if call is None and bad is None:
        return message
    text = json.dumps(call["args"]) if call is not None else str(bad.get("args") or "")  # type: ignore[union-attr]
    return message.model_copy(
        update={
            "content": text,
            "tool_calls": [c for c in message.tool_calls if c is not call],
            "invalid_tool_calls": [c for c in message.invalid_tool_calls if c is not bad],
        }
    )


class ToolAnswer:
    """Streams: the stand-in tool's argument deltas become content deltas."""

    def __init__(self, name: str) -> None:
        """Watch for calls of the tool ``name``."""
        self.name = name
        self._seen = False
        self._index: int | None = None

    def chunk(self, chunk: AIMessageChunk) -> AIMessageChunk:
        """``chunk`` with the stand-in tool's arguments moved into its text."""
        text: list[str] = []
        rest = []
        for part in chunk.tool_call_chunks:
            if part.get("name") == self.name:
                self._seen, self._index = True, part.get("index")
            elif not (self._seen and part.get("name") is None and part.get("index") == self._index):
                rest.append(part)
                continue
            text.append(part.get("args") or "")
        if not text:
            return chunk
        content = chunk.content if isinstance(chunk.content, str) else ""
        return type(chunk)(
            content=content + "".join(text),
            tool_call_chunks=rest,
            additional_kwargs=chunk.additional_kwargs,
            usage_metadata=chunk.usage_metadata,
            id=chunk.id,
        )
