"""Issue 11 item 1: a circuit is the upstream (endpoint + model id + provider preferences).

Never a chain name or a link label: instances that share no upstream share no breaker state,
in-process and through Redis alike; state can be reset or kept private per instance.
"""

from __future__ import annotations

from typing import Any

import pytest

from langchain_openrouter_fallback import ChatOpenRouterFallback, FallbacksExhaustedError
from langchain_openrouter_fallback._decisions.health import HealthRegistry
from langchain_openrouter_fallback._decisions.health_redis import RedisBackend
from langchain_openrouter_fallback.emulator import Emulator
from tests.health.conftest import PRIMARY, SECONDARY, THIRD, requested
from tests.processes import free_port

DOWN = {"faults": [{"model": PRIMARY, "error": 503}]}


def llm(emu_or_url: Emulator | str, links: list[Any], **kwargs: Any) -> ChatOpenRouterFallback:
    base_url = emu_or_url if isinstance(emu_or_url, str) else emu_or_url.base_url
    name = kwargs.pop("name", "same-name")
    chain = {"name": name, "models": links, "retry": {"max_retries": 0}}
    chain.update(kwargs.pop("chain", {}))
    return ChatOpenRouterFallback(chain=chain, base_url=base_url, **{"api_key": "k1", **kwargs})


def trip(model: ChatOpenRouterFallback, times: int = 3) -> None:
    for _ in range(times):
        model.invoke("hi")


def served(chat: ChatOpenRouterFallback, **kwargs: Any) -> str:
    return chat.invoke("hi", **kwargs).response_metadata["fallback"]["served_by"]


def test_a_dead_base_url_does_not_open_circuits_for_a_live_one(emu):
    """The issue's case: models=[...] instances are all named ``default``; a dead endpoint's
    failures must not make a second instance with a live endpoint refuse to send."""
    dead = ChatOpenRouterFallback(
        models=[PRIMARY, SECONDARY], base_url=f"http://127.0.0.1:{free_port()}/api/v1", api_key="k1"
    )
    for _ in range(6):
        with pytest.raises(FallbacksExhaustedError):
            dead.invoke("hi")
    assert {"open"} == set(dead.breaker_state().values())
    live = ChatOpenRouterFallback(models=[PRIMARY, SECONDARY], base_url=emu.base_url, api_key="k2")
    assert PRIMARY == served(live)
    assert [PRIMARY] == requested(emu)
    assert {"closed"} == set(live.breaker_state().values())


def test_chains_named_alike_with_other_models_keep_their_own_circuits(emu):
    """Same chain name, same label, different model: the second link was never tried, so it
    must not be skipped."""
    emu.set_scenario(DOWN)
    first = llm(emu, [{"model": PRIMARY, "label": "primary"}, SECONDARY])
    trip(first)
    assert "open" == first.breaker_state()["primary"]
    other = llm(emu, [{"model": THIRD, "label": "primary"}, SECONDARY])
    emu.clear_log()
    assert "primary" == served(other)
    assert [THIRD] == requested(emu)


def test_a_per_call_model_override_has_its_own_circuit(emu):
    """``invoke(model=...)`` reaches another upstream: the primary's open circuit is not its."""
    emu.set_scenario(DOWN)
    model = llm(emu, [{"model": PRIMARY, "label": "primary"}, SECONDARY])
    trip(model)
    emu.clear_log()
    assert THIRD == served(model, model=THIRD)  # its own link, labelled by its model id
    assert [THIRD] == requested(emu)


def test_the_same_upstream_shares_its_circuit_across_chains(emu):
    """Another chain (other name, other label) calling the same upstream skips it too."""
    emu.set_scenario(DOWN)
    trip(llm(emu, [{"model": PRIMARY, "label": "primary"}, SECONDARY], name="a"))
    emu.clear_log()
    other = llm(emu, [{"model": PRIMARY, "label": "main"}, SECONDARY], name="b")
    assert SECONDARY == served(other)
    assert [SECONDARY] == requested(emu)
    detail = other.breaker_state(detail=True)["main"]
    assert ("open", emu.base_url.rstrip("/"), PRIMARY) == (
        detail["state"],
        detail["endpoint"],
        detail["upstream"],
    )


def test_provider_preferences_name_another_upstream(emu):
    """The same model pinned to other providers is another circuit."""
    emu.set_scenario(DOWN)
    pinned = {"model": PRIMARY, "label": "primary", "provider": {"order": ["openai"]}}
    trip(llm(emu, [pinned, SECONDARY]))
    elsewhere = {"model": PRIMARY, "label": "primary", "provider": {"order": ["azure"]}}
    other = llm(emu, [elsewhere, SECONDARY])
    assert "closed" == other.breaker_state()["primary"]
    upstream = other.breaker_state(detail=True)["primary"]["upstream"]
    assert 'openai/gpt-4o-mini provider={"order":["azure"]}' == upstream


def test_private_breakers_and_reset(emu):
    """``private_breakers=True`` isolates an instance; ``reset_breakers()`` closes its circuits."""
    emu.set_scenario(DOWN)
    links = [{"model": PRIMARY, "label": "primary"}, SECONDARY]
    shared = llm(emu, links)
    trip(shared)
    private = llm(emu, links, private_breakers=True)
    assert "closed" == private.breaker_state()["primary"]
    trip(private)
    assert "open" == private.breaker_state()["primary"]
    private.reset_breakers()
    assert "closed" == private.breaker_state()["primary"]
    assert "open" == shared.breaker_state()["primary"]  # the shared registry was not touched
    shared.reset_breakers()
    assert "closed" == llm(emu, links, name="third").breaker_state()["primary"]


def test_redis_uses_the_same_identity(emu, redis_url):
    """Through Redis, a second 'process' (its own client) skips the upstream another chain
    tripped, and keys name the endpoint and model, never the chain."""
    import redis  # noqa: PLC0415 - optional extra

    emu.set_scenario(DOWN)
    links = [{"model": PRIMARY, "label": "primary"}, SECONDARY]
    trip(llm(emu, links, name="a", chain={"shared_state": redis_url}))
    backend = RedisBackend(redis_url)
    other = llm(emu, [{"model": PRIMARY, "label": "p"}, THIRD], name="b")
    other._health = HealthRegistry(backend)
    emu.clear_log()
    assert THIRD == served(other)
    assert [THIRD] == requested(emu)
    with Emulator() as second:
        elsewhere = llm(second, links, name="a")
        elsewhere._health = HealthRegistry(backend)
        assert "primary" == served(elsewhere)
    client = redis.Redis.from_url(redis_url)
    names = {name.decode() for name in client.keys("orfb:breaker:*")}
    client.close()
    assert f"orfb:breaker:{emu.base_url.rstrip('/')}:{PRIMARY}" in names
    assert not any(":a:" in name or ":b:" in name for name in names)
    other.reset_breakers()
    assert "closed" == other.breaker_state()["p"]
    backend.close()
