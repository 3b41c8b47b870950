"""ChatOpenRouterFallback side by side with its peers, in one run, against one emulator.

Run: ``make bench`` (or ``.venv-bench/bin/python -m benchmarks.compare``).

The emulator runs in its own process so client CPU time is the client's alone. Peers:
``ChatOpenAI`` (langchain-openai), ``ChatOpenAI(...).with_fallbacks([...])``, LangChain's
``ChatOpenRouter`` (langchain-openrouter) and LiteLLM's ``Router`` with its defaults. A peer
that has not answered after ``CAP`` seconds is reported as ``> CAP``.

Every peer runs side by side, so a missing one stops the run: ``make bench`` runs it in
``.venv-bench`` (the ``bench`` extra), the only environment that has them all
(langchain-openrouter caps the OpenRouter SDK below the version the dev environment tests).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import importlib.util
import json
import logging
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any, Self

import httpx

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

PRIMARY, SECONDARY = "openai/gpt-4o-mini", "anthropic/claude-haiku-4.5"
KEY = "bench-key"
CAP = 10.0
POOL = concurrent.futures.ThreadPoolExecutor(max_workers=8)
PEERS = {"langchain_openai": "langchain-openai", "langchain_openrouter": "langchain-openrouter",
         "litellm": "litellm"}  # fmt: skip
"""Module -> distribution of every peer compared."""


class EmulatorProcess:
    """``openrouter-fallback emulate`` in a child process, driven over its control API."""

    def __enter__(self) -> Self:
        cmd = [
            sys.executable,
            "-m",
            "langchain_openrouter_fallback._cli.main",
            "emulate",
            "--port",
            "0",
        ]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        self.base_url = line.strip().rsplit(" ", 1)[-1]
        self.root = self.base_url.removesuffix("/api/v1")
        return self

    def __exit__(self, *exc: object) -> None:
        self.proc.terminate()
        self.proc.wait(10)

    def scenario(self, scenario: dict[str, Any]) -> None:
        httpx.post(f"{self.root}/_emulator/scenario", json=scenario).raise_for_status()
        httpx.post(f"{self.root}/_emulator/reset").raise_for_status()


def timed(fn: Callable[[], Any], cap: float = CAP) -> float:
    """Seconds ``fn`` took, or ``inf`` if it did not finish within ``cap``."""
    start = time.perf_counter()
    future = POOL.submit(fn)
    try:
        future.result(timeout=cap)
    except concurrent.futures.TimeoutError:
        return float("inf")
    except Exception as exc:  # a peer that raises is reported, not fatal
        print(f"    ({type(exc).__name__}: {str(exc)[:80]})")
        return float("nan")
    return time.perf_counter() - start


def fmt(seconds: float) -> str:
    if seconds == float("inf"):
        return f"> {CAP:.0f} s (no answer)"
    if seconds != seconds:  # noqa: PLR0124 - NaN check
        return "error"
    return f"{seconds * 1000:8.1f} ms"


def ours(emu: EmulatorProcess, **chain: Any):
    from langchain_openrouter_fallback import ChatOpenRouterFallback

    links = chain.pop("links", None) or [
        {"model": PRIMARY, "label": "primary", "timeout": 2, "first_token_timeout": 1},
        {"model": SECONDARY, "label": "secondary", "timeout": 10},
    ]
    doc = {"name": "bench", "models": links, "breaker": {"enabled": False}, **chain}
    return ChatOpenRouterFallback(chain=doc, api_key=KEY, base_url=emu.base_url)


def chat_openai(emu: EmulatorProcess, model: str, **kwargs: Any):
    from langchain_openai import ChatOpenAI

    return ChatOpenAI(model=model, base_url=emu.base_url, api_key=KEY, **kwargs)


def with_fallbacks(emu: EmulatorProcess):
    return chat_openai(emu, PRIMARY).with_fallbacks([chat_openai(emu, SECONDARY)])


def chat_openrouter(emu: EmulatorProcess):
    from langchain_openrouter import ChatOpenRouter

    return ChatOpenRouter(model=PRIMARY, api_key=KEY, base_url=emu.base_url, max_retries=0)


def router(emu: EmulatorProcess):
    import litellm

    litellm.suppress_debug_info = True
    for name in ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy"):
        logging.getLogger(name).setLevel(logging.CRITICAL)

    def deployment(name: str, model: str) -> dict[str, Any]:
        params = {"model": f"openrouter/{model}", "api_key": KEY, "api_base": emu.base_url}
        return {"model_name": name, "litellm_params": params}

    r = litellm.Router(
        model_list=[deployment("primary", PRIMARY), deployment("secondary", SECONDARY)],
        fallbacks=[{"primary": ["secondary"]}],
    )

    class Invoker:
        def invoke(self, text: str) -> Any:
            return r.completion(model="primary", messages=[{"role": "user", "content": text}])

    return Invoker()


def per_call(llm: Any, n: int) -> tuple[float, float]:
    """Mean wall and CPU seconds per sequential invoke."""
    llm.invoke("warm up")
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(n):
        llm.invoke("hi")
    return (time.perf_counter() - wall) / n, (time.process_time() - cpu) / n


def happy_path(emu: EmulatorProcess, n: int = 200) -> None:
    print(f"\n[1] happy path, {n} sequential invokes (mean wall / client CPU per call)")
    emu.scenario({})
    rows = {
        "ChatOpenRouterFallback": ours(emu),
        "ChatOpenAI(max_retries=0)": chat_openai(emu, PRIMARY, max_retries=0),
        "ChatOpenRouter(max_retries=0)": chat_openrouter(emu),
        "LiteLLM Router (defaults)": router(emu),
    }
    base = None
    for name, llm in rows.items():
        wall, cpu = per_call(llm, n)
        base = base or wall
        print(
            f"  {name:32} {wall * 1000:6.2f} ms  cpu {cpu * 1000:6.2f} ms  ratio {wall / base:4.2f}x"
        )


def failover(emu: EmulatorProcess, title: str, scenario: dict[str, Any],
             contenders: dict[str, Callable[[], Any]], runs: int) -> None:  # fmt: skip
    print(f"\n[{title}]")
    emu.scenario(scenario)
    for name, call in contenders.items():
        times = [timed(call) for _ in range(runs)]
        print(f"  {name:40} median {fmt(statistics.median(times))}")


def missing_peers() -> list[str]:
    return [dist for module, dist in PEERS.items() if importlib.util.find_spec(module) is None]


def main() -> int:
    if missing := missing_peers():
        print(f"compare: not installed: {', '.join(missing)}; `make bench` runs this benchmark "
              "in .venv-bench, which has every peer", file=sys.stderr)  # fmt: skip
        return 2
    with EmulatorProcess() as emu:
        happy_path(emu)
        # Before the failover scenarios: peers stuck on hung primaries keep connections busy.
        concurrency(emu)
        fast = ours(emu)
        fast_stream = ours(emu)
        peers = with_fallbacks(emu)
        lite = router(emu)
        fail_503 = {"faults": [{"model": PRIMARY, "error": 503}]}
        failover(emu, "2 primary returns 503 at once: time to answer", fail_503, {
            "ChatOpenRouterFallback": lambda: fast.invoke("hi"),
            "ChatOpenAI.with_fallbacks (defaults)": lambda: peers.invoke("hi"),
            "LiteLLM Router (defaults)": lambda: lite.invoke("hi"),
        }, runs=10)  # fmt: skip
        emu.scenario(fail_503)
        message = fast.invoke("hi")
        failed = message.response_metadata["fallback"]["attempts"]
        print(f"    ours: failed attempt {failed[0]['elapsed_ms']:.1f} ms, "
              f"secondary {failed[1]['elapsed_ms']:.1f} ms")  # fmt: skip
        failover(emu, "3 primary hangs, timeout=2: time to answer", {
            "faults": [{"model": PRIMARY, "hang": True}],
        }, {
            "ChatOpenRouterFallback (timeout=2)": lambda: fast.invoke("hi"),
            "ChatOpenAI.with_fallbacks (defaults)": lambda: peers.invoke("hi"),
            "LiteLLM Router (defaults)": lambda: lite.invoke("hi"),
        }, runs=2)  # fmt: skip
        failover(emu, "4 primary sends keep-alives only (stream): time to first token", {
            "faults": [{"model": PRIMARY, "slow_first_token": "forever"}],
        }, {
            "ChatOpenRouterFallback (first_token_timeout=1)": lambda: next(
                c for c in fast_stream.stream("hi") if c.text
            ),
            "ChatOpenAI.with_fallbacks (defaults)": lambda: next(
                c for c in peers.stream("hi") if c.content
            ),
        }, runs=2)  # fmt: skip
    import_times()
    return 0


def concurrency(emu: EmulatorProcess, n: int = 200, reps: int = 3) -> None:
    print(f"\n[5] {n} concurrent ainvokes (wall time, median of {reps}, alternating)")
    emu.scenario({})

    async def run(llm: Any) -> float:
        await llm.ainvoke("warm up")
        start = time.perf_counter()
        await asyncio.gather(*(llm.ainvoke("hi") for _ in range(n)))
        return time.perf_counter() - start

    async def both() -> tuple[list[float], list[float]]:
        # One event loop for everything: langchain-openai caches its async client per
        # process, so a second asyncio.run() breaks ChatOpenAI ("Event loop is closed").
        mine, theirs = [], []
        llm, peer = ours(emu), chat_openai(emu, PRIMARY, max_retries=0)
        for _ in range(reps):
            mine.append(await run(llm))
            theirs.append(await run(peer))
        return mine, theirs

    mine, theirs = asyncio.run(both())
    a, b = statistics.median(mine), statistics.median(theirs)
    print(f"  ChatOpenRouterFallback {a * 1000:8.1f} ms   ChatOpenAI {b * 1000:8.1f} ms"
          f"   ratio {a / b:4.2f}x")  # fmt: skip


def import_times(runs: int = 5) -> None:
    print("\n[6] import time of the chat model class (median of fresh interpreters)")
    statements = {
        "ours": "from langchain_openrouter_fallback import ChatOpenRouterFallback",
        "langchain_openai": "from langchain_openai import ChatOpenAI",
    }
    results = {}
    for name, statement in statements.items():
        code = f"import time; t=time.perf_counter(); {statement}; print(time.perf_counter()-t)"
        samples = [
            float(subprocess.check_output([sys.executable, "-c", code], text=True))
            for _ in range(runs)
        ]
        results[name] = statistics.median(samples)
        print(f"  {statement:66} {results[name] * 1000:7.1f} ms")
    ratio = results["ours"] / results["langchain_openai"]
    print(f"  ratio {ratio:.2f}x (goal <= 0.7x)")
    print(json.dumps({"import_ratio": round(ratio, 2)}))


if __name__ == "__main__":
    status = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)  # peers stuck on hung sockets must not keep the benchmark alive
