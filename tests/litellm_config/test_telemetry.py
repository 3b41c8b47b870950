"""The proxy guard's attempts reach OpenTelemetry as the chat model's do (in-process Router)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import litellm_config
from tests.litellm_config.conftest import chain
from tests.telemetry.conftest import PRIMARY, SECONDARY, Otel, P, in_memory_sdk

pytestmark = pytest.mark.litellm

HI = [{"role": "user", "content": "hi"}]


@pytest.fixture
def guarded(litellm: Any) -> Iterator[None]:
    """The proxy plugin in LiteLLM's callbacks, as a generated config puts it."""
    from litellm_config import proxy_plugin  # noqa: PLC0415 - imports litellm

    litellm.callbacks.append(proxy_plugin.handler)
    yield
    litellm.callbacks.remove(proxy_plugin.handler)


@pytest.fixture
def otel() -> Iterator[Otel]:
    """This test's tracer and meter providers, in memory."""
    with in_memory_sdk() as seen:
        yield seen


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
async def test_guarded_attempts_are_spans_and_metrics(litellm, emu, guarded, otel: Otel, stream):
    """Primary 503, secondary serves: one `chat {model}` span per attempt, with our attributes."""
    emu.set_scenario({"faults": [{"model": PRIMARY, "error": 503}]})
    router = litellm.Router(**litellm_config.router_kwargs(chain(), api_base=emu.base_url))
    response = await router.acompletion(model="c", messages=HI, stream=stream)
    if stream:
        text = "".join([c.choices[0].delta.content or "" async for c in response])
    else:
        text = response.choices[0].message.content
    assert text
    spans = sorted(otel.finished(), key=lambda s: s.start_time)
    assert [
        ("chat openai/gpt-4o-mini", "c/primary", "error", "server", 503),
        ("chat anthropic/claude-haiku-4.5", "c/secondary", "ok", None, None),
    ] == [
        (
            s.name,
            s.attributes[P + "link"],
            s.attributes[P + "outcome"],
            s.attributes.get("error.type"),
            s.attributes.get("http.response.status_code"),
        )
        for s in spans
    ]
    served = spans[1].attributes
    assert ("openrouter", "127.0.0.1") == (served["gen_ai.provider.name"], served["server.address"])
    assert served["gen_ai.usage.output_tokens"] > 0
    assert served["gen_ai.response.id"]
    counted = {(a[P + "link"], a[P + "outcome"]): n for a, n in otel.points(P + "attempts")}
    assert {("c/primary", "error"): 1, ("c/secondary", "ok"): 1} == counted
    durations = {
        a["gen_ai.request.model"] for a, _ in otel.points("gen_ai.client.operation.duration")
    }
    assert {PRIMARY, SECONDARY} == durations
    ttfc = otel.points("gen_ai.client.operation.time_to_first_chunk")
    assert ([SECONDARY] if stream else []) == [a["gen_ai.request.model"] for a, _ in ttfc]
