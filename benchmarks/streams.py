"""Stream recovery benchmark: time to first token and total time per ``stream_recovery`` mode.

Run: ``LITELLM_LOCAL_MODEL_COST_MAP=True .venv/bin/python -m benchmarks.streams [--runs 5]``

Every model answers the same 80-token scripted reply, one token per SSE chunk, paced
``--interval`` seconds apart after ``--latency`` seconds before the headers. The primary's
stream is cut after 40 tokens on every request (breaker off, so it is always tried); the
secondary (``anthropic/claude-haiku-4.5``, which accepts an assistant prefill) is healthy.
Printed per mode, sync and async: the outcome, the median time to the first content token
the consumer saw, the median total time, and the characters the consumer received.
A ``no fault`` row gives the baseline of one healthy 80-token stream.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import time
from typing import Any

from langchain_openrouter_fallback import ChatOpenRouterFallback, FallbackChain
from langchain_openrouter_fallback.emulator import Emulator

PRIMARY = "openai/gpt-4o-mini"
SECONDARY = "anthropic/claude-haiku-4.5"
KEY = "bench-key-not-secret"
TOKENS = 80
CUT_AFTER = 40
REPLY = " ".join(f"w{i:02d}" for i in range(TOKENS))
MODES = ["raise", "buffer", "continue"]


def chain(mode: str) -> FallbackChain:
    return FallbackChain.model_validate(
        {
            "name": f"bench-streams-{mode}",
            "stream_recovery": mode,
            "breaker": {"enabled": False},
            "retry": {"max_retries": 0},
            "models": [
                {"model": PRIMARY, "label": "primary", "timeout": 30, "stall_timeout": 2},
                {"model": SECONDARY, "label": "secondary", "timeout": 30, "stall_timeout": 2},
            ],
        }
    )


def scenario(latency: float, interval: float, *, fault: bool) -> dict[str, Any]:
    faults = [{"model": PRIMARY, "cut_after": CUT_AFTER}] if fault else []
    return {
        "models": {"*": {"latency": latency, "scripted": {"reply": REPLY}}},
        "faults": faults,
        "stream": {"chunks": TOKENS, "keepalives_before": 1, "chunk_interval": interval},
    }


class Timing:
    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.first: float | None = None
        self.text: list[str] = []

    def chunk(self, text: str) -> None:
        if text and self.first is None:
            self.first = time.perf_counter() - self.start
        self.text.append(text)


def run_sync(llm: ChatOpenRouterFallback) -> tuple[Timing, str]:
    timing = Timing()
    try:
        for chunk in llm.stream("count"):
            timing.chunk(chunk.text)
    except Exception as exc:
        return timing, type(exc).__name__
    return timing, "ok"


def run_async(llm: ChatOpenRouterFallback) -> tuple[Timing, str]:
    async def go() -> tuple[Timing, str]:
        timing = Timing()
        try:
            async for chunk in llm.astream("count"):
                timing.chunk(chunk.text)
        except Exception as exc:
            return timing, type(exc).__name__
        finally:
            await llm._transport.aclose()  # noqa: SLF001 - its pool cannot outlive this loop
        return timing, "ok"

    return asyncio.run(go())


def measure(emu: Emulator, mode: str, method: str, runs: int) -> dict[str, Any]:
    llm = ChatOpenRouterFallback(chain=chain(mode), api_key=KEY, base_url=emu.base_url)
    firsts, totals, outcomes, chars = [], [], set(), set()
    for _ in range(runs):
        timing, outcome = (run_sync if method == "stream" else run_async)(llm)
        totals.append(time.perf_counter() - timing.start)
        if timing.first is not None:
            firsts.append(timing.first)
        outcomes.add(outcome)
        text = "".join(timing.text)
        chars.add(f"{len(text)}" + ("" if REPLY.startswith(text) or text == REPLY else "!"))
    return {
        "outcome": "/".join(sorted(outcomes)),
        "ttft": statistics.median(firsts) * 1000 if firsts else None,
        "total": statistics.median(totals) * 1000,
        "chars": "/".join(sorted(chars)),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--interval", type=float, default=0.01)
    args = parser.parse_args()
    logging.getLogger("langchain_openrouter_fallback").setLevel(logging.ERROR)
    print(
        f"primary cut after {CUT_AFTER} of {TOKENS} tokens; {args.latency * 1000:.0f} ms to "
        f"headers, {args.interval * 1000:.0f} ms per token; median of {args.runs} runs; "
        f"complete answer = {len(REPLY)} chars"
    )
    header = f"| {'mode':<9} | {'method':<7} | {'outcome':<22} | TTFT ms | total ms | chars |"
    print(header)
    print("|" + "|".join("-" * (len(part)) for part in header.split("|")[1:-1]) + "|")
    rows: list[tuple[str, bool]] = [("raise", False)] + [(mode, True) for mode in MODES]
    with Emulator() as emu:
        for mode, fault in rows:
            emu.set_scenario(scenario(args.latency, args.interval, fault=fault))
            for method in ("stream", "astream"):
                r = measure(emu, mode, method, args.runs)
                ttft = f"{r['ttft']:.0f}" if r["ttft"] is not None else "-"
                label = mode if fault else "no fault"
                print(
                    f"| {label:<9} | {method:<7} | {r['outcome']:<22} | {ttft:>7} | "
                    f"{r['total']:>8.0f} | {r['chars']:>5} |"
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
