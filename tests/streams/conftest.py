"""One emulator per module, reset per test; chains and helpers shared by the stream tests."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
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
"""The limit a test expects to fire (seconds): small, so a silent server costs little time.

Only the link whose server is scripted to go silent forever gets it (see :func:`limits_for`):
a healthy link on a loaded single core can miss 0.2 s, and must not change the outcome."""
ROOMY = 20.0
"""Every other limit (seconds): far beyond any scheduling delay, below pytest's timeout."""


def link(model: str, label: str, **extra: Any) -> dict[str, Any]:
    """A link whose limits are all roomy unless ``extra`` tightens one."""
    return {
        "model": model,
        "label": label,
        "timeout": ROOMY,
        "first_token_timeout": ROOMY,
        "stall_timeout": ROOMY,
        **extra,
    }


def limits_for(fault: dict[str, Any] | None) -> dict[str, float]:
    """The limit that ``fault``'s silence trips, set to LIMIT; nothing for faults that end the body.

    A stall after content trips the stall limit (it only runs once output has arrived);
    a stall before any chunk or a first token that never comes trips the first-token limit.
    """
    fault = fault or {}
    if fault.get("slow_first_token") == "forever" or fault.get("stall_after") == 0:
        return {"first_token_timeout": LIMIT}
    if fault.get("stall_after") is not None:
        return {"stall_timeout": LIMIT}
    return {}


def make_chain(
    mode: str,
    *links: dict[str, Any],
    hedge: float | None = None,
    fault: dict[str, Any] | None = None,
) -> FallbackChain:
    """``links``, or a primary tightened for ``fault`` and a roomy secondary."""
    links = links or (link(PRIMARY, "primary", **limits_for(fault)), link(SECONDARY, "secondary"))
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
    at_first_text: Any = None
    """What ``consume``'s ``on_text`` returned when the first text reached the consumer."""

    @property
    def attempts(self) -> list[dict[str, Any]]:
        if self.error is not None:
            return [a.as_dict() for a in self.error.attempts]  # type: ignore[attr-defined]
        return self.last.response_metadata["fallback"]["attempts"]


def consume(
    llm: Any,
    method: str,
    prompt: Any = "Say it",
    on_text: Callable[[], Any] | None = None,
    **kwargs: Any,
) -> Outcome:
    """Stream (sync or async) and keep what the consumer saw, including a final error.

    ``on_text`` is called when the first text reaches the consumer (before the next chunk
    is asked for); its result is kept as ``Outcome.at_first_text``.
    """
    chunks: list[Any] = []
    seen: list[Any] = []

    def keep(chunk: Any) -> None:
        if chunk.text and on_text is not None and not seen:
            seen.append(on_text())
        chunks.append(chunk)

    try:
        if method == "stream":
            for chunk in llm.stream(prompt, **kwargs):
                keep(chunk)
        else:

            async def run() -> None:
                try:
                    async for chunk in llm.astream(prompt, **kwargs):
                        keep(chunk)
                finally:
                    await llm._transport.aclose()  # its pool cannot outlive this loop

            asyncio.run(run())
    except Exception as exc:
        outcome = Outcome("".join(c.text for c in chunks), None, exc, chunks)
    else:
        outcome = Outcome("".join(c.text for c in chunks), chunks[-1], None, chunks)
    outcome.at_first_text = seen[0] if seen else None
    return outcome
