"""Wire: what one attempt's response says, read once for every path (no LangChain here).

:class:`AttemptReader` is sans-IO: a driver hands it a whole response body
(:meth:`~AttemptReader.read_body`) or a stream's SSE events one by one
(:meth:`~AttemptReader.feed`, then :meth:`~AttemptReader.end`), and it

- classifies what is wrong (an ``error`` object in a 200, ``choices: null``, a body that is
  not a completion, a stream cut before its ``finish_reason``) into an
  :class:`~langchain_openrouter_fallback._decisions.clock.AttemptFailure`, the same way for a
  whole response, a stream, and a whole body answering a stream;
- records who served (``model``, ``provider``, ``id``), the usage and its ``cost`` before
  any failure is raised, so a failed attempt's cost is never lost;
- moves the attempt's clock: only output (text, tool calls, reasoning) counts as a token.

The chat model's drivers and the LiteLLM proxy guard both read responses through it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from langchain_openrouter_fallback._attempts import reported_cost
from langchain_openrouter_fallback._decisions.accept import Answer
from langchain_openrouter_fallback._decisions.clock import AttemptFailure
from langchain_openrouter_fallback._errors import ErrorKind, classify, error_message

if TYPE_CHECKING:
    from langchain_openrouter_fallback._decisions.clock import Progress
    from langchain_openrouter_fallback._wire.transport import SSEEvent

__all__ = [
    "FINISH_GRACE",
    "AttemptReader",
    "Delta",
    "inband_failure",
    "usable_choice",
]

FINISH_GRACE = 1.0
"""Seconds to wait for the usage chunk after ``finish_reason`` before finishing anyway."""
_AFTER_FINISH = frozenset({ErrorKind.TIMEOUT, ErrorKind.NETWORK})
"""Failures that cannot spoil an answer whose ``finish_reason`` already arrived."""
_STRING_CODES = {
    "rate_limit_exceeded": ErrorKind.RATE_LIMIT,
    "context_length_exceeded": ErrorKind.CONTEXT_LENGTH,
    "content_filter": ErrorKind.CONTENT_POLICY,
    "timeout": ErrorKind.TIMEOUT,
}


def inband_failure(error: Any, *, default_kind: ErrorKind = ErrorKind.SERVER) -> AttemptFailure:
    """The failure an ``error`` object inside a 200 body or stream chunk stands for."""
    error = error if isinstance(error, dict) else {"message": str(error)}
    code = error.get("code")
    body = {"error": error}
    if isinstance(code, int) and not isinstance(code, bool):
        failure = AttemptFailure.from_status(code, body)
        failure.status_code = code
        return failure
    kind = classify(None, body)
    if kind == ErrorKind.SERVER and isinstance(code, str):
        kind = _STRING_CODES.get(code, default_kind)
    message = error_message(body) or f"in-band error {code!r}"
    return AttemptFailure(kind, message[:500], body=body)


def usable_choice(body: Any) -> dict[str, Any]:
    """The first choice of a whole completion body; raises the classified failure if none."""
    if not isinstance(body, dict):
        msg = f"response is a JSON {type(body).__name__}, not an object"
        raise AttemptFailure(ErrorKind.MALFORMED, msg)
    choices = body.get("choices")
    if body.get("error") is not None and not choices:
        raise inband_failure(body["error"])
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        msg = f"response has no usable choices (choices={choices!r:.60})"
        raise AttemptFailure(ErrorKind.MALFORMED, msg)
    choice: dict[str, Any] = choices[0]
    if choice.get("finish_reason") == "error" or choice.get("error"):
        raise inband_failure(choice.get("error") or {"message": "finish_reason error"})
    return choice


@dataclass(slots=True, frozen=True)
class Delta:
    """One stream event's completion chunk, checked: the data, its choice's delta and finish."""

    data: dict[str, Any]
    delta: dict[str, Any]
    finish_reason: str | None
    output: bool
    """It carries output (text, a tool call, reasoning or a refusal): the clock counted it."""


class AttemptReader:
    """Reads one attempt's response; remembers who served, the usage and what was wrong."""

    __slots__ = ("answer", "finish_reason", "meta", "notes", "produced", "progress", "usage")

    def __init__(self, progress: Progress) -> None:
        """Read under ``progress``, the attempt's clock."""
        self.progress = progress
        self.meta: dict[str, Any] = {}
        """``model``, ``provider``, ``id`` and ``native_finish_reason`` as the upstream said."""
        self.usage: dict[str, Any] | None = None
        self.finish_reason: str | None = None
        self.notes: list[str] = []
        """Things worth knowing that did not fail the attempt (e.g. a skipped event)."""
        self.produced = False
        """Whether the upstream sent any output (text, reasoning or tool calls)."""
        self.answer = Answer()
        """The answer so far (text, tool calls, refusal, finish), for the ``accept`` checks."""

    @property
    def cost(self) -> float | None:
        """``usage.cost`` as the upstream reported it, failed attempts included."""
        return reported_cost({"usage": self.usage})

    @property
    def complete(self) -> bool:
        """Finish reason and usage both seen: nothing more is needed."""
        return self.finish_reason is not None and self.usage is not None

    def _remember(self, data: dict[str, Any]) -> None:
        for key in ("model", "provider", "id"):
            if data.get(key):
                self.meta[key] = data[key]
        if isinstance(data.get("usage"), dict):
            self.usage = data["usage"]  # kept before an in-band error raises: cost counts

    def read_body(self, body: Any) -> dict[str, Any]:
        """A whole completion body: its first choice, or the classified failure."""
        if isinstance(body, dict):
            self._remember(body)
        choice = usable_choice(body)
        self.finish_reason = self.answer.finish_reason = choice.get("finish_reason")
        self.meta["native_finish_reason"] = choice.get("native_finish_reason")
        message = choice.get("message")
        if isinstance(message, dict):
            self.answer.add_delta(message)
        return choice

    def feed(self, event: SSEEvent) -> Delta | None:
        """One SSE event: its checked chunk, or ``None`` (keep-alives, skipped events)."""
        data = self._decode(event)
        if data is None:
            return None
        if event.whole:
            choice = self.read_body(data)
            delta = choice.get("message") or {}
        else:
            choice = self._chunk_choice(data)
            delta = choice.get("delta") or choice.get("message") or {}
            if isinstance(delta, dict):
                self.answer.add_delta(delta)
        finish = choice.get("finish_reason")
        if finish:
            self.finish_reason = self.answer.finish_reason = finish
            self.meta["native_finish_reason"] = choice.get("native_finish_reason")
            self.progress.finishing(FINISH_GRACE)
        output = bool(
            delta.get("content")
            or delta.get("tool_calls")
            or delta.get("reasoning")
            or delta.get("reasoning_details")
            or delta.get("refusal")
        )
        if output:
            self.progress.token()  # reasoning (even encrypted) is output for both clocks
            self.produced = True
        return Delta(data, delta, finish, output)

    def _chunk_choice(self, data: dict[str, Any]) -> dict[str, Any]:
        self._remember(data)
        if data.get("error") is not None:
            raise inband_failure(data["error"])
        choices = data.get("choices") or []
        choice = choices[0] if choices and isinstance(choices[0], dict) else {}
        if choice.get("error"):
            raise inband_failure(choice["error"])
        return choice

    def _decode(self, event: SSEEvent) -> dict[str, Any] | None:
        """The event's JSON object, or ``None`` (keep-alives; malformed events are noted)."""
        if event.data is None:
            return None  # keep-alive comment: never progress
        try:
            data = json.loads(event.data)
        except ValueError:
            self.notes.append(f"skipped malformed event {event.data[:60]!r}")
            return None
        if event.whole and not isinstance(data, dict):
            usable_choice(data)  # raises: a whole body is judged as a whole completion
        if event.whole:
            return data  # type: ignore[no-any-return]
        if not isinstance(data, dict):
            self.notes.append("skipped non-object event")
            return None
        if data.get("choices") is None and not data.get("usage") and not data.get("error"):
            self.notes.append("skipped event with choices: null")
            return None
        return data

    def end(self) -> None:
        """The stream ended: one without a ``finish_reason`` was cut."""
        if self.finish_reason is None:
            msg = "stream ended before a finish_reason"
            raise AttemptFailure(ErrorKind.NETWORK, msg)

    def absorb(self, failure: AttemptFailure) -> None:
        """Re-raise unless the answer had finished (a timeout or lost connection is noted).

        After ``finish_reason`` only the trailing usage chunk is missing; in-band errors
        still re-raise.
        """
        if self.finish_reason is None or failure.kind not in _AFTER_FINISH:
            raise failure
        if failure.kind == ErrorKind.NETWORK:
            self.notes.append(f"connection lost after finish_reason: {failure.message[:80]}")
