"""The wire engine, public: read OpenRouter responses and time attempts the way the chain does.

This is the seam other runtimes plug into (the LiteLLM proxy guard in ``litellm_config``
uses nothing else of this package). It loads neither LangChain nor litellm: it yields plain
values, and the chat model turns them into LangChain messages.

Reading one attempt, sans-IO (the caller owns the socket)::

    from langchain_openrouter_fallback.wire import AttemptReader, Progress, SSEDecoder

    clock = Progress(deadline=time.monotonic() + 60, first_token=15, stall=10)
    reader = AttemptReader(clock)
    decoder = SSEDecoder()
    for line in lines:  # the response body, line by line, as the caller reads it
        event = decoder.feed(line)
        if event is not None and not event.done:
            reader.feed(event)  # raises AttemptFailure: an in-band error, a bad body...
    reader.end()  # raises AttemptFailure(network) when the stream was cut
    reader.meta, reader.usage, reader.cost  # who served, and what it cost

- :class:`Progress` is the attempt's clock: a whole-attempt deadline plus optional
  first-token and stall limits. Only output (text, tool calls, reasoning) moves it;
  keep-alive comments and whitespace padding never do. :meth:`Progress.next_deadline`
  says when and which :data:`Limit` fires next; :meth:`Progress.timeout_failure` is the
  failure for the limit that fired (its ``limit`` field names it).
- :class:`SSEDecoder` turns body lines into :class:`SSEEvent` values; a whole body answering
  a stream request is one event with ``whole=True``.
- :class:`AttemptReader` classifies what a response says (an ``error`` object in a 200,
  ``choices: null``, a body that is not a completion, a stream cut before its
  ``finish_reason``) the same way for a whole response and a stream, and records who
  served, the usage and the cost before raising, so a failed attempt's cost is kept.
- :func:`classify` and :func:`classify_exception` map HTTP statuses, error bodies and
  transport exceptions to an :class:`ErrorKind`.
"""

from __future__ import annotations

from langchain_openrouter_fallback._attempts import reported_cost
from langchain_openrouter_fallback._decisions.clock import AttemptFailure, Limit, Progress
from langchain_openrouter_fallback._errors import (
    ErrorKind,
    classify,
    classify_exception,
    error_message,
)
from langchain_openrouter_fallback._wire.attempt import (
    FINISH_GRACE,
    AttemptReader,
    Delta,
    inband_failure,
    usable_choice,
)
from langchain_openrouter_fallback._wire.transport import (
    SSEDecoder,
    SSEEvent,
    parse_json_body,
    retry_after_seconds,
)

__all__ = [
    "FINISH_GRACE",
    "AttemptFailure",
    "AttemptReader",
    "Delta",
    "ErrorKind",
    "Limit",
    "Progress",
    "SSEDecoder",
    "SSEEvent",
    "classify",
    "classify_exception",
    "error_message",
    "inband_failure",
    "parse_json_body",
    "reported_cost",
    "retry_after_seconds",
    "usable_choice",
]
