"""``POST /api/v1/chat/completions``: validation, routing with fallback, faults, answers."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from langchain_openrouter_fallback.emulator._replies import (
    Reply,
    build_reply,
    continue_prefill,
    estimate_prompt_tokens,
    estimate_tokens,
    prefill_of,
    split_text,
)
from langchain_openrouter_fallback.emulator._routing import (
    RequestError,
    Router,
    check_provider_prefs,
)
from langchain_openrouter_fallback.emulator._wire import (
    DONE,
    KEEPALIVE,
    Served,
    completion_body,
    context_length_error,
    dumps,
    error_200_body,
    error_body,
    fault_error,
    midstream_chunk,
    sse,
    stream_events,
)

if TYPE_CHECKING:
    from langchain_openrouter_fallback.emulator._app import Exchange
    from langchain_openrouter_fallback.emulator._routing import ModelRoute
    from langchain_openrouter_fallback.emulator._scenario import Fault, Scenario, StreamSettings
    from langchain_openrouter_fallback.emulator._state import LogEntry, Runtime

__all__ = ["handle_completion"]

_NO_RETRY = frozenset({401, 402})
_PADDING = b"\n         \n"
_MALFORMED = b'data: {"id": "gen-malformed", "choices": [{"delta": {"content": "\n\n'
_NO_PREFILL = (
    "This model does not support assistant message prefill. "
    "The conversation must end with a user message."
)
"""Anthropic's 400 for a prefill on Claude 4.6 models, relayed by OpenRouter as ``raw``."""


@dataclass(frozen=True, slots=True)
class _Failure:
    status: int
    body: dict[str, Any]
    headers: dict[str, str]


def _validate(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        msg = "Invalid JSON body"
        raise RequestError(msg)
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        msg = 'Input required: specify "prompt" or "messages"'
        raise RequestError(msg)
    return body


async def handle_completion(exchange: Exchange, runtime: Runtime, entry: LogEntry) -> None:
    """Answer one chat completion request as OpenRouter would, faults included."""
    exchange.framing = runtime.scenario.framing
    try:
        body = _validate(entry.body)
        prefs = check_provider_prefs(body.get("provider"))
        routes = runtime.router.candidates(body)
    except RequestError as exc:
        entry.status = exc.status
        await exchange.json(exc.status, dumps(error_body(exc.status, exc.message)))
        return
    prompt_tokens = estimate_prompt_tokens(body)
    failure: _Failure | None = None
    for route in routes:
        outcome = _try_model(runtime, route, prefs, prompt_tokens, entry)
        if isinstance(outcome, _Failure):
            failure = outcome
            if outcome.status in _NO_RETRY:
                break
            continue
        provider, fault = outcome
        await _serve(
            exchange,
            runtime=runtime,
            body=body,
            route=route,
            provider=provider,
            fault=fault,
            prompt_tokens=prompt_tokens,
            entry=entry,
        )
        return
    failure = failure or _no_endpoints(routes[-1].model)
    entry.status = failure.status
    await exchange.json(failure.status, dumps(failure.body), failure.headers)


def _no_endpoints(model: str) -> _Failure:
    message = f"No endpoints found for {model} matching your provider preferences."
    return _Failure(404, error_body(404, message), {})


def _try_model(
    runtime: Runtime,
    route: ModelRoute,
    prefs: dict[str, Any] | None,
    prompt_tokens: int,
    entry: LogEntry,
) -> tuple[str, Fault | None] | _Failure:
    """The provider (and fault) that serves this model, or the error it ends with."""
    providers = Router.providers(route, prefs)
    if not providers:
        entry.attempts.append({"model": route.model, "provider": None, "status": 404})
        return _no_endpoints(route.model)
    limit = route.context_length
    if limit is not None and prompt_tokens > limit:
        entry.attempts.append({"model": route.model, "provider": None, "status": 400})
        return _Failure(400, context_length_error(limit, prompt_tokens, len(providers)), {})
    if route.behaviour is not None and not route.behaviour.prefill and prefill_of(entry.body):
        entry.attempts.append({"model": route.model, "provider": providers[0], "status": 400})
        return _prefill_rejected(providers[0])
    attempt = runtime.plan.next_attempt(route.model)
    failure: _Failure = _no_endpoints(route.model)
    for provider in providers:
        fault = (
            runtime.plan.pick(route.model, provider, attempt) if runtime.plan.has_faults else None
        )
        if fault is None or fault.effect != "error":
            return provider, fault
        failure = _Failure(*fault_error(fault.error_spec, route.served_as, provider, prompt_tokens))
        entry.attempts.append(
            {"model": route.model, "provider": provider, "status": failure.status, "fault": "error"}
        )
        entry.fault = "error"
        if failure.status in _NO_RETRY:
            break
    return failure


def _prefill_rejected(provider: str) -> _Failure:
    """OpenRouter's shape for a provider 400: generic message, upstream body in ``raw``."""
    raw = json.dumps(
        {"type": "error", "error": {"type": "invalid_request_error", "message": _NO_PREFILL}},
        separators=(",", ":"),
    )
    metadata = {"provider_name": provider, "raw": raw}
    return _Failure(400, error_body(400, "Provider returned error", metadata), {})


def _served(runtime: Runtime, route: ModelRoute, provider: str, prompt_tokens: int) -> Served:
    created = int(time.time())
    return Served(
        gen_id=runtime.generation_id(created),
        created=created,
        model=route.served_as,
        provider=provider,
        native_finish=route.native_finish,
        prompt_tokens=prompt_tokens,
        prompt_price=route.prompt_price,
        completion_price=route.completion_price,
    )


async def _serve(
    exchange: Exchange,
    *,
    runtime: Runtime,
    body: dict[str, Any],
    route: ModelRoute,
    provider: str,
    fault: Fault | None,
    prompt_tokens: int,
    entry: LogEntry,
) -> None:
    effect = fault.effect if fault is not None else None
    entry.model, entry.provider, entry.fault, entry.status = route.served_as, provider, effect, 200
    entry.attempts.append(
        {"model": route.model, "provider": provider, "status": 200, "fault": effect}
    )
    latency = (route.behaviour.latency if route.behaviour else 0.0) + (
        (fault.latency or 0.0) if fault is not None else 0.0
    )
    if latency and await exchange.wait(latency):
        await exchange.cut()
        return
    if fault is not None and await _pre_header_fault(exchange, fault, provider, body):
        entry.status = None
        return
    served = _served(runtime, route, provider, prompt_tokens)
    scripted = route.behaviour.scripted if route.behaviour else None
    default_text = f"This is the OpenRouter emulator answering as {served.model} via {provider}."
    reply = build_reply(body, scripted=scripted, default_text=default_text, call_id=served.gen_id)
    reply = continue_prefill(reply, prefill_of(body))
    if fault is not None and fault.answer is not None:
        unusable = fault.answer
        reply = Reply(unusable.content, refusal=unusable.refusal, finish=unusable.finish_reason)
    completion_tokens = estimate_tokens(reply.completion_chars)
    reasoning = scripted.reasoning if scripted else None
    if body.get("stream"):
        settings = runtime.scenario.stream
        pieces = split_text(reply.text or "", settings.chunks)
        thoughts = split_text(reasoning, settings.chunks) if reasoning else []
        chunks = stream_events(served, reply, pieces, completion_tokens, thoughts)
        planned = _stream_body(settings, chunks, fault)
        headers = exchange.sse_headers(served.gen_id)
        await _play(exchange, headers, planned, KEEPALIVE, settings.keepalive_interval)
        return
    data = completion_body(served, reply, completion_tokens, reasoning)
    if effect == "choices_null":
        data["choices"] = None
    planned = _json_body(runtime.scenario, dumps(data), fault)
    headers = exchange.json_headers({"x-generation-id": served.gen_id})
    await _play(exchange, headers, planned, _PADDING, runtime.scenario.stream.keepalive_interval)


async def _pre_header_fault(
    exchange: Exchange, fault: Fault, provider: str, body: dict[str, Any]
) -> bool:
    """Handle faults that replace the whole answer; ``True`` when handled."""
    if fault.hang:
        await exchange.wait(None)
        await exchange.cut()
        return True
    if fault.reset:
        await exchange.reset()
        return True
    if fault.error_200:
        data = dumps(error_200_body(provider))
        if body.get("stream") and fault.error_200 != "json":
            await exchange.open(200, exchange.sse_headers(""), len(data) + 8 + len(DONE))
            await exchange.write(sse(json.loads(data)) + DONE)
            await exchange.end()
        else:
            await exchange.json(200, data)
        return True
    return False


async def _keepalives(
    exchange: Exchange, seconds: float | None, interval: float, piece: bytes = KEEPALIVE
) -> bool:
    """Send keep-alive ``piece`` for ``seconds`` (``None``: forever); ``True`` if interrupted."""
    deadline = None if seconds is None else time.monotonic() + seconds
    while True:
        left = None if deadline is None else deadline - time.monotonic()
        if left is not None and left <= 0:
            return False
        if await exchange.wait(interval if left is None else min(interval, left)):
            return True
        await exchange.write(piece)


@dataclass(slots=True)
class _Body:
    """A body planned in full before it is sent, so every framing can carry it.

    ``end``: ``end`` finishes the body; ``cut`` closes the connection early; ``forever``
    sends keep-alives until the client leaves (with ``Content-Length``, whose body cannot
    grow, it stays silent), then cuts. ``unsent`` counts the bytes a complete answer would
    still have had: a ``Content-Length`` body that stops early declares them, as a server
    dying mid-body would.
    """

    parts: list[tuple[float, bytes]] = field(default_factory=list)
    end: Literal["end", "cut", "forever"] = "end"
    unsent: int = 0
    _wait: float = 0.0

    def add(self, data: bytes, wait: float = 0.0) -> None:
        """Send ``data`` after ``wait`` seconds (plus any pause still pending)."""
        self.parts.append((self._wait + wait, data))
        self._wait = 0.0

    def pause(self, seconds: float, piece: bytes, interval: float) -> None:
        """Wait ``seconds``, sending ``piece`` every ``interval`` (a fixed count of them)."""
        count = int(seconds // interval)
        for _ in range(count):
            self.add(piece, interval)
        self._wait += seconds - count * interval

    def stop(self, end: Literal["cut", "forever"], rest: list[bytes]) -> _Body:
        """End early, before ``rest``."""
        self.end, self.unsent = end, sum(map(len, rest))
        return self

    @property
    def length(self) -> int:
        """The ``Content-Length`` to declare."""
        return sum(len(data) for _, data in self.parts) + self.unsent


async def _play(
    exchange: Exchange,
    headers: list[tuple[bytes, bytes]],
    body: _Body,
    piece: bytes,
    interval: float,
) -> None:
    """Send a planned 200 response in the exchange's framing."""
    paced = len(body.parts) > 1 or body.end != "end"
    await exchange.open(200, headers, body.length, paced=paced)
    for wait, data in body.parts:
        if wait and await exchange.wait(wait):
            await exchange.cut()
            return
        await exchange.write(data)
    if body.end == "end":
        await exchange.end()
        return
    if body.end == "forever":
        if exchange.framing == "content-length":
            await exchange.wait(None)
        else:
            await _keepalives(exchange, None, interval, piece)
    await exchange.cut()


def _json_body(scenario: Scenario, data: bytes, fault: Fault | None) -> _Body:
    """Whitespace padding, then whitespace keep-alives while the first token is slow."""
    body = _Body()
    body.add(_PADDING * scenario.padding)
    slow = fault.slow_first_token if fault is not None else None
    if slow == "forever":
        return body.stop("forever", [data])
    if slow:
        body.pause(float(slow), _PADDING, scenario.stream.keepalive_interval)
    body.add(data)
    return body


def _stream_body(
    settings: StreamSettings, chunks: list[dict[str, Any]], fault: Fault | None
) -> _Body:
    """Keep-alives, paced data chunks and the fault's effect on them, then ``[DONE]``."""
    body = _Body()
    body.add(KEEPALIVE * settings.keepalives_before)
    if fault is not None and fault.effect == "choices_null":
        chunks = [{**chunks[0], "choices": None}, *chunks[1:]]
    events = [sse(chunk) for chunk in chunks]
    slow = fault.slow_first_token if fault is not None else None
    if slow == "forever":
        return body.stop("forever", [*events, DONE])
    if slow:
        body.pause(float(slow), KEEPALIVE, settings.keepalive_interval)
    for index, chunk in enumerate(chunks):
        wait = settings.chunk_interval if index else 0.0
        if fault is not None:
            end, wait = _chunk_fault(body, fault, index, chunk, wait)
            if end == "end":
                return body
            if end is not None:
                return body.stop(end, [*events[index:], DONE])
        event = events[index]
        if settings.keepalive_every and index and index % settings.keepalive_every == 0:
            event = KEEPALIVE + event
        body.add(event, wait)
    if fault is None or not fault.missing_done:
        body.add(DONE)
    return body


def _chunk_fault(
    body: _Body, fault: Fault, index: int, chunk: dict[str, Any], wait: float
) -> tuple[Literal["end", "cut", "forever"] | None, float]:
    """Apply a mid-stream fault before data chunk ``index``.

    Returns how the body ends (``None``: it goes on) and the wait left before the chunk.
    """
    if fault.stall_after == index:
        return "forever", wait
    if fault.cut_after == index:
        return "cut", wait
    spec = fault.midstream_error
    if spec is not None and spec.after == index:
        served_head = {k: chunk[k] for k in ("id", "object", "created", "model", "provider")}
        body.add(sse(midstream_chunk(served_head, spec)), wait)
        return "end", 0.0
    malformed = fault.malformed_chunk
    if malformed is not None and malformed.after == index:
        body.add(_MALFORMED, wait)
        return None, 0.0
    return None, wait
