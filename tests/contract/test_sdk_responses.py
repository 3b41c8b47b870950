"""Every response the emulator can produce, judged by OpenRouter's official SDK.

Completions, tool calls and structured output parse into the SDK's ``ChatResult``; every
stream chunk kind (content, tool-call deltas, finish, usage, in-band error) into its
``ChatStreamChunk``; every error status raises the SDK's own error class for that status.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from openrouter import OpenRouter, errors
from openrouter.components import ChatResult, ChatStreamChunk

from langchain_openrouter_fallback.emulator._scenario import ERROR_STATUSES
from tests.contract.conftest import judged

USER = [{"role": "user", "content": "hi"}]
WEATHER = {
    "type": "function",
    "function": {
        "name": "weather",
        "description": "Weather for a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}
SCHEMA = {
    "type": "json_schema",
    "json_schema": {
        "name": "Weather",
        "strict": True,
        "schema": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "celsius": {"type": "number"}},
            "required": ["city", "celsius"],
            "additionalProperties": False,
        },
    },
}
SCRIPTED_TOOLS = {
    "models": {
        "openai/gpt-4o-mini": {
            "scripted": {"tool_calls": [{"name": "weather", "arguments": {"city": "Paris"}}]}
        }
    }
}
# The SDK's class for each status the emulator can answer with.
ERROR_CLASSES: dict[int, type[errors.OpenRouterError]] = {
    400: errors.BadRequestResponseError,
    401: errors.UnauthorizedResponseError,
    402: errors.PaymentRequiredResponseError,
    403: errors.ForbiddenResponseError,
    404: errors.NotFoundResponseError,
    408: errors.RequestTimeoutResponseError,
    413: errors.PayloadTooLargeResponseError,
    422: errors.UnprocessableEntityResponseError,
    429: errors.TooManyRequestsResponseError,
    500: errors.InternalServerResponseError,
    502: errors.BadGatewayResponseError,
    503: errors.ServiceUnavailableResponseError,
    524: errors.EdgeNetworkTimeoutResponseError,
    529: errors.ProviderOverloadedResponseError,
}


def send(sdk: OpenRouter, **kwargs: Any) -> ChatResult:
    result = sdk.chat.send(model="openai/gpt-4o-mini", messages=USER, **kwargs)
    assert isinstance(result, ChatResult)
    judged(result)
    return result


def chunks(sdk: OpenRouter, **kwargs: Any) -> list[ChatStreamChunk]:
    stream = sdk.chat.send(model="openai/gpt-4o-mini", messages=USER, stream=True, **kwargs)
    with stream as events:
        received = list(events)
    for chunk in received:
        assert isinstance(chunk, ChatStreamChunk)
        judged(chunk)
    return received


def test_every_error_status_has_an_sdk_class():
    """The table below covers every status a scenario may script."""
    assert set(ERROR_STATUSES) == set(ERROR_CLASSES)


def test_completion(sdk, emu):
    result = send(sdk)
    choice = result.choices[0]
    assert "stop" == choice.finish_reason
    assert choice.message.content.startswith("This is the OpenRouter emulator answering")
    assert result.usage is not None
    assert result.usage.total_tokens == result.usage.prompt_tokens + result.usage.completion_tokens
    assert result.usage.cost is not None
    assert result.usage.cost > 0
    assert emu.log[-1].model == result.model


def test_padded_completion(sdk, emu):
    """Whitespace before the JSON body (seen on the wire) does not disturb the SDK."""
    emu.set_scenario({"padding": 3})
    assert "stop" == send(sdk).choices[0].finish_reason


def test_tool_call_completion(sdk, emu):
    emu.set_scenario(SCRIPTED_TOOLS)
    choice = send(sdk, tools=[WEATHER]).choices[0]
    assert "tool_calls" == choice.finish_reason
    [call] = choice.message.tool_calls
    assert ("weather", {"city": "Paris"}) == (
        call.function.name,
        json.loads(call.function.arguments),
    )


def test_forced_tool_choice_completion(sdk):
    choice = send(
        sdk, tools=[WEATHER], tool_choice={"type": "function", "function": {"name": "weather"}}
    ).choices[0]
    assert "weather" == choice.message.tool_calls[0].function.name


def test_structured_output_completion(sdk):
    content = send(sdk, response_format=SCHEMA).choices[0].message.content
    assert {"city", "celsius"} == set(json.loads(content))


def test_json_mode_completion(sdk, emu):
    emu.set_scenario({"models": {"*": {"scripted": {"json_object": {"ok": True}}}}})
    assert {"ok": True} == json.loads(
        send(sdk, response_format={"type": "json_object"}).choices[0].message.content
    )


def test_stream_chunk_kinds(sdk, emu):
    """Keep-alives are skipped; content deltas, the finish chunk and the usage chunk parse."""
    emu.set_scenario({"stream": {"keepalives_before": 2, "keepalive_every": 1, "chunks": 4}})
    received = chunks(sdk, stream_options={"include_usage": True})
    content = [c for c in received if c.choices and c.choices[0].delta.content]
    assert 4 == len(content)
    finish = [
        c.choices[0].finish_reason for c in received if c.choices and c.choices[0].finish_reason
    ]
    assert ["stop", "stop"] == finish  # the finish chunk, then the usage chunk repeating it
    assert received[-1].usage is not None
    assert received[-1].usage.completion_tokens > 0
    assert all(c.model == received[0].model and c.id == received[0].id for c in received)


def test_stream_tool_call_deltas(sdk, emu):
    emu.set_scenario(SCRIPTED_TOOLS)
    received = chunks(sdk, tools=[WEATHER])
    deltas = [tc for c in received if c.choices for tc in c.choices[0].delta.tool_calls or []]
    assert "weather" == deltas[0].function.name
    arguments = "".join(d.function.arguments or "" for d in deltas)
    assert {"city": "Paris"} == json.loads(arguments)
    assert "tool_calls" in {c.choices[0].finish_reason for c in received if c.choices}


def test_stream_structured_output(sdk):
    text = "".join(
        c.choices[0].delta.content or "" for c in chunks(sdk, response_format=SCHEMA) if c.choices
    )
    assert {"city", "celsius"} == set(json.loads(text))


@pytest.mark.parametrize("framing", ["chunked", "content-length", "close"])
@pytest.mark.parametrize("stream", [False, True], ids=["invoke", "stream"])
def test_every_framing_parses(sdk, emu, framing, stream):
    """Chunked, Content-Length and close-delimited bodies are all the SDK's objects."""
    emu.set_scenario({"framing": framing})
    if stream:
        assert chunks(sdk)[-1].usage is not None
    else:
        assert "stop" == send(sdk).choices[0].finish_reason


def test_whitespace_keepalives_before_a_json_body(sdk, emu):
    """A slow non-stream answer padded with whitespace blocks, then the body, parses."""
    emu.set_scenario(
        {"stream": {"keepalive_interval": 0.05}, "faults": [{"slow_first_token": 0.2}]}
    )
    assert "stop" == send(sdk).choices[0].finish_reason


@pytest.mark.parametrize(
    "spec",
    [
        {},  # defaults: the wire's shape (integer code, finish_reason null)
        {"after": 0, "code": 400, "message": "Token limit reached"},  # the recorded minimax error
        {"after": 2, "code": 502, "finish_reason": "error"},
    ],
    ids=["default", "recorded-minimax", "finish-error"],
)
def test_in_band_error_chunk(sdk, emu, spec):
    """A mid-stream error with an integer code is the SDK's ``ChatStreamChunk.error``."""
    emu.set_scenario({"faults": [{"midstream_error": spec}]})
    last = chunks(sdk)[-1]
    assert last.error is not None
    assert isinstance(last.error.code, int)
    assert spec.get("finish_reason") == last.choices[0].finish_reason


def test_string_error_code_is_outside_the_sdk_contract(sdk, emu):
    """The docs' string ``code`` (a scripted variant) is rejected by the SDK; the wire sends ints."""
    emu.set_scenario(
        {"faults": [{"midstream_error": {"code": "server_error", "finish_reason": "error"}}]}
    )
    with pytest.raises(errors.ResponseValidationError, match=r"error\.code"):
        chunks(sdk)


@pytest.mark.parametrize(
    "fault",
    [{"slow_first_token": 0.2}, {"latency": 0.1}, {"missing_done": True}],
    ids=lambda f: next(iter(f)),
)
def test_stream_faults_parse(sdk, emu, fault):
    """Faults that shape timing or the end of a stream leave every chunk parseable."""
    emu.set_scenario({"faults": [fault], "stream": {"keepalive_interval": 0.05}})
    assert chunks(sdk)[-1].usage is not None


def test_stalled_stream_chunks_parse(sdk, emu):
    """Chunks before a stall (then only keep-alive comments) are the SDK's chunks."""
    emu.set_scenario({"faults": [{"stall_after": 2}], "stream": {"keepalive_interval": 0.05}})
    stream = sdk.chat.send(model="openai/gpt-4o-mini", messages=USER, stream=True)
    with stream as events:
        first, second = next(events), next(events)
    for chunk in (first, second):
        assert isinstance(chunk, ChatStreamChunk)
        judged(chunk)
    assert (first.choices[0].delta.content or "") + (second.choices[0].delta.content or "")


@pytest.mark.parametrize("status", sorted(ERROR_CLASSES))
@pytest.mark.parametrize("stream", [False, True], ids=["invoke", "stream"])
def test_error_status_raises_its_sdk_class(sdk, emu, status, stream):
    emu.set_scenario({"faults": [{"error": status}]})
    with pytest.raises(ERROR_CLASSES[status]) as raised:
        sdk.chat.send(model="openai/gpt-4o-mini", messages=USER, stream=stream)
    assert status == raised.value.data.error.code
    assert raised.value.data.error.message


@pytest.mark.parametrize(
    "error",
    [
        {"status": 429, "retry_after": 3},
        {"status": 502, "metadata_style": "current"},
        {"status": 529, "metadata_style": "legacy"},
        "context_length",
    ],
    ids=["429-retry-after", "502-current-metadata", "529-legacy-metadata", "context-length"],
)
def test_error_bodies_with_metadata(sdk, emu, error):
    emu.set_scenario({"faults": [{"error": error}]})
    with pytest.raises(errors.OpenRouterError) as raised:
        send(sdk)
    assert not isinstance(
        raised.value, errors.ResponseValidationError | errors.OpenRouterDefaultError
    )
    assert raised.value.data.error.metadata


def test_missing_key_is_the_sdks_unauthorized(emu):
    """The emulator's own 401 (no ``Authorization`` header) maps onto the SDK's class."""
    anonymous = OpenRouter(server_url=emu.base_url, retry_config=None)
    with anonymous, pytest.raises(errors.UnauthorizedResponseError):
        anonymous.chat.send(model="openai/gpt-4o-mini", messages=USER)


def test_invalid_model_is_the_sdks_bad_request(sdk):
    with pytest.raises(errors.BadRequestResponseError):
        sdk.chat.send(model="acme/no-such-model", messages=USER)


@pytest.mark.parametrize(
    ("fault", "stream"),
    [
        ({"error_200": True}, False),
        ({"error_200": "json"}, True),
        ({"choices_null": True}, False),
        ({"malformed_chunk": {"after": 1}}, True),
    ],
    ids=["error_200", "error_200-json-on-stream", "choices_null", "malformed_chunk"],
)
def test_off_contract_faults_are_refused_by_the_sdk(sdk, emu, fault, stream):
    """These faults reproduce real off-contract bodies (see NOTES.md: "Other 200 bodies to
    survive"); their point is that a strict client refuses them, as the SDK does."""
    emu.set_scenario({"faults": [fault]})
    call = chunks if stream else send
    with pytest.raises(errors.ResponseValidationError):
        call(sdk)


def test_cut_stream_is_a_transport_error(sdk, emu):
    emu.set_scenario({"faults": [{"cut_after": 1}]})
    with pytest.raises(httpx.RemoteProtocolError):
        chunks(sdk)


REASONING = {
    "models": {"*": {"scripted": {"reply": "The answer.", "reasoning": "Think it through."}}},
    "stream": {"chunks": 3},
}


@pytest.mark.parametrize("framing", ["chunked", "content-length", "close"])
def test_reasoning_deltas_parse(sdk, emu, framing):
    """Reasoning deltas (``reasoning`` + ``reasoning_details``) parse in every framing."""
    emu.set_scenario({**REASONING, "framing": framing})
    received = chunks(sdk)
    deltas = [c.choices[0].delta for c in received if c.choices and c.choices[0].delta.reasoning]
    assert "Think it through." == "".join(d.reasoning or "" for d in deltas)
    details = [detail for d in deltas for detail in d.reasoning_details or []]
    assert len(deltas) == len(details)
    assert all(detail.type == "reasoning.text" for detail in details)
    assert "The answer." == "".join(c.choices[0].delta.content or "" for c in received if c.choices)
    assert received[-1].usage.completion_tokens_details.reasoning_tokens > 0


@pytest.mark.parametrize("framing", ["chunked", "content-length", "close"])
def test_reasoning_completion_parses(sdk, emu, framing):
    """A whole message carries ``reasoning`` and ``reasoning_details`` beside the content."""
    emu.set_scenario({**REASONING, "framing": framing, "padding": 2})
    result = send(sdk)
    message = result.choices[0].message
    assert "Think it through." == message.reasoning
    assert result.usage.completion_tokens_details.reasoning_tokens > 0
    assert message.reasoning_details
    assert "The answer." == message.content
