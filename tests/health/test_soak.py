"""Soak: thousands of mixed requests (threads and tasks) through seeded random faults.

The emulator runs in its own process, and the accounting compares like with like: an attempt
records whether its request was fully written (``request_sent``), and the emulator logs each
request it read in full. Every sent request that got any response was certainly read; one the
client abandoned (a limit fired, the connection broke) before any response byte may or may not
have been read before the client hung up (no client can observe that), so it counts only towards
the upper bound. A request never fully written is never read.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from langchain_openrouter_fallback import (
    ChatOpenRouterFallback,
    FallbackChain,
    FallbacksExhaustedError,
    StreamInterruptedError,
    UnrecoverableError,
)
from tests.emulator_process import run_emulator
from tests.health.conftest import KEY, PRIMARY, SECONDARY, THIRD

THREADED = 900
ASYNC = 1500
EXPECTED_ERRORS = (FallbacksExhaustedError, StreamInterruptedError, UnrecoverableError)
OUTCOMES = {"ok", "error", "skipped", "cancelled"}
P = 0.02
EFFECTS: list[dict[str, Any]] = [
    {"error": 503}, {"error": 502}, {"error": 500}, {"error": {"status": 429, "retry_after": 0}},
    {"error": 400}, {"hang": True}, {"latency": 0.05}, {"slow_first_token": 2},
    {"stall_after": 1}, {"cut_after": 1}, {"midstream_error": {"after": 1}},
    {"malformed_chunk": {"after": 1}}, {"missing_done": True}, {"error_200": True},
    {"choices_null": True}, {"reset": True},
]  # fmt: skip
# The primary is also down for 1 s in every 3, so its circuit certainly opens and probes.
FLAP = {"model": PRIMARY, "flap": {"down": 1, "up": 2}, "error": 503}
SCENARIO = {"seed": 7, "faults": [FLAP, *({"probability": P, **effect} for effect in EFFECTS)]}
LIMITS = {"timeout": 2, "first_token_timeout": 1, "stall_timeout": 1}
CHAIN = {
    "name": "soak",
    "retry": {"max_retries": 1, "backoff": 0.01},
    "breaker": {"failures": 3, "cooldown": 0.2},
    "models": [
        {"model": PRIMARY, "label": "primary", **LIMITS},
        {"model": SECONDARY, "label": "secondary", **LIMITS},
        {"model": THIRD, "label": "third", **LIMITS},
    ],
}


def one(llm: ChatOpenRouterFallback, stream: bool) -> list[dict[str, Any]]:
    """Attempts of one threaded request, answered or not."""
    try:
        if stream:
            return list(llm.stream("hi"))[-1].response_metadata["fallback"]["attempts"]
        return llm.invoke("hi").response_metadata["fallback"]["attempts"]
    except EXPECTED_ERRORS as exc:
        return [a.as_dict() for a in exc.attempts]


async def aone(llm: ChatOpenRouterFallback, stream: bool, gate: asyncio.Semaphore) -> list[dict]:
    """Attempts of one async request, answered or not."""
    async with gate:
        try:
            if stream:
                chunks = [c async for c in llm.astream("hi")]
                return chunks[-1].response_metadata["fallback"]["attempts"]
            return (await llm.ainvoke("hi")).response_metadata["fallback"]["attempts"]
        except EXPECTED_ERRORS as exc:
            return [a.as_dict() for a in exc.attempts]


async def async_part(llm: ChatOpenRouterFallback, kinds: list[bool]) -> tuple[list, int, int]:
    tasks_before = len(asyncio.all_tasks())
    gate = asyncio.Semaphore(32)
    runs = await asyncio.gather(*(aone(llm, stream, gate) for stream in kinds))
    await llm._transport.aclose()
    return list(runs), tasks_before, len(asyncio.all_tasks())


def pool_is_quiet(client: Any) -> bool:
    """Every pooled connection is idle or closed: no response left open."""
    return all(c.is_idle() or c.is_closed() for c in client._transport._pool.connections)


def settled_threads(timeout: float = 5.0) -> list[str]:
    """Names of live threads once short-lived ones ended (the transport's watchdog excluded)."""
    stop = time.monotonic() + timeout
    while True:
        names = sorted(t.name for t in threading.enumerate() if "watchdog" not in t.name)
        if len(names) == 1 or time.monotonic() > stop:
            return names
        time.sleep(0.05)


def unanswered(attempt: dict[str, Any]) -> bool:
    """Sent, then abandoned by a client limit or a broken connection before any response."""
    return (
        attempt["error_kind"] in {"timeout", "network"}
        and attempt["status_code"] is None
        and attempt["first_token_ms"] is None
    )


@pytest.fixture
def emulator(tmp_path):
    yield from run_emulator({**SCENARIO}, tmp_path)


@pytest.mark.timeout(300)
def test_soak_mixed_requests_through_random_faults(emulator):
    """Every request answers or raises a chain error with complete attempts; logs match; no leaks."""
    rng = random.Random(11)
    threads_before = settled_threads()
    llm = ChatOpenRouterFallback(
        chain=FallbackChain.model_validate(CHAIN), api_key=KEY, base_url=emulator.base_url
    )
    kinds = [rng.random() < 0.5 for _ in range(THREADED + ASYNC)]
    box: dict[str, Any] = {}
    side = threading.Thread(
        target=lambda: box.update(out=asyncio.run(async_part(llm, kinds[THREADED:])))
    )
    side.start()
    with ThreadPoolExecutor(16) as pool:
        threaded = list(pool.map(lambda s: one(llm, s), kinds[:THREADED]))
    side.join()
    async_runs, tasks_before, tasks_after = box["out"]
    assert pool_is_quiet(llm._transport.client)
    llm._transport.close()
    runs = threaded + async_runs
    assert THREADED + ASYNC == len(runs)
    assert all(runs)
    attempts = [a for run in runs for a in run]
    for a in attempts:
        assert a["outcome"] in OUTCOMES
        assert a["label"]
        assert a["model"]
        assert a["error_kind"] or a["outcome"] != "error"
        assert a["request_sent"] or a["outcome"] != "ok"
    certain = Counter(a["model"] for a in attempts if a["request_sent"] and not unanswered(a))
    maybe = Counter(a["model"] for a in attempts if a["request_sent"] and unanswered(a))
    read = emulator.models_read()
    for name in {*certain, *maybe, *read}:
        assert certain[name] <= read[name] <= certain[name] + maybe[name], name
    outcomes = Counter(a["outcome"] for a in attempts)
    assert outcomes["skipped"] > 0
    assert outcomes["error"] > 0
    assert tasks_before == tasks_after
    assert threads_before == settled_threads()
