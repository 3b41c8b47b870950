"""Issue 26 in the proxy: ``auto`` limits travel in the generated config and the guard learns them.

The learning tests run a real ``litellm.Router`` with the proxy plugin against the independent
stand-in. Every learned value they rely on is pinned by ``floor`` / ``ceiling``: what matters
is who serves a primary that answers only after ~5 s of keep-alives (the cold 15 s waits for
it, a learned limit of at most 2 s leaves it for the next link), not how fast this machine is.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import yaml

import litellm_config
from langchain_openrouter_fallback.decisions import LatencyBook
from langchain_openrouter_fallback.definition import (
    DEFAULT_ATTEMPT_TIMEOUT,
    DEFAULT_FIRST_TOKEN_TIMEOUT,
    DEFAULT_STALL_TIMEOUT,
    AutoLimit,
)
from litellm_config._learning import BOOK, attempt_clock
from litellm_config._limits import LinkLimits
from tests.litellm_config.conftest import (
    AUTO_CHAIN,
    AUTO_FIRST_TOKEN,
    TEST_KEY,
    P,
    S,
    answer_of,
    ask,
    chain,
)
from tests.litellm_config.test_plugin import _stream_with_plugin
from tests.standin import completion, stream

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests.standin import StandIn

LEARNING = AUTO_FIRST_TOKEN
LATE = {"keepalives": 25, "keepalive_gap": 0.2}
"""About 5 s of keep-alives before the first word: past any learned limit, within the cold one."""


@pytest.fixture(autouse=True)
def fresh_book() -> Iterator[None]:
    """Each test starts with a proxy worker that has learned nothing."""
    BOOK.reset()
    yield
    BOOK.reset()


def _learning_chain(**primary: Any) -> Any:
    links = [{"model": P, "label": "primary", **primary}, {"model": S, "label": "secondary"}]
    return chain(models=links, breaker={"enabled": False}, retry={"max_retries": 0})


def _info(config: dict[str, Any], index: int = 0) -> dict[str, Any]:
    entry: dict[str, Any] = config["model_list"][index]
    return entry


# -- what the generated config carries -------------------------------------------------------


def test_chain_level_limits_travel_to_links_without_their_own():
    """`first_token_timeout` / `stall_timeout` / `timeout` on the chain reach every link that sets
    none: in LiteLLM's timeouts and in what the plugin enforces (a link's own still wins)."""
    links = [{"model": P, "label": "p", "first_token_timeout": 1}, {"model": S, "label": "s"}]
    doc = chain(models=links, timeout=20, first_token_timeout=3, stall_timeout=4)
    own, inherited = litellm_config.router_kwargs(doc)["model_list"]
    assert {"timeout": 20, "first_token_timeout": 1, "stall_timeout": 4} == own["model_info"][
        "openrouter_fallback"
    ]
    assert {"timeout": 20, "first_token_timeout": 3, "stall_timeout": 4} == inherited["model_info"][
        "openrouter_fallback"
    ]
    assert (20, 4) == (
        inherited["litellm_params"]["timeout"],
        inherited["litellm_params"]["stream_timeout"],
    )
    note = litellm_config.lint(doc)[0]
    assert note.startswith("limits p 20^/1/4^, s 20^/3^/4^ s; stream_timeout p 4, s 4 s: ")


def test_auto_limits_give_litellm_their_ceiling_and_the_guard_their_spec():
    """LiteLLM's own timeouts are the ceilings (it never cuts before the plugin); the plugin gets
    every field settled plus the upstream to learn for, and reads back the same limits."""
    links = [
        {
            "model": P,
            "label": "p",
            "timeout": "auto",
            "first_token_timeout": {"auto": {"ceiling": 40, "min_samples": 5}},
            "provider": {"order": ["openai"]},
        },
        {"model": S, "label": "s", "timeout": 10},
    ]
    doc = chain(models=links, deadline=90)
    config = yaml.safe_load(litellm_config.proxy_yaml(doc))
    primary = _info(config)
    assert 90 == primary["litellm_params"]["timeout"]  # the 120 s ceiling, capped by the deadline
    assert 40 == primary["litellm_params"]["stream_timeout"]  # max(first token 40, stall 10)
    carried = primary["model_info"]["openrouter_fallback"]
    assert {
        "timeout": {
            "auto": {
                "cold": DEFAULT_ATTEMPT_TIMEOUT, "floor": 1.0, "ceiling": 90.0,
                "quantile": 0.99, "factor": 1.5, "min_samples": 20,
            }
        },
        "first_token_timeout": {
            "auto": {
                "cold": DEFAULT_FIRST_TOKEN_TIMEOUT, "floor": 1.0, "ceiling": 40.0,
                "quantile": 0.99, "factor": 1.5, "min_samples": 5,
            }
        },
        "stall_timeout": DEFAULT_STALL_TIMEOUT,
        "upstream": 'openai/gpt-4o-mini provider={"order":["openai"]}',
    } == carried  # fmt: skip
    limits = LinkLimits.from_model_info(primary["model_info"])
    assert limits is not None
    assert carried == limits.as_dict()
    assert {"timeout", "first_token"} == set(limits.auto)
    assert "upstream" not in _info(config, 1)["model_info"]["openrouter_fallback"]
    notes = litellm_config.lint(doc)
    assert notes[0].startswith("limits p auto/auto/10*, s 10/15*/10* s; ")
    assert notes[1].startswith(
        "p timeout auto (cold 60, 1-90 s), p first token auto (cold 15, 1-40 s): auto limits"
    )


def test_a_chain_without_auto_limits_generates_what_it_did():
    """No `upstream`, plain numbers: configs of chains without `auto` are unchanged."""
    info = litellm_config.router_kwargs(chain())["model_list"][0]["model_info"]
    assert {"timeout": 10, "first_token_timeout": 15, "stall_timeout": 10} == info[
        "openrouter_fallback"
    ]


# -- the guard's clock ------------------------------------------------------------------------


def _request(*, stream: bool = True) -> httpx.Request:
    return httpx.Request(
        "POST", "http://upstream.test/api/v1/chat/completions", json={"stream": stream}
    )


def test_the_clock_is_cold_until_min_samples_then_learned_and_named_so():
    """The attempt clock resolves `auto` like the chat model: cold, then learned within
    [floor, ceiling]; a timeout then says which (only streams get first-token and stall)."""
    book = LatencyBook()
    limits = LinkLimits(
        timeout=30.0, first_token=AutoLimit.model_validate(LEARNING["auto"]).settled(15.0),
        stall=10.0, upstream=P,
    )  # fmt: skip
    for _ in range(2):
        progress, lesson = attempt_clock(limits, _request(), streaming=True, book=book)
        assert (15.0, {"first_token": "cold"}) == (progress.first_token, progress.learned)
        assert lesson is not None
        progress.token()
        lesson.served()
    _, lesson = attempt_clock(limits, _request(), streaming=True, book=book)
    assert lesson is not None
    lesson.failed()  # a failure teaches nothing: still 2 samples
    assert (
        "cold"
        == attempt_clock(limits, _request(), streaming=True, book=book)[0].learned["first_token"]
    )
    progress, lesson = attempt_clock(limits, _request(), streaming=True, book=book)
    progress.token()
    lesson.served()
    learned, _ = attempt_clock(limits, _request(), streaming=True, book=book)
    assert learned.first_token is not None
    assert 0.3 <= learned.first_token <= 2
    assert 10.0 == learned.stall
    learned.expired = "first_token"
    assert "(first_token timeout, learned)" in learned.timeout_failure().message
    whole, _ = attempt_clock(limits, _request(stream=False), streaming=False, book=book)
    assert (None, None, None) == (whole.first_token, whole.stall, whole.learned)
    assert 30 >= whole.deadline - time.monotonic() > 29


def test_upstreams_learn_apart():
    """Another endpoint, or other model ids, have learned nothing (the circuit identity)."""
    book = LatencyBook()
    spec = AutoLimit(min_samples=1).settled(15.0)
    one = LinkLimits(first_token=spec, upstream=P)
    progress, lesson = attempt_clock(one, _request(), streaming=True, book=book)
    progress.token()
    assert lesson is not None
    lesson.served()
    assert {"first_token": "learned"} == attempt_clock(one, _request(), streaming=True, book=book)[
        0
    ].learned
    other_model = LinkLimits(first_token=spec, upstream=S)
    elsewhere = httpx.Request(
        "POST", "http://other.test/v1/chat/completions", json={"stream": True}
    )
    for limits, request in ((other_model, _request()), (one, elsewhere)):
        assert {"first_token": "cold"} == attempt_clock(limits, request, streaming=True, book=book)[
            0
        ].learned


# -- a real Router with the plugin learns -----------------------------------------------------


async def _teach(litellm: Any, kwargs: dict[str, Any], standin: StandIn, count: int) -> None:
    """``count`` streams the primary serves at once: what its `auto` limit learns from."""
    for _ in range(count):
        assert answer_of(P) == await _stream_with_plugin(litellm, kwargs)
    assert [P] * count == standin.models_seen()
    standin.clear()


@pytest.mark.litellm
@pytest.mark.timeout(300)
async def test_a_learned_first_token_limit_leaves_a_slow_primary_for_the_next_link(
    litellm, standin, monkeypatch
):
    """Three fast streams teach the primary's first-token limit (at most the 2 s ceiling): a
    primary that answers after ~5 s of keep-alives is then left, and the secondary serves."""
    monkeypatch.setenv("OPENROUTER_API_KEY", TEST_KEY)
    doc = _learning_chain(first_token_timeout=LEARNING)
    kwargs = litellm_config.router_kwargs(doc, api_base=standin.base_url)
    await _teach(litellm, kwargs, standin, 3)
    standin.script(P, stream(["late answer"], model=P, **LATE))
    started = time.monotonic()
    assert answer_of(S) == await _stream_with_plugin(litellm, kwargs)
    assert [P, S] == standin.models_seen()
    assert time.monotonic() - started < DEFAULT_FIRST_TOKEN_TIMEOUT


@pytest.mark.litellm
@pytest.mark.timeout(300)
async def test_before_min_samples_the_cold_limit_applies(litellm, standin, monkeypatch):
    """Two fast streams are one short of `min_samples`: the cold 15 s still applies, and the same
    slow primary serves its late answer."""
    monkeypatch.setenv("OPENROUTER_API_KEY", TEST_KEY)
    doc = _learning_chain(first_token_timeout=LEARNING)
    kwargs = litellm_config.router_kwargs(doc, api_base=standin.base_url)
    await _teach(litellm, kwargs, standin, 2)
    standin.script(P, stream(["late answer"], model=P, **LATE))
    assert "late answer" == await _stream_with_plugin(litellm, kwargs)
    assert [P] == standin.models_seen()


async def _complete_with_plugin(litellm: Any, kwargs: dict[str, Any]) -> str:
    """One non-stream request to chain ``c`` through a Router with the plugin; its text."""
    from litellm_config import proxy_plugin  # noqa: PLC0415 - imports litellm, as LiteLLM would

    litellm.callbacks.append(proxy_plugin.handler)
    try:
        response = await litellm.Router(**kwargs).acompletion(
            model="c", messages=[{"role": "user", "content": "hi"}]
        )
        return str(response.choices[0].message.content)
    finally:
        litellm.callbacks.remove(proxy_plugin.handler)


@pytest.mark.litellm
@pytest.mark.timeout(300)
async def test_a_learned_timeout_leaves_a_padded_json_answer(litellm, standin, monkeypatch):
    """Non-stream answers teach `timeout: auto` from whole attempts: an answer padded with ~5 s
    of whitespace (which resets LiteLLM's read timeout) is then left for the secondary."""
    monkeypatch.setenv("OPENROUTER_API_KEY", TEST_KEY)
    doc = _learning_chain(timeout=LEARNING)
    kwargs = litellm_config.router_kwargs(doc, api_base=standin.base_url)
    for _ in range(3):
        assert answer_of(P) == await _complete_with_plugin(litellm, kwargs)
    standin.clear()
    standin.script(P, completion("late answer", model=P, padding=25, padding_gap=0.2))
    assert answer_of(S) == await _complete_with_plugin(litellm, kwargs)
    assert [P, S] == standin.models_seen()


# -- a real proxy process learns --------------------------------------------------------------


@pytest.mark.litellm
@pytest.mark.timeout(300)
def test_the_proxy_learns_per_worker(client, standin):
    """`litellm --config` with the generated chain ``a``: two fast streams are not enough, so the
    slow primary still serves (cold 15 s); that makes three, and the next slow one is left."""
    for _ in range(2):
        assert answer_of(P) == ask(client, stream=True, chain=AUTO_CHAIN).text
    standin.script(P, stream(["late answer"], model=P, **LATE))
    cold = ask(client, stream=True, chain=AUTO_CHAIN)
    assert ("late answer", f"{AUTO_CHAIN}/primary") == (cold.text, cold.link)
    standin.clear()
    standin.script(P, stream(["late answer"], model=P, **LATE))
    learned = ask(client, stream=True, chain=AUTO_CHAIN)
    assert (answer_of(S), None, f"{AUTO_CHAIN}/secondary") == (
        learned.text, learned.error, learned.link,
    )  # fmt: skip
    assert [P, S] == standin.models_seen()
    assert learned.seconds < DEFAULT_FIRST_TOKEN_TIMEOUT
