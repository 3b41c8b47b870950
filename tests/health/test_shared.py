"""Breaker state shared through a real redis-server by separate processes."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time

import pytest

from langchain_openrouter_fallback._decisions.health import HealthRegistry
from langchain_openrouter_fallback._decisions.health_redis import RedisBackend
from langchain_openrouter_fallback._definition.chain import BreakerPolicy
from langchain_openrouter_fallback._errors import ErrorKind
from tests.health.conftest import KEY, PRIMARY, requested

pytestmark = pytest.mark.redis

CLIENT = """
import json, sys
from langchain_openrouter_fallback import ChatOpenRouterFallback
redis_url, base_url, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
chain = {
    "name": "shared", "shared_state": redis_url, "retry": {"max_retries": 0},
    "models": [{"model": "openai/gpt-4o-mini", "label": "primary"}, "anthropic/claude-haiku-4.5"],
}
llm = ChatOpenRouterFallback(chain=chain, api_key=sys.argv[4], base_url=base_url)
runs = [llm.invoke("hi").response_metadata["fallback"]["attempts"] for _ in range(count)]
print(json.dumps({"runs": runs, "state": llm.breaker_state()}))
"""


def client(redis_url: str, base_url: str, count: int) -> dict:
    args = [sys.executable, "-c", CLIENT, redis_url, base_url, str(count), KEY]
    result = subprocess.run(args, capture_output=True, text=True, check=True, timeout=60)
    return json.loads(result.stdout)


def test_a_second_process_skips_the_link_the_first_one_tripped(emu, redis_url):
    """Process A opens the primary's circuit; process B skips it on its very first request."""
    emu.set_scenario({"faults": [{"model": PRIMARY, "error": 503}]})
    first = client(redis_url, emu.base_url, 3)
    second = client(redis_url, emu.base_url, 1)
    assert ["error"] * 3 == [run[0]["outcome"] for run in first["runs"]]
    assert "open" == first["state"]["primary"]
    skipped = second["runs"][0][0]
    assert ("primary", "skipped", "circuit open") == (
        skipped["label"],
        skipped["outcome"],
        skipped["error"],
    )
    assert 3 == requested(emu).count(PRIMARY)


def test_only_one_of_many_concurrent_callers_gets_the_half_open_probe(redis_url):
    """The Lua script claims the probe atomically across clients (one per simulated process)."""
    backends = [RedisBackend(redis_url) for _ in range(16)]
    registries = [HealthRegistry(backend) for backend in backends]
    registries[0].record_failure(
        ("c", "l"), BreakerPolicy(failures=1, cooldown=0.1), ErrorKind.SERVER
    )
    time.sleep(0.15)  # past the 0.1 s the circuit stays open: it is half-open now
    # A probe is out for one cooldown of the claiming policy: a long one, so that the claims of
    # 16 threads on a loaded core all land while the first probe is still out.
    claiming = BreakerPolicy(failures=1, cooldown=60)
    allowed: list[bool] = []
    barrier = threading.Barrier(len(registries))

    def claim(registry: HealthRegistry) -> None:
        barrier.wait()
        allowed.append(registry.allow(("c", "l"), claiming))

    threads = [threading.Thread(target=claim, args=(r,)) for r in registries]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for backend in backends:
        backend.close()
    assert 1 == allowed.count(True)


def test_concurrent_failures_from_many_clients_are_all_counted(redis_url):
    """Increments from concurrent clients are never lost (atomic read-modify-write)."""
    policy = BreakerPolicy(failures=1000)
    backends = [RedisBackend(redis_url) for _ in range(8)]

    def hammer(backend: RedisBackend) -> None:
        registry = HealthRegistry(backend)
        for _ in range(50):
            registry.record_failure(("c", "count"), policy, ErrorKind.TIMEOUT)

    threads = [threading.Thread(target=hammer, args=(b,)) for b in backends]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert 400 == HealthRegistry(backends[0]).circuit(("c", "count")).failures
    for backend in backends:
        backend.close()
