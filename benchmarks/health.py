"""Health benchmarks: a flapping primary (breaker vs LiteLLM Router) and hedged time to first token.

Run: ``LITELLM_LOCAL_MODEL_COST_MAP=True .venv/bin/python -m benchmarks.health [--down 10]``

1. Flap: the primary is down for ``--down`` seconds, then up. Requests arrive every 50 ms
   (one at a time). Printed: primary attempts while it was down, and whether traffic returned
   to the primary afterwards, for ``ChatOpenRouterFallback`` (default breaker: 3 failures,
   30 s cooldown; and a 2 s cooldown), LiteLLM's Router with its defaults, and LiteLLM's
   Router with ``litellm_config.router_kwargs(chain, api_base=emu.base_url)``.
2. Hedge: a primary that only sends keep-alives, a secondary with ``--latency`` before
   headers, ``hedge: {after: 0.2}``. Printed: time to first token per run (sync and async)
   against the bound ``after + latency + 50 ms``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

from langchain_openrouter_fallback import ChatOpenRouterFallback, FallbackChain
from langchain_openrouter_fallback.emulator import Emulator

PRIMARY = "openai/gpt-4o-mini"
SECONDARY = "anthropic/claude-haiku-4.5"
KEY = "bench-key-not-secret"
HI = [{"role": "user", "content": "hi"}]
GAP = 0.05


def flap_chain(cooldown: float | None = None) -> FallbackChain:
    breaker = {} if cooldown is None else {"breaker": {"cooldown": cooldown}}
    return FallbackChain.model_validate(
        {
            "name": "flap" if cooldown is None else f"flap-{cooldown:g}s",
            "retry": {"max_retries": 0},
            "models": [
                {"model": PRIMARY, "label": "primary", "timeout": 10},
                {"model": SECONDARY, "label": "secondary", "timeout": 10},
            ],
            **breaker,
        }
    )


def drive(emu: Emulator, send: Callable[[], None], down: float, up: float) -> tuple[int, int, int]:
    """Send one request every GAP seconds through a down phase and an up phase.

    Returns primary attempts while down, requests sent while down, and primary attempts
    after it came back.
    """
    emu.set_scenario({"faults": [{"model": PRIMARY, "flap": {"down": down, "up": 3600}}]})
    emu.clear_log()
    start, sent_down = time.time(), 0
    while (now := time.time()) < start + down + up:
        sent_down += now < start + down
        send()
        time.sleep(GAP)
    primary = [e.time - start for e in emu.log if e.body["model"] == PRIMARY]
    return sum(t < down for t in primary), sent_down, sum(t >= down for t in primary)


def client_sender(emu: Emulator, chain: FallbackChain) -> Callable[[], None]:
    # Each setup starts with closed circuits, though they all call the same upstream.
    llm = ChatOpenRouterFallback(
        chain=chain, api_key=KEY, base_url=emu.base_url, private_breakers=True
    )
    return lambda: llm.invoke("hi") and None


def router_sender(router: Any, model: str) -> Callable[[], None]:
    def send() -> None:
        try:
            router.completion(model=model, messages=HI)
        except Exception as exc:
            print(f"  litellm request failed: {type(exc).__name__}: {str(exc)[:200]}")

    return send


def default_router(litellm: Any, emu: Emulator) -> Any:
    """A Router as a LiteLLM user would write it: two groups, a fallback, nothing else."""
    params = {"api_base": emu.base_url, "api_key": KEY}
    return litellm.Router(
        model_list=[
            {
                "model_name": "primary",
                "litellm_params": {"model": f"openrouter/{PRIMARY}", **params},
            },
            {
                "model_name": "secondary",
                "litellm_params": {"model": f"openrouter/{SECONDARY}", **params},
            },
        ],
        fallbacks=[{"primary": ["secondary"]}],
    )


def flap_table(down: float, up: float) -> None:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    os.environ["OPENROUTER_API_KEY"] = KEY
    import litellm

    import litellm_config

    litellm.suppress_debug_info = True
    logging.getLogger("LiteLLM").setLevel(logging.CRITICAL)
    logging.getLogger("LiteLLM Router").setLevel(logging.CRITICAL)
    rows = []
    with Emulator() as emu:
        setups: list[tuple[str, Callable[[], Callable[[], None]]]] = [
            ("ChatOpenRouterFallback (default breaker)", lambda: client_sender(emu, flap_chain())),
            ("ChatOpenRouterFallback (cooldown 2 s)", lambda: client_sender(emu, flap_chain(2))),
            (
                "litellm.Router, defaults",
                lambda: router_sender(default_router(litellm, emu), "primary"),
            ),
            (
                "litellm.Router, router_kwargs(chain)",
                lambda: router_sender(
                    litellm.Router(
                        **litellm_config.router_kwargs(flap_chain(), api_base=emu.base_url)
                    ),
                    "flap",
                ),
            ),
        ]
        for name, make in setups:
            send = make()
            send()  # warm up (imports, connections) before the clock starts
            rows.append((name, *drive(emu, send, down, up)))
    print(f"\nFlapping primary: down {down:g} s then up; one request every {GAP * 1000:.0f} ms")
    print(
        f"{'setup':42} {'primary attempts while down':>28} {'requests while down':>20} {'primary attempts after recovery':>32}"
    )
    for name, primary_down, requests_down, primary_up in rows:
        print(f"{name:42} {primary_down:>28} {requests_down:>20} {primary_up:>32}")


def hedge_chain() -> FallbackChain:
    return FallbackChain.model_validate(
        {
            "name": "hedge",
            "hedge": {"after": 0.2},
            "breaker": {"enabled": False},
            "models": [
                {"model": PRIMARY, "label": "primary"},
                {"model": SECONDARY, "label": "secondary"},
            ],
        }
    )


def first_token_sync(llm: ChatOpenRouterFallback) -> float:
    started = time.perf_counter()
    stream = llm.stream("hi")
    next(stream)
    elapsed = time.perf_counter() - started
    for _ in stream:
        pass
    return elapsed


async def first_token_async(llm: ChatOpenRouterFallback) -> float:
    started = time.perf_counter()
    stream = llm.astream("hi")
    await anext(stream)
    elapsed = time.perf_counter() - started
    async for _ in stream:
        pass
    return elapsed


def hedge_table(latency: float, runs: int) -> None:
    scenario = {
        "models": {SECONDARY: {"latency": latency}},
        "faults": [{"model": PRIMARY, "slow_first_token": "forever"}],
    }
    bound = 0.2 + latency + 0.05
    with Emulator(scenario=scenario) as emu:
        llm = ChatOpenRouterFallback(chain=hedge_chain(), api_key=KEY, base_url=emu.base_url)
        # The process's first call also imports what httpx and LangChain load on first use
        # (httpcore, LangChain's tracers: ~50 ms here) and opens connections: shown apart.
        sync = [first_token_sync(llm) for _ in range(runs + 1)]

        async def many() -> list[float]:
            return [await first_token_async(llm) for _ in range(runs + 1)]

        asynchronous = asyncio.run(many())
    print(
        f"\nHedged time to first token: primary keep-alives only, secondary latency {latency * 1000:.0f} ms, hedge after 200 ms"
    )
    print(
        f"{'driver':8} {'first call':>10} {'runs':>5} {'p50 ms':>8} {'max ms':>8} {'bound ms':>9} "
        f"{'within':>7}"
    )
    for name, (first, *times) in (("stream", sync), ("astream", asynchronous)):
        worst = max(times)
        print(
            f"{name:8} {first * 1000:>10.1f} {len(times):>5} {statistics.median(times) * 1000:>8.1f} "
            f"{worst * 1000:>8.1f} {bound * 1000:>9.0f} {'yes' if worst <= bound else 'NO':>7}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--down", type=float, default=10.0, help="seconds the primary is down")
    parser.add_argument("--up", type=float, default=3.0, help="seconds observed after it recovers")
    parser.add_argument("--latency", type=float, default=0.1, help="secondary's latency (s)")
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    logging.getLogger("langchain_openrouter_fallback").setLevel(logging.ERROR)
    hedge_table(args.latency, args.runs)
    flap_table(args.down, args.up)


if __name__ == "__main__":
    main()
