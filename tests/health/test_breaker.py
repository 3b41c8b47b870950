"""Circuit breaker: the state machine on both backends, and what a chain run does with it."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from langchain_openrouter_fallback import FallbacksExhaustedError
from langchain_openrouter_fallback._decisions.health import (
    Circuit,
    HealthRegistry,
    default_registry,
    shared_registry,
)
from langchain_openrouter_fallback._decisions.health_redis import RedisBackend
from langchain_openrouter_fallback._definition.chain import BreakerPolicy
from langchain_openrouter_fallback._errors import ErrorKind
from langchain_openrouter_fallback.emulator import Emulator
from tests.health.conftest import PRIMARY, chain, model, requested
from tests.processes import free_port

KEY = ("chain", "link")
FAST = BreakerPolicy(failures=3, cooldown=0.2)


@pytest.fixture(params=["memory", "redis"])
def registry(request: pytest.FixtureRequest) -> Iterator[HealthRegistry]:
    """The same checks run against in-process state and against a real redis-server."""
    if request.param == "memory":
        yield HealthRegistry()
        return
    backend = RedisBackend(request.getfixturevalue("redis_url"))
    yield HealthRegistry(backend)
    backend.close()


def fail(registry: HealthRegistry, times: int, policy: BreakerPolicy = FAST, **kw: float) -> str:
    state = "closed"
    for _ in range(times):
        state = registry.record_failure(KEY, policy, ErrorKind.SERVER, kw.get("retry_after"))
    return state


def test_opens_after_consecutive_failures(registry):
    """Two failures keep the circuit closed; the third opens it and requests are refused."""
    assert "closed" == fail(registry, 2)
    assert registry.allow(KEY, FAST)
    assert "open" == fail(registry, 1)
    assert not registry.allow(KEY, FAST)
    assert 3 == registry.circuit(KEY).failures


def test_success_resets_the_consecutive_count(registry):
    """A success between failures starts the count again."""
    fail(registry, 2)
    registry.record_success(KEY, FAST)
    assert "closed" == fail(registry, 2)


def test_half_open_lets_one_probe_through(registry):
    """After the cooldown exactly one request probes; its failure reopens, its success closes."""
    fail(registry, 3)
    time.sleep(0.25)
    assert "half_open" == registry.state(KEY)
    assert [True, False, False] == [registry.allow(KEY, FAST) for _ in range(3)]
    assert "open" == fail(registry, 1)
    time.sleep(0.25)
    assert registry.allow(KEY, FAST)
    registry.record_success(KEY, FAST)
    assert Circuit() == registry.circuit(KEY)


def test_retry_after_is_the_minimum_open_time(registry):
    """A Retry-After longer than the cooldown keeps the circuit open that long."""
    fail(registry, 3, retry_after=30.0)
    time.sleep(FAST.cooldown + 0.05)  # past the cooldown, however long the sleep really was
    circuit = registry.circuit(KEY)
    assert "open" == circuit.state
    assert 25 < circuit.open_for <= 30


def test_failure_rate_in_a_window_opens(registry):
    """With ``rate``, half the calls failing (after ``min_calls``) opens the circuit."""
    policy = BreakerPolicy(failures=100, rate=0.5, window=10, min_calls=6)
    for _ in range(2):
        registry.record_success(KEY, policy)
        assert "closed" == fail(registry, 1, policy)
    registry.record_success(KEY, policy)
    assert "open" == fail(registry, 1, policy)


def test_failure_rate_counts_only_the_current_window(registry):
    """Failures from an expired window do not count towards the rate."""
    policy = BreakerPolicy(failures=100, rate=0.5, window=0.2, min_calls=4)
    fail(registry, 3, policy)
    time.sleep(0.25)
    registry.record_success(KEY, policy)
    registry.record_success(KEY, policy)
    assert "closed" == fail(registry, 1, policy)
    registry.record_success(KEY, policy)
    assert "closed" == registry.state(KEY)


def test_request_specific_failures_do_not_count(registry):
    """Context-length and content-policy errors say nothing about a link's health."""
    for kind in (ErrorKind.CONTEXT_LENGTH, ErrorKind.CONTENT_POLICY) * 3:
        registry.record_failure(KEY, FAST, kind)
    assert "closed" == registry.state(KEY)


def test_a_disabled_breaker_never_refuses():
    """``enabled: false`` ignores failures."""
    registry = HealthRegistry()
    policy = BreakerPolicy(enabled=False)
    fail(registry, 10, policy)
    assert registry.allow(KEY, policy)


def test_open_circuit_skips_the_link_and_says_so(emu):
    """After three 503s the primary is skipped, recorded as ``skipped: circuit open``."""
    emu.set_scenario({"faults": [{"model": PRIMARY, "error": 503}]})
    llm = model(emu, chain("breaker-skip"))
    for _ in range(5):
        message = llm.invoke("hi")
    first = message.response_metadata["fallback"]["attempts"][0]
    assert ("primary", "skipped", "circuit open") == (
        first["label"],
        first["outcome"],
        first["error"],
    )
    assert 3 == requested(emu).count(PRIMARY)
    assert "open" == llm.breaker_state()["primary"]


def test_link_breaker_overrides_the_chain(emu):
    """A link's own ``breaker`` (one failure) wins over the chain's."""
    emu.set_scenario({"faults": [{"model": PRIMARY, "error": 502}]})
    the_chain = chain("breaker-link")
    links = [the_chain.models[0].model_copy(update={"breaker": BreakerPolicy(failures=1)})]
    llm = model(emu, the_chain.model_copy(update={"models": links + the_chain.models[1:]}))
    llm.invoke("hi")
    llm.invoke("hi")
    assert 1 == requested(emu).count(PRIMARY)
    assert {"primary": "open", "secondary": "closed", "third": "closed"} == llm.breaker_state()


async def test_retry_after_from_a_429_keeps_the_link_skipped(emu):
    """A 429 whose Retry-After outlasts the cooldown keeps the primary skipped that long."""
    limited = {"status": 429, "retry_after": 30}
    emu.set_scenario({"faults": [{"model": PRIMARY, "error": limited}]})
    llm = model(emu, chain("breaker-429", breaker={"failures": 1, "cooldown": 0.1}))
    await llm.ainvoke("hi")
    await asyncio.sleep(0.2)
    await llm.ainvoke("hi")
    assert 1 == requested(emu).count(PRIMARY)
    assert llm.breaker_state(detail=True)["primary"]["open_for"] > 25


def test_flapping_primary_gets_a_handful_of_attempts_and_comes_back(emu):
    """Down 2 s, then up: a few primary attempts while down, then the primary serves again."""
    emu.set_scenario({"faults": [{"model": PRIMARY, "flap": {"down": 2, "up": 60}}]})
    llm = model(emu, chain("flap", breaker={"failures": 3, "cooldown": 0.5}))
    served: list[str] = []
    cap = time.monotonic() + 30  # a bound on a broken breaker, not a measurement
    while served[-5:] != ["primary"] * 5:
        assert time.monotonic() < cap, f"the primary never came back: {served[-10:]}"
        served.append(llm.invoke("hi").response_metadata["fallback"]["served_by"])
        time.sleep(0.02)  # a client's pacing; the loop ends on what was served
    down = [e for e in emu.log if e.body["model"] == PRIMARY and e.status == 503]
    assert "secondary" in served
    assert 3 <= len(down) <= 3 + 2 / 0.5 + 1


def test_unreachable_redis_falls_back_to_local_state_and_logs_once(emu, caplog):
    """A dead shared_state URL costs nothing: the breaker works locally, with one warning."""
    emu.set_scenario({"faults": [{"model": PRIMARY, "error": 503}]})
    url = f"redis://127.0.0.1:{free_port()}/0"
    llm = model(emu, chain("dead-redis", shared_state=url))
    with caplog.at_level(logging.WARNING, logger="langchain_openrouter_fallback"):
        labels = [llm.invoke("hi").response_metadata["fallback"]["served_by"] for _ in range(5)]
    warnings = [r for r in caplog.records if "shared breaker state" in r.getMessage()]
    assert ["secondary"] * 5 == labels
    assert 3 == requested(emu).count(PRIMARY)
    assert 1 == len(warnings)
    assert llm.health is shared_registry(url)
    assert llm.health is not default_registry()


def test_shared_state_selects_the_redis_registry(redis_url):
    """A chain with ``shared_state`` keeps its circuits in Redis, one client per URL."""
    with Emulator() as emu:
        llm = model(emu, chain("pick", shared_state=redis_url))
        other = model(emu, chain("pick-2", shared_state=redis_url))
    assert isinstance(llm.health.backend, RedisBackend)
    assert llm.health is other.health


def test_exhausted_chain_lists_skipped_links(emu):
    """When every link is open, the error lists each as skipped with the reason."""
    emu.set_scenario({"faults": [{"error": 503}]})
    llm = model(emu, chain("all-down", breaker={"failures": 1}))
    with pytest.raises(FallbacksExhaustedError):
        llm.invoke("hi")
    with pytest.raises(FallbacksExhaustedError) as caught:
        llm.invoke("hi")
    assert [("skipped", "circuit open")] * 3 == [
        (a.outcome, a.error) for a in caught.value.attempts
    ]


def test_importing_the_package_does_not_import_redis():
    """redis is an optional extra, imported only when a chain uses shared_state."""
    code = "import sys, langchain_openrouter_fallback; print('redis' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert "False" == result.stdout.strip()
