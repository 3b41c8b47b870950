"""ChatOpenRouterFallback behaviour a user notices: construction, policies, records, secrets."""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

import pytest
from langchain_core.callbacks import AsyncCallbackHandler, BaseCallbackHandler
from pydantic import BaseModel

from langchain_openrouter_fallback import (
    ChatOpenRouterFallback,
    FallbackChain,
    FallbacksExhaustedError,
    UnrecoverableError,
)
from langchain_openrouter_fallback._decisions.health import HealthRegistry
from tests.chat_models.conftest import KEY
from tests.conftest import EXAMPLE_CHAINS

PRIMARY, SECONDARY = "openai/gpt-4o-mini", "anthropic/claude-haiku-4.5"


def model(emu, links: list[Any] | None = None, **chain: Any) -> ChatOpenRouterFallback:
    doc = {"name": "t", "models": links or [
        {"model": PRIMARY, "label": "primary", "timeout": 2},
        {"model": SECONDARY, "label": "secondary", "timeout": 2},
    ], **chain}  # fmt: skip
    return ChatOpenRouterFallback(chain=doc, api_key=KEY, base_url=emu.base_url)


def sent_models(emu) -> list[str]:
    return [entry.body["model"] for entry in emu.log if entry.path.endswith("/completions")]


# -- construction ------------------------------------------------------------------------


def test_every_construction_form_builds_the_same_chain():
    """A chain object, a path, a dict and the models= shorthand are equivalent."""
    path = EXAMPLE_CHAINS / "default.yaml"
    chain = FallbackChain.from_file(path)
    forms = [
        ChatOpenRouterFallback(chain=chain),
        ChatOpenRouterFallback(chain=path),
        ChatOpenRouterFallback(chain=str(path)),
        ChatOpenRouterFallback(chain=chain.model_dump()),
    ]
    assert all(chain == llm.chain for llm in forms)
    assert "anthropic/claude-sonnet-4.5" == forms[0].model_name
    short = ChatOpenRouterFallback(models=[PRIMARY, SECONDARY], mode="server")
    assert ([PRIMARY, SECONDARY], "server") == (short.chain.labels, short.chain.mode)
    assert [PRIMARY] == ChatOpenRouterFallback(model=PRIMARY).chain.labels


def test_missing_chain_is_a_clear_error():
    """Without a chain or models the constructor says what to pass."""
    with pytest.raises(ValueError, match=r"pass chain=FallbackChain \| path \| dict, or models"):
        ChatOpenRouterFallback()


def test_base_url_precedence(monkeypatch):
    """Explicit argument > the chain's base_url > $OPENROUTER_BASE_URL > OpenRouter."""
    assert (
        "https://openrouter.ai/api/v1" == ChatOpenRouterFallback(models=[PRIMARY]).resolved_base_url
    )
    monkeypatch.setenv("OPENROUTER_BASE_URL", "http://env/api/v1")
    assert "http://env/api/v1" == ChatOpenRouterFallback(models=[PRIMARY]).resolved_base_url
    chain = {"models": [PRIMARY], "base_url": "http://chain/api/v1"}
    assert "http://chain/api/v1" == ChatOpenRouterFallback(chain=chain).resolved_base_url
    explicit = ChatOpenRouterFallback(chain=chain, base_url="http://arg/api/v1")
    assert "http://arg/api/v1" == explicit.resolved_base_url


def test_key_from_environment_is_secret(monkeypatch):
    """The key comes from $OPENROUTER_API_KEY and never shows in repr or str."""
    monkeypatch.setenv("OPENROUTER_API_KEY", KEY)
    llm = ChatOpenRouterFallback(models=[PRIMARY])
    assert KEY == llm.api_key.get_secret_value()
    assert KEY not in repr(llm)
    assert KEY not in str(llm)


def test_identity_for_tracing():
    """_llm_type is stable and LangSmith params name the primary model."""
    llm = ChatOpenRouterFallback(models=[PRIMARY, SECONDARY], temperature=0.2, max_tokens=9)
    assert "openrouter-fallback-chat" == llm._llm_type
    params = llm._get_ls_params(stop=["x"])
    assert ("openrouter", PRIMARY, "chat", 0.2, 9, ["x"]) == (
        params["ls_provider"], params["ls_model_name"], params["ls_model_type"],
        params["ls_temperature"], params["ls_max_tokens"], params["ls_stop"],
    )  # fmt: skip


# -- what responses carry ----------------------------------------------------------------


def test_response_names_who_served_and_what_it_cost(emu):
    """model_name is the served (versioned) slug; provider, usage and cost come through."""
    message = model(emu).invoke("hi")
    meta = message.response_metadata
    assert "openai/gpt-4o-mini" == meta["model_name"]
    assert "openrouter" == meta["model_provider"]
    assert "OpenAI" == meta["provider"]
    assert meta["cost"] == meta["usage"]["cost"] > 0
    assert message.usage_metadata["input_tokens"] == meta["usage"]["prompt_tokens"]
    assert message.usage_metadata["output_tokens"] == meta["usage"]["completion_tokens"]
    assert {"chain": "t", "mode": "client", "served_by": "primary"} == {
        k: meta["fallback"][k] for k in ("chain", "mode", "served_by")
    }


def test_stream_sends_include_usage_and_ends_with_metadata(emu):
    """Streams ask for usage; the last chunk carries usage, served model and attempts."""
    chunks = list(model(emu).stream("hi"))
    assert {"include_usage": True} == emu.log[-1].body["stream_options"]
    last = chunks[-1]
    assert last.usage_metadata["total_tokens"] > 0
    assert "primary" == last.response_metadata["fallback"]["served_by"]
    assert all(not c.response_metadata for c in chunks[:-1])
    merged = sum(chunks[1:], chunks[0])
    assert "openai/gpt-4o-mini" == merged.response_metadata["model_name"]


def test_batch_and_abatch_each_carry_their_records(emu):
    """Every batch element is a complete answer with its own fallback record."""
    emu.set_scenario({"faults": [{"model": PRIMARY, "error": 503}]})
    llm = model(emu, breaker={"enabled": False})
    results = llm.batch(["a", "b", "c"])
    assert ["secondary"] * 3 == [r.response_metadata["fallback"]["served_by"] for r in results]


async def test_abatch(emu):
    """abatch runs concurrently and each answer records its attempts."""
    emu.set_scenario({"faults": [{"model": PRIMARY, "error": 503}]})
    results = await model(emu, breaker={"enabled": False}).abatch(["a", "b", "c", "d"])
    for result in results:
        attempts = result.response_metadata["fallback"]["attempts"]
        assert ["error", "ok"] == [a["outcome"] for a in attempts]


# -- policies ----------------------------------------------------------------------------


def test_breaker_skips_a_dead_link_then_probes_it(emu):
    """After 3 failures the primary is skipped without a request; after the cooldown, probed."""
    now = [0.0]
    emu.set_scenario({"faults": [{"model": PRIMARY, "error": 503}]})
    llm = model(emu, breaker={"failures": 3, "cooldown": 30})
    llm._health = HealthRegistry(clock=lambda: now[0])
    for _ in range(3):
        llm.invoke("x")
    assert "open" == llm.breaker_state()["primary"]
    emu.clear_log()
    message = llm.invoke("x")
    first = message.response_metadata["fallback"]["attempts"][0]
    assert ("skipped", "circuit open") == (first["outcome"], first["error"])
    assert [SECONDARY] == sent_models(emu)
    emu.set_scenario(None)
    now[0] = 31.0
    assert "half_open" == llm.breaker_state()["primary"]
    assert "primary" == llm.invoke("x").response_metadata["fallback"]["served_by"]
    assert "closed" == llm.breaker_state()["primary"]


def test_retry_after_is_honoured_once_then_served(emu):
    """A 429 with Retry-After is retried on the same link after the wait."""
    emu.set_scenario({"faults": [{"model": PRIMARY, "attempts": [1],
                                  "error": {"status": 429, "retry_after": 1}}]})  # fmt: skip
    message = model(emu).invoke("x")
    attempts = message.response_metadata["fallback"]["attempts"]
    assert [("primary", "error", 0), ("primary", "ok", 1)] == [
        (a["label"], a["outcome"], a["retry"]) for a in attempts
    ]


def test_retry_after_longer_than_max_wait_moves_on(emu):
    """A Retry-After beyond ``max_wait`` goes straight to the next link."""
    emu.set_scenario({"faults": [{"model": PRIMARY, "error": {"status": 429, "retry_after": 30}}]})
    message = model(emu).invoke("x")
    assert "secondary" == message.response_metadata["fallback"]["served_by"]
    assert [PRIMARY, SECONDARY] == sent_models(emu)


def test_max_retries_zero_means_no_retry(emu):
    """max_retries=0 turns retries off entirely (one retry owner, no hidden SDK retries)."""
    emu.set_scenario({"faults": [{"model": PRIMARY, "error": {"status": 429, "retry_after": 1}}]})
    llm = model(emu)
    llm.max_retries = 0
    llm.invoke("x")
    assert [PRIMARY, SECONDARY] == sent_models(emu)


def test_deadline_skips_what_cannot_fit(emu):
    """A chain deadline bounds the whole request; links that cannot fit are skipped."""
    emu.set_scenario({"faults": [{"model": PRIMARY, "hang": True}]})
    llm = model(emu, deadline=0.3)
    with pytest.raises(FallbacksExhaustedError) as info:
        llm.invoke("x")
    attempts = info.value.attempts
    assert [("primary", "error", "timeout"), ("secondary", "skipped", None)] == [
        (a.label, a.outcome, a.error_kind) for a in attempts
    ]
    assert "chain deadline exhausted" == attempts[1].error
    limit = re.search(r"within ([\d.]+) s \(total timeout\)", attempts[0].error or "")
    assert limit is not None, attempts[0].error
    assert float(limit[1]) <= 0.3, "the chain deadline, not the link's timeout, bounded it"


def test_requests_with_tools_skip_links_without_tool_support(emu):
    """A link the catalog says lacks tools is skipped (never sent) for tool requests."""
    llm = model(emu, [
        {"model": "minimax/minimax-m2-her", "label": "no-tools"},
        {"model": SECONDARY, "label": "tools"},
    ])  # fmt: skip

    def add(a: int, b: int) -> int:
        """Add two numbers."""
        return a + b

    message = llm.bind_tools([add], tool_choice="add").invoke("x")
    assert "add" == message.tool_calls[0]["name"]
    first = message.response_metadata["fallback"]["attempts"][0]
    assert ("skipped", "lacks tools") == (first["outcome"], first["error"])
    assert [SECONDARY] == sent_models(emu)
    assert "no-tools" == llm.invoke("plain").response_metadata["fallback"]["served_by"]


def test_prompt_larger_than_a_window_skips_that_link(emu):
    """An estimated prompt over a link's context window skips it before sending."""
    llm = model(emu, [
        {"model": "mistralai/mistral-7b-instruct-v0.1", "label": "small"},
        {"model": SECONDARY, "label": "large"},
    ])  # fmt: skip
    message = llm.invoke("word " * 4000)
    first = message.response_metadata["fallback"]["attempts"][0]
    assert "skipped" == first["outcome"]
    assert "exceeds context 2824" in first["error"]
    assert [SECONDARY] == sent_models(emu)


def test_context_error_moves_to_a_larger_window(emu):
    """After a context-length error, links with a window no larger are skipped."""
    emu.set_scenario({"faults": [{"model": PRIMARY, "error": "context_length"}]})
    llm = model(emu, [
        {"model": PRIMARY, "label": "primary"},
        {"model": "openai/gpt-4o", "label": "same-window"},
        {"model": "google/gemini-2.5-flash", "label": "larger"},
    ])  # fmt: skip
    message = llm.invoke("x")
    outcomes = [
        (a["label"], a["outcome"]) for a in message.response_metadata["fallback"]["attempts"]
    ]
    assert [("primary", "error"), ("same-window", "skipped"), ("larger", "ok")] == outcomes
    assert [PRIMARY, "google/gemini-2.5-flash"] == sent_models(emu)


def test_payment_error_moves_only_to_free_links(emu):
    """402 raises at once unless a later link is :free; then only :free links are tried."""
    emu.set_scenario({"faults": [{"model": PRIMARY, "error": 402}]})
    llm = model(emu, [
        {"model": PRIMARY, "label": "paid"},
        {"model": SECONDARY, "label": "also-paid"},
        {"model": "meta-llama/llama-3.3-70b-instruct:free", "label": "free"},
    ])  # fmt: skip
    message = llm.invoke("x")
    outcomes = [
        (a["label"], a["outcome"]) for a in message.response_metadata["fallback"]["attempts"]
    ]
    assert [("paid", "error"), ("also-paid", "skipped"), ("free", "ok")] == outcomes
    with pytest.raises(UnrecoverableError, match="payment"):
        model(emu).invoke("x")


def test_fallback_on_narrows_what_moves_on(emu):
    """With fallback_on: [timeout], a 503 raises at once instead of moving on."""
    emu.set_scenario({"faults": [{"model": PRIMARY, "error": 503}]})
    with pytest.raises(UnrecoverableError) as info:
        model(emu, fallback_on=["timeout"]).invoke("x")
    assert "server" == info.value.kind
    assert [PRIMARY] == sent_models(emu)


def test_server_mode_sends_the_chain_payloads(emu):
    """Server mode sends exactly chain.openrouter_payloads, group by group."""
    links = [PRIMARY, SECONDARY, "google/gemini-2.5-flash", "x-ai/grok-4"]
    emu.set_scenario({"faults": [{"model": m, "error": 503} for m in links[:3]]})
    llm = model(emu, links, mode="server")
    message = llm.invoke("hi")
    assert "x-ai/grok-4" == message.response_metadata["fallback"]["served_by"]
    expected = llm.chain.openrouter_payloads([("user", "hi")])
    assert expected == [entry.body for entry in emu.log]


# -- transparency --------------------------------------------------------------------------


class Events(BaseCallbackHandler):
    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.ended: list[Any] = []

    def on_custom_event(self, name: str, data: Any, **kwargs: Any) -> None:
        self.events.append((name, data))

    def on_llm_end(self, response: Any, **kwargs: Any) -> None:
        self.ended.append(response.generations[0][0].message.response_metadata)


class AsyncEvents(AsyncCallbackHandler):
    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []

    async def on_custom_event(self, name: str, data: Any, **kwargs: Any) -> None:
        self.events.append((name, data))


def test_callbacks_see_every_attempt(emu):
    """One custom event per attempt reaches LangChain callbacks from invoke and batch."""
    emu.set_scenario({"faults": [{"model": PRIMARY, "error": 503}]})
    handler = Events()
    llm = model(emu, breaker={"enabled": False})
    llm.invoke("x", config={"callbacks": [handler]})
    llm.batch(["y"], config={"callbacks": [handler]})
    assert {"openrouter_fallback_attempt"} == {name for name, _ in handler.events}
    assert ["error", "ok", "error", "ok"] == [data["outcome"] for _, data in handler.events]


def test_stream_callbacks_see_attempts_at_the_end(emu):
    """LangChain gives streams no run manager; on_llm_end still carries every attempt."""
    emu.set_scenario({"faults": [{"model": PRIMARY, "error": 503}]})
    handler = Events()
    list(model(emu).stream("x", config={"callbacks": [handler]}))
    (meta,) = handler.ended
    assert ["error", "ok"] == [a["outcome"] for a in meta["fallback"]["attempts"]]


async def test_async_callbacks_see_every_attempt(emu):
    """Async callbacks get the same events from ainvoke."""
    emu.set_scenario({"faults": [{"model": PRIMARY, "error": 503}]})
    handler = AsyncEvents()
    await model(emu).ainvoke("x", config={"callbacks": [handler]})
    assert ["error", "ok"] == [data["outcome"] for _, data in handler.events]


def test_logs_one_warning_per_failure_and_info_per_answer(emu, caplog):
    """WARNING per failed attempt, INFO per served request, and the key never appears."""
    emu.set_scenario({"faults": [{"model": PRIMARY, "error": 503}]})
    with caplog.at_level(logging.INFO, logger="langchain_openrouter_fallback"):
        model(emu).invoke("x")
    records = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert ["WARNING", "INFO"] == [level for level, _ in records]
    assert "served by secondary" in records[1][1]
    assert KEY not in caplog.text


def test_errors_list_every_attempt_and_hide_the_key(emu):
    """FallbacksExhaustedError names each attempt; no key in message or records."""
    emu.set_scenario({"faults": [{"error": 503}]})
    with pytest.raises(FallbacksExhaustedError) as info:
        model(emu).invoke("x")
    message = str(info.value)
    assert "1. primary (openai/gpt-4o-mini): error [server 503]" in message
    assert "2. secondary (anthropic/claude-haiku-4.5): error [server 503]" in message
    assert KEY not in message
    assert KEY not in repr([a.as_dict() for a in info.value.attempts])
    assert KEY not in str(emu.log[-1].headers)


class Answer(BaseModel):
    """An answer."""

    text: str
    confidence: float


@pytest.mark.parametrize("method", ["function_calling", "json_schema"])
def test_structured_output_with_raw(emu, method):
    """include_raw returns the raw message (with its fallback record) and the parsed object."""
    emu.set_scenario({"faults": [{"model": PRIMARY, "error": 503}]})
    llm = model(emu, [
        {"model": PRIMARY, "label": "primary"},
        {"model": "google/gemini-2.5-flash", "label": "secondary"},
    ])  # fmt: skip
    result = llm.with_structured_output(Answer, method=method, include_raw=True).invoke("x")
    assert isinstance(result["parsed"], Answer)
    assert result["parsing_error"] is None
    assert "secondary" == result["raw"].response_metadata["fallback"]["served_by"]


def test_async_calls_work_across_event_loops(emu):
    """One model instance serves ainvoke from several asyncio.run loops in a row."""
    llm = model(emu)
    served = [
        asyncio.run(llm.ainvoke("x")).response_metadata["fallback"]["served_by"] for _ in range(3)
    ]
    assert ["primary"] * 3 == served


def test_keepalives_are_cut_on_time_after_many_finished_attempts(emu):
    """The watchdog (the only limit once headers are in) still fires after it has dropped
    hundreds of finished attempts: keep-alives alone never reach a first token."""
    llm = model(emu, [
        {"model": PRIMARY, "label": "primary", "first_token_timeout": 1},
        {"model": SECONDARY, "label": "secondary"},
    ], breaker={"enabled": False})  # fmt: skip
    for _ in range(200):
        assert "primary" == llm.invoke("hi").response_metadata["fallback"]["served_by"]
    emu.set_scenario({"faults": [{"model": PRIMARY, "slow_first_token": "forever"}]})
    *_, last = llm.stream("hi")
    fallback = last.response_metadata["fallback"]
    assert "secondary" == fallback["served_by"]
    first = fallback["attempts"][0]
    assert ("primary", "timeout") == (first["label"], first["error_kind"])
