"""One emulator per module, reset per test; chains and helpers shared by the stream tests."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from langchain_openrouter_fallback import ChatOpenRouterFallback, FallbackChain
from langchain_openrouter_fallback.emulator import Emulator

KEY = "streams-test-key-0000"
PRIMARY = "openai/gpt-4o-mini"
SECONDARY = "anthropic/claude-haiku-4.5"
THIRD = "anthropic/claude-sonnet-4.5"
REPLY = "The quick brown fox jumps over the lazy dog while streams never lie about it."
LIMIT = 0.2
"""Stall and first-token limits (seconds): small, so stalls cost little test time."""


def link(model: str, label: str, **extra: Any) -> dict[str, Any]:
    return {
        "model": model,
        "label": label,
        "timeout": 3,
        "first_token_timeout": LIMIT,
        "stall_timeout": LIMIT,
        **extra,
    }


def make_chain(mode: str, *links: dict[str, Any], hedge: float | None = None) -> FallbackChain:
    links = links or (link(PRIMARY, "primary"), link(SECONDARY, "secondary"))
    doc: dict[str, Any] = {
        "name": f"streams-{mode}",
        "models": list(links),
        "stream_recovery": mode,
        "breaker": {"enabled": False},
        "retry": {"max_retries": 0},
    }
    if hedge is not None:
        doc["hedge"] = {"after": hedge}
    return FallbackChain.model_validate(doc)


def scenario(
    fault: dict[str, Any] | None,
    *,
    reply: str = REPLY,
    chunks: int = 8,
    models: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Every model answers ``reply`` in ``chunks`` pieces; ``fault`` hits the primary once."""
    behaviours = {"*": {"scripted": {"reply": reply}}, **(models or {})}
    faults = [{"model": PRIMARY, "attempts": [1], **fault}] if fault else []
    return {
        "models": behaviours,
        "faults": faults,
        "stream": {"chunks": chunks, "keepalives_before": 1, "keepalive_interval": 0.05},
    }


def model(emu: Emulator, chain: FallbackChain) -> ChatOpenRouterFallback:
    return ChatOpenRouterFallback(chain=chain, api_key=KEY, base_url=emu.base_url)


@dataclass
class Outcome:
    """What the consumer saw: the concatenated text, and the last chunk or the error."""

    text: str
    last: Any = None
    error: Exception | None = None
    chunks: list[Any] = field(default_factory=list)

    @property
    def attempts(self) -> list[dict[str, Any]]:
        if self.error is not None:
            return [a.as_dict() for a in self.error.attempts]  # type: ignore[attr-defined]
        return self.last.response_metadata["fallback"]["attempts"]


def consume(llm: Any, method: str, prompt: Any = "Say it", **kwargs: Any) -> Outcome:
    """Stream (sync or async) and keep what the consumer saw, including a final error."""
    chunks: list[Any] = []
    try:
        if method == "stream":
            for chunk in llm.stream(prompt, **kwargs):
                chunks.append(chunk)  # noqa: PERF402 - keep what arrived before an error
        else:

            async def run() -> None:
                try:
                    async for chunk in llm.astream(prompt, **kwargs):
                        chunks.append(chunk)  # noqa: PERF401 - keep what arrived before an error
                finally:
                    await llm._transport.aclose()  # its pool cannot outlive this loop

            asyncio.run(run())
    except Exception as exc:
        return Outcome("".join(c.text for c in chunks), None, exc, chunks)
    return Outcome("".join(c.text for c in chunks), chunks[-1], None, chunks)
