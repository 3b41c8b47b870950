"""Limits that learn (issue 26): fixed first-token limits against ``auto``, side by side.

Run: ``.venv/bin/python -m benchmarks.learned_limits``

The upstream is ``tests/standin`` (the independent stand-in) over real HTTP on 127.0.0.1, one
server per contender. The primary's replies come from a seeded ``random.Random`` and are queued
on the server in order, so every contender meets the same replies (which request gets which is
arrival order). Requests are ``astream`` calls run concurrently; each contender warms up on the
same kind of replies first (successes teach the learner), then is measured. Breakers are off and
``max_retries`` is 0, so every request tries the primary once, then the fallback (always fast).

1. Silent: a fast primary (first token 0.25-0.35 s) goes silent (keep-alives only): when the
   silent attempt was abandoned and when the answer came, ``first_token_timeout`` 15 vs ``auto``.
2. Slow but healthy, all three limits ``auto``: first token 1.5-1.9 s, and a reasoning stream of
   ``--reasoning-seconds`` of paced reasoning deltas (pauses of up to 2 s) before its text.
   Healthy attempts abandoned (must be 0) and the limits learned.
3. Heavy tail on one primary: 85% fast (0.2-0.4 s), 8% slow but healthy (2.5-4 s), 7% hang;
   time to answer p50/p95/p99 and healthy attempts abandoned, ``first_token_timeout`` 15, 2
   and ``auto``.
4. Hedge budget: a primary whose first token takes 0.4 s, ``hedge: {after: 0.2}`` with and
   without ``budget: 0.1``: hedges started per 100 requests, 25 in flight and one at a time.

``--time-scale`` multiplies every scripted wait and limit (the smoke test runs at 0.05; the
learner's own floor of 1 s is not scaled, so only scale 1 gives the figures quoted).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import logging
import math
import os
import random
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_openrouter_fallback import ChatOpenRouterFallback, FallbackChain
from tests.standin import Reply, StandIn, keepalive_only, stream

PRIMARY = "openai/gpt-4o-mini"
FALLBACK = "anthropic/claude-haiku-4.5"
KEY = "bench-key-not-secret"
SEED = 26
PIECES = ["The", " answer", " is", " forty", "-two."]
CONCURRENCY = 25
"""Requests in flight per contender (each contender has its own server and connection pool)."""


@dataclass
class Setup:
    """Sizes and the time scale of one run."""

    warmup: int
    requests: int
    silent: int
    healthy: int
    reasoning_seconds: float
    hedge_requests: int
    scale: float

    def s(self, seconds: float) -> float:
        return seconds * self.scale


# --- replies --------------------------------------------------------------------------------


def _paced(reply: Reply, waits: Sequence[float]) -> Reply:
    """``reply`` with its first ``len(waits)`` events sent after ``waits`` instead."""
    events = [(w, data) for w, (_, data) in zip(waits, reply.events, strict=False)]
    return dataclasses.replace(reply, events=(*events, *reply.events[len(events) :]))


def answer(model: str, first: float, gap: float = 0.01) -> Reply:
    """Headers and a keep-alive at once, the first token after ``first`` s, then the rest."""
    return _paced(stream(PIECES, model=model, gap=gap), [0.0, first])


def silent(setup: Setup) -> Reply:
    """Headers, then keep-alives only, for twice the longest limit in play."""
    return keepalive_only(setup.s(30), every=setup.s(0.5))


def reasoning(rng: random.Random, setup: Setup) -> Reply:
    """Paced reasoning deltas for about ``reasoning_seconds``, then the text."""
    total = setup.s(rng.uniform(0.8, 1.2) * setup.reasoning_seconds)
    waits = [0.0, setup.s(rng.uniform(0.3, 0.6))]
    while sum(waits) < total:
        pause = rng.random() < 0.05  # a model that stops to think, mid-stream
        waits.append(setup.s(rng.uniform(1.0, 2.0) if pause else rng.uniform(0.05, 0.3)))
    thoughts = [f"step {i} " for i in range(len(waits) - 1)]
    return _paced(stream(PIECES, model=PRIMARY, reasoning=thoughts, gap=setup.s(0.02)), waits)


@dataclass(frozen=True)
class Mix:
    """Heavy tail on one upstream: what the primary does, drawn from a seeded generator."""

    fast: float = 0.85
    slow: float = 0.08  # the rest hangs

    def draw(self, rng: random.Random, setup: Setup) -> tuple[str, Reply]:
        roll = rng.random()
        if roll < self.fast:
            return "fast", answer(PRIMARY, setup.s(rng.uniform(0.2, 0.4)))
        if roll < self.fast + self.slow:
            return "slow", answer(PRIMARY, setup.s(rng.uniform(2.5, 4.0)))
        return "hang", silent(setup)


# --- clients --------------------------------------------------------------------------------


COLD = {"first_token_timeout": 15.0, "stall_timeout": 10.0, "timeout": 60.0}
"""What ``auto`` starts from (today's defaults)."""


def limit(value: float | str, setup: Setup, name: str = "first_token_timeout") -> Any:
    """A link's limit: seconds (scaled) or ``auto`` (cold at the scaled default)."""
    if value != "auto":
        return setup.s(float(value))
    return "auto" if setup.scale == 1 else {"auto": {"cold": setup.s(COLD[name])}}


def client(
    server: StandIn, name: str, chain: dict[str, Any] | None = None, **primary: Any
) -> ChatOpenRouterFallback:
    """Primary then fallback; breakers off and no retries so every request tries the primary."""
    definition = FallbackChain.model_validate(
        {
            "name": name,
            "breaker": {"enabled": False},
            "retry": {"max_retries": 0},
            "models": [
                {"model": PRIMARY, "label": "primary", **primary},
                {"model": FALLBACK, "label": "fallback"},
            ],
            **(chain or {}),
        }
    )
    return ChatOpenRouterFallback(
        chain=definition, api_key=KEY, base_url=server.base_url, private_breakers=True
    )


def upstream(setup: Setup, primary: Callable[[], Reply] | None = None) -> StandIn:
    """A stand-in whose fallback answers fast; the primary as scripted, else ``primary()``."""

    def default(body: dict[str, Any]) -> Reply:
        if body.get("model") == PRIMARY and primary is not None:
            return primary()
        return answer(str(body.get("model")), setup.s(0.05))

    return StandIn(default=default)


@dataclass
class Outcome:
    """One request as its consumer saw it."""

    total: float
    served_by: str | None
    attempts: list[dict[str, Any]] = field(default_factory=list)

    def primary(self) -> dict[str, Any]:
        missing = {"outcome": "missing", "error_kind": None, "elapsed_ms": math.nan}
        return next((a for a in self.attempts if a["label"] == "primary"), missing)


async def ask(llm: ChatOpenRouterFallback) -> Outcome:
    start = time.perf_counter()
    fallback: dict[str, Any] = {}
    try:
        async for chunk in llm.astream("What is the answer?"):
            fallback = chunk.response_metadata.get("fallback", fallback)
    except Exception as exc:  # reported, not fatal: no answer is a result too
        attempts = [a.as_dict() for a in getattr(exc, "attempts", [])]
        return Outcome(time.perf_counter() - start, None, attempts)
    return Outcome(time.perf_counter() - start, fallback.get("served_by"), fallback["attempts"])


async def ask_many(
    llm: ChatOpenRouterFallback, count: int, concurrency: int = CONCURRENCY
) -> list[Outcome]:
    gate = asyncio.Semaphore(concurrency)

    async def one() -> Outcome:
        async with gate:
            return await ask(llm)

    return await asyncio.gather(*(one() for _ in range(count)))


def learned(llm: ChatOpenRouterFallback, name: str = "first_token_timeout") -> str:
    """The primary's limit as ``llm.limits()`` reports it: ``1.2 s learned (40)``."""
    report = llm.limits()["primary"][name]
    samples = f" ({report['samples']})" if "samples" in report else ""
    return f"{report['seconds']:.2f} s {report['source']}{samples}"


def abandoned(outcomes: list[Outcome]) -> list[dict[str, Any]]:
    """Primary attempts that ended in a timeout (every one of them tried the primary)."""
    return [
        o.primary()
        for o in outcomes
        if o.primary()["outcome"] == "error" and o.primary()["error_kind"] == "timeout"
    ]


def pct(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def ratio(value: float, base: float) -> str:
    return f"{value / base:.2f}x" if base else "-"


def table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """A Markdown table, columns as wide as their widest cell."""
    cells = [list(map(str, header)), *[list(map(str, r)) for r in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    line = lambda r: "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |"  # noqa: E731
    print(line(cells[0]))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in cells[1:]:
        print(line(row))


async def close(*llms: ChatOpenRouterFallback) -> None:
    for llm in llms:
        await llm._transport.aclose()  # noqa: SLF001 - its pool cannot outlive this loop


# --- 1. a fast upstream goes silent ---------------------------------------------------------


async def silent_upstream(setup: Setup) -> dict[str, Any]:
    rng = random.Random(SEED)
    warm = [answer(PRIMARY, setup.s(rng.uniform(0.25, 0.35))) for _ in range(setup.warmup)]
    contenders = {"fixed 15 s": 15, "auto": "auto"}
    figures: dict[str, Any] = {}

    async def run(name: str, value: float | str) -> None:
        with upstream(setup) as server:
            llm = client(server, f"silent-{value}", first_token_timeout=limit(value, setup))
            server.script(PRIMARY, *warm)
            await ask_many(llm, len(warm))
            before = learned(llm)
            server.script(PRIMARY, *(silent(setup) for _ in range(setup.silent)))
            outcomes = await ask_many(llm, setup.silent)
            left = abandoned(outcomes)
            seconds = [a["elapsed_ms"] / 1000 for a in left] or [math.nan]
            answered = [o.total for o in outcomes if o.served_by == "fallback"] or [math.nan]
            figures[name] = {
                "limit": before,
                "abandoned_s": statistics.median(seconds),
                "abandoned_max_s": max(seconds),
                "answer_s": statistics.median(answered),
                "answered": sum(o.served_by == "fallback" for o in outcomes),
                "record": {k: left[0].get(k) for k in ("error", "auto_limits")} if left else {},
            }
            await close(llm)

    await asyncio.gather(*(run(name, value) for name, value in contenders.items()))
    print(
        f"\n1. A fast primary (first token 0.25-0.35 s) goes silent: {setup.warmup} answers, "
        f"then {setup.silent} requests get keep-alives only; fallback answers in 50 ms"
    )
    base = figures["fixed 15 s"]
    rows = []
    for name in contenders:
        f = figures[name]
        rows.append(
            [
                name,
                f["limit"],
                f"{f['abandoned_s']:.2f} s (max {f['abandoned_max_s']:.2f})",
                ratio(f["abandoned_s"], base["abandoned_s"]),
                f"{f['answer_s']:.2f} s",
                ratio(f["answer_s"], base["answer_s"]),
                f"{f['answered']}/{setup.silent}",
            ]
        )
    table(
        [
            "first_token_timeout",
            "limit once warm",
            "silent attempt abandoned at (median)",
            "ratio",
            "answer at (median)",
            "ratio",
            "answered",
        ],
        rows,
    )
    for name in contenders:
        print(f"{name}: an abandoned attempt's record: {figures[name]['record']}")
    return figures


# --- 2. slow but healthy is never cut -------------------------------------------------------


async def healthy_slow(setup: Setup) -> dict[str, Any]:
    rng = random.Random(SEED + 1)
    kinds: dict[str, Callable[[], Reply]] = {
        "first token 1.5-1.9 s": lambda: answer(
            PRIMARY, setup.s(rng.uniform(1.5, 1.9)), setup.s(0.05)
        ),
        f"reasoning ~{setup.reasoning_seconds:g} s": lambda: reasoning(rng, setup),
    }
    count = setup.healthy
    scripts = {k: [make() for _ in range(setup.warmup + count)] for k, make in kinds.items()}
    auto = {name: limit("auto", setup, name) for name in COLD}
    figures: dict[str, Any] = {}

    async def run(index: int, kind: str, replies: list[Reply]) -> None:
        with upstream(setup) as server:
            llm = client(server, f"healthy-{index}", **auto)
            server.script(PRIMARY, *replies)
            # All at once: these are slow, and the pool holds 100 connections.
            warm = await ask_many(llm, setup.warmup, setup.warmup)
            measured = await ask_many(llm, count, count)
            figures[kind] = {
                "warmup_abandoned": sum(o.primary()["outcome"] != "ok" for o in warm),
                "abandoned": sum(o.primary()["outcome"] != "ok" for o in measured),
                "requests": len(measured),
                "slowest_s": max(o.total for o in measured),
                "limits": {n: learned(llm, n) for n in auto},
            }
            await close(llm)

    await asyncio.gather(*(run(i, *item) for i, item in enumerate(scripts.items())))
    print(
        f"\n2. Slow but healthy primaries, first_token_timeout, stall_timeout and timeout all "
        f"auto: {setup.warmup} warm-up then {count} measured requests each"
    )
    rows = [
        [
            kind,
            f"{f['abandoned']}/{f['requests']}",
            f["warmup_abandoned"],
            f"{f['slowest_s']:.2f} s",
            *f["limits"].values(),
        ]
        for kind, f in ((kind, figures[kind]) for kind in kinds)
    ]
    table(
        [
            "primary",
            "healthy abandoned",
            "in warm-up",
            "slowest answer",
            "first_token_timeout",
            "stall_timeout",
            "timeout",
        ],
        rows,
    )
    return figures


# --- 3. a heavy-tailed mix -------------------------------------------------------------------


async def heavy_tail(setup: Setup) -> dict[str, Any]:
    rng = random.Random(SEED + 2)
    mix = Mix()
    warm = [mix.draw(rng, setup) for _ in range(setup.warmup)]
    measured = [mix.draw(rng, setup) for _ in range(setup.requests)]
    hangs = sum(kind == "hang" for kind, _ in measured)
    slow = sum(kind == "slow" for kind, _ in measured)
    contenders = {"fixed 15 s": 15, "fixed 2 s": 2, "auto": "auto"}
    figures: dict[str, Any] = {}

    async def run(name: str, value: float | str) -> None:
        with upstream(setup) as server:
            llm = client(server, f"tail-{value}", first_token_timeout=limit(value, setup))
            server.script(PRIMARY, *(reply for _, reply in warm))
            await ask_many(llm, len(warm))
            before = learned(llm)
            server.script(PRIMARY, *(reply for _, reply in measured))
            outcomes = await ask_many(llm, len(measured))
            times = [o.total for o in outcomes]
            figures[name] = {
                "limit": before,
                "limit_after": learned(llm),
                "p50_s": pct(times, 50),
                "p95_s": pct(times, 95),
                "p99_s": pct(times, 99),
                # Every hang is abandoned; any other timeout was a healthy answer in the making.
                "healthy_abandoned": len(abandoned(outcomes)) - hangs,
                "unanswered": sum(o.served_by is None for o in outcomes),
            }
            await close(llm)

    await asyncio.gather(*(run(name, value) for name, value in contenders.items()))
    print(
        f"\n3. Heavy tail on the primary: {setup.warmup} warm-up then {setup.requests} measured "
        f"requests ({setup.requests - slow - hangs} fast 0.2-0.4 s, {slow} slow 2.5-4 s, "
        f"{hangs} hang); fallback answers in 50 ms; {CONCURRENCY} in flight"
    )
    base = figures["fixed 15 s"]
    rows = []
    for name in contenders:
        f = figures[name]
        rows.append(
            [
                name,
                f["limit"]
                if f["limit"] == f["limit_after"]
                else f"{f['limit']} -> {f['limit_after']}",
                *(f"{f[p]:.2f} s ({ratio(f[p], base[p])})" for p in ("p50_s", "p95_s", "p99_s")),
                f"{f['healthy_abandoned']}/{slow + (setup.requests - slow - hangs)}",
                f["unanswered"],
            ]
        )
    table(
        [
            "first_token_timeout",
            "limit (warm -> end)",
            "time to answer p50",
            "p95",
            "p99",
            "healthy abandoned",
            "unanswered",
        ],
        rows,
    )
    return figures


# --- 4. the hedge budget ---------------------------------------------------------------------


async def hedge_budget(setup: Setup) -> dict[str, Any]:
    plain = {"after": setup.s(0.2)}
    budget = {"after": setup.s(0.2), "budget": 0.1}
    one_by_one = max(1, setup.hedge_requests // 2)
    # (hedge, requests, in flight): the budget is a window of the chain's last 100 requests,
    # so requests in flight together get their share too.
    contenders: dict[str, tuple[dict[str, float], int, int]] = {
        "{after: 0.2}": (plain, setup.hedge_requests, CONCURRENCY),
        "{after: 0.2, budget: 0.1}": (budget, setup.hedge_requests, CONCURRENCY),
        "{after: 0.2, budget: 0.1}, one at a time": (budget, one_by_one, 1),
    }
    figures: dict[str, Any] = {}

    async def run(index: int, name: str, hedge: dict[str, float], count: int, flight: int) -> None:
        with upstream(setup, lambda: answer(PRIMARY, setup.s(0.4))) as server:
            llm = client(server, f"hedge-{index}", chain={"hedge": hedge})
            outcomes = await ask_many(llm, count, flight)
            hedges = server.models_seen().count(FALLBACK)
            figures[name] = {
                "requests": count,
                "in_flight": min(flight, count),
                "hedges_per_100": 100 * hedges / count,
                "withheld": sum(
                    "hedge withheld: budget" in a.get("notes", [])
                    for o in outcomes
                    for a in o.attempts
                ),
                "p50_s": pct([o.total for o in outcomes], 50),
            }
            await close(llm)

    await asyncio.gather(*(run(i, n, *c) for i, (n, c) in enumerate(contenders.items())))
    print("\n4. Hedge budget: primary first token 0.4 s, fallback 50 ms; hedges = requests the")
    print("   fallback received")
    table(
        [
            "hedge",
            "requests",
            "in flight",
            "hedges started per 100 requests",
            "withheld by the budget",
            "time to answer p50",
        ],
        [
            [
                n,
                f["requests"],
                f["in_flight"],
                f"{f['hedges_per_100']:.1f}",
                f["withheld"],
                f"{f['p50_s']:.2f} s",
            ]
            for n, f in ((n, figures[n]) for n in contenders)
        ],
    )
    return figures


async def run_all(setup: Setup) -> dict[str, Any]:
    return {
        "silent": await silent_upstream(setup),
        "healthy": await healthy_slow(setup),
        "tail": await heavy_tail(setup),
        "hedge": await hedge_budget(setup),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warmup", type=int, default=40, help="warm-up requests per contender")
    parser.add_argument("--requests", type=int, default=300, help="measured requests (3.)")
    parser.add_argument("--silent", type=int, default=20, help="silent requests (1.)")
    parser.add_argument("--healthy", type=int, default=40, help="measured requests (2.)")
    parser.add_argument("--reasoning-seconds", type=float, default=10.0)
    parser.add_argument("--hedge-requests", type=int, default=200)
    parser.add_argument("--time-scale", type=float, default=1.0)
    args = parser.parse_args()
    logging.getLogger("langchain_openrouter_fallback").setLevel(logging.CRITICAL)
    setup = Setup(
        warmup=args.warmup,
        requests=args.requests,
        silent=args.silent,
        healthy=args.healthy,
        reasoning_seconds=args.reasoning_seconds,
        hedge_requests=args.hedge_requests,
        scale=args.time_scale,
    )
    started = time.perf_counter()
    figures = asyncio.run(run_all(setup))
    load = os.getloadavg()[0]
    print(f"\n(run took {time.perf_counter() - started:.0f} s; load average {load:.2f})")
    print(json.dumps({"learned_limits": figures}, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
