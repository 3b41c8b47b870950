"""Answer checks (``accept``): is an answer usable, before it is committed?

Pure and LangChain-free: the chat model and the LiteLLM guard both read the answer the
upstream sent into an :class:`Answer` (``AttemptReader.answer``) and ask :func:`reject`.
Custom checks (a Python callable taking the ``AIMessage``) are the chat model's own.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeAlias, get_args

from langchain_openrouter_fallback._decisions.conforms import first_violation
from langchain_openrouter_fallback._definition.chain import CheckName

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, Sequence

__all__ = [
    "CHECKS",
    "GUARD_CHECKS",
    "PRE_CONTENT_CHECKS",
    "Answer",
    "CheckName",
    "CustomCheck",
    "Rejection",
    "custom_rejection",
    "reject",
]

CustomCheck: TypeAlias = "Callable[[Any], str | None]"
"""A check of the caller's: given the answer (the chat model's ``AIMessage``), the reason to
reject it, or ``None`` (or ``""``) to accept."""
CHECKS: tuple[CheckName, ...] = get_args(CheckName)
PRE_CONTENT_CHECKS: frozenset[str] = frozenset({"non_empty", "no_refusal"})
"""What a ``raise``/``continue`` stream can still decide: an empty stream, or a refusal before
any output reached the consumer. The rest need the whole answer (``buffer``, or ``invoke``)."""
GUARD_CHECKS: frozenset[str] = frozenset({"non_empty", "no_refusal", "complete"})
"""What the LiteLLM proxy guard applies (JSON answers and buffered streams)."""


@dataclass(slots=True)
class Answer:
    """What an upstream answered, as far as the checks need it (filled while reading).

    Pieces are kept as they arrive and joined only when a check asks: a long stream costs
    one append per delta, not a copy of everything so far.
    """

    refusal: str | None = None
    finish_reason: str | None = None
    _text: list[str] = field(default_factory=list)
    _calls: list[tuple[list[str], list[str]]] = field(default_factory=list)

    @property
    def text(self) -> str:
        """The text answered so far."""
        return "".join(self._text)

    @property
    def tool_calls(self) -> list[tuple[str, str]] | None:
        """``(name, arguments JSON)`` per tool call, in order (``None``: no tool call)."""
        return [("".join(n), "".join(a)) for n, a in self._calls] if self._calls else None

    def add_delta(self, delta: Mapping[str, Any]) -> None:
        """Accumulate one stream delta (or a whole ``message``)."""
        content = delta.get("content")
        if isinstance(content, str) and content:
            self._text.append(content)
        refusal = delta.get("refusal")
        if isinstance(refusal, str) and refusal:
            self.refusal = (self.refusal or "") + refusal
        for call in delta.get("tool_calls") or ():
            self._add_call(call)

    def _add_call(self, call: Any) -> None:
        if not isinstance(call, dict):
            return
        calls = self._calls
        function = call.get("function") or {}
        index = call.get("index", len(calls) if call.get("id") else len(calls) - 1)
        if not isinstance(index, int) or index < 0:
            index = len(calls)
        while len(calls) <= index:
            calls.append(([], []))
        names, arguments = calls[index]
        names.append(function.get("name") or "")
        arguments.append(function.get("arguments") or "")


@dataclass(frozen=True, slots=True)
class Rejection:
    """Which check turned an answer down, and why."""

    check: str
    reason: str

    def __str__(self) -> str:
        return f"{self.check}: {self.reason}"


def reject(
    checks: Iterable[str],
    answer: Answer,
    sent: Mapping[str, Any] | None = None,
    asked: Mapping[str, Any] | None = None,
) -> Rejection | None:
    """The first of ``checks`` that ``answer`` fails.

    ``sent`` is the body this link was sent and ``asked`` the caller's (they differ when a
    link's structured-output route was adapted, e.g. to ``json_object``): ``schema`` reads the
    schema from them.
    """
    requests = (sent or {}, asked or sent or {})
    wanted = set(checks)
    for check in _MOST_SPECIFIC_FIRST:  # an empty refusal reads as a refusal
        if check not in wanted:
            continue
        reason = _REASONS[check](answer, requests)
        if reason is not None:
            return Rejection(check, reason)
    return None


_Requests: TypeAlias = "tuple[Mapping[str, Any], Mapping[str, Any]]"


def custom_rejection(checks: Sequence[CustomCheck], answer: Any) -> Rejection | None:
    """The first custom check that turns ``answer`` down (named by its ``__name__``)."""
    for check in checks:
        reason = check(answer)
        if reason:
            name = getattr(check, "__name__", type(check).__name__)
            return Rejection(name, str(reason))
    return None


def _non_empty(answer: Answer, _: _Requests) -> str | None:
    if answer.text.strip() or answer.tool_calls:
        return None
    return f"no text and no tool call (finish_reason {answer.finish_reason!r})"


def _no_refusal(answer: Answer, _: _Requests) -> str | None:
    if answer.refusal:
        return f"the model refused: {answer.refusal[:120]!r}"
    if answer.finish_reason == "content_filter":
        return "finish_reason 'content_filter'"
    return None


def _complete(answer: Answer, _: _Requests) -> str | None:
    if answer.finish_reason == "length":
        return "cut at the token limit (finish_reason 'length')"
    return None


def _schema(answer: Answer, requests: _Requests) -> str | None:
    """The structured output asked for, checked against its schema.

    The caller's schema, when the link was sent a looser route such as ``json_object``.
    """
    sent, asked = requests
    wanted = _requested_schema(sent)
    if wanted is None:
        return None  # no structured output asked for: nothing to check
    tool, schema = wanted
    if schema is None and tool is None:
        schema = (_requested_schema(asked) or (None, None))[1]
    if tool is None:
        text = answer.text
    else:
        text = next((args for name, args in answer.tool_calls or () if name == tool), "")
        if not text:
            return f"no call of the schema tool {tool!r}"
    try:
        value = json.loads(text)
    except ValueError:
        return f"not JSON: {text[:60]!r}"
    if schema is None:
        return None if isinstance(value, dict) else "not a JSON object"
    violation = first_violation(value, schema)
    return None if violation is None else f"does not match the schema: {violation}"


def _requested_schema(request: Mapping[str, Any]) -> tuple[str | None, Any] | None:
    """``(tool name or None, JSON schema or None)`` of the structured output requested."""
    response_format = request.get("response_format")
    if isinstance(response_format, dict):
        if response_format.get("type") == "json_schema":
            spec = response_format.get("json_schema") or {}
            return None, spec.get("schema") if isinstance(spec, dict) else None
        if response_format.get("type") == "json_object":
            return None, None
    choice = request.get("tool_choice")
    name = choice.get("function", {}).get("name") if isinstance(choice, dict) else None
    for tool in request.get("tools") or ():
        function = tool.get("function") if isinstance(tool, dict) else None
        if isinstance(function, dict) and name and function.get("name") == name:
            return name, function.get("parameters")
    return None


_MOST_SPECIFIC_FIRST: tuple[CheckName, ...] = ("no_refusal", "complete", "non_empty", "schema")
_REASONS = {
    "non_empty": _non_empty,
    "no_refusal": _no_refusal,
    "complete": _complete,
    "schema": _schema,
}
