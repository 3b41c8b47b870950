"""Helpers shared by the emulator tests (kept out of conftest so tests can import them)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx

AUTH = {"Authorization": "Bearer sk-or-v1-emulator-test-key"}


def chat(model: str = "openai/gpt-4o-mini", **extra: Any) -> dict[str, Any]:
    """A minimal chat request body."""
    return {"model": model, "messages": [{"role": "user", "content": "hi"}], **extra}


def sse_events(text: str) -> list[Any]:
    """Split an SSE body into ``"keepalive"``, ``"done"``, parsed chunks or raw bad lines."""
    events: list[Any] = []
    for block in text.split("\n\n"):
        if not block.strip():
            continue
        if block.startswith(":"):
            events.append("keepalive")
        elif block == "data: [DONE]":
            events.append("done")
        else:
            payload = block.removeprefix("data: ")
            try:
                events.append(json.loads(payload))
            except ValueError:
                events.append(("malformed", payload))
    return events


def read_stream(client: httpx.Client, body: dict[str, Any]) -> tuple[httpx.Response, str]:
    """POST a streaming request and read the whole body."""
    with client.stream("POST", "/chat/completions", json={**body, "stream": True}) as r:
        text = r.read().decode()
    return r, text
