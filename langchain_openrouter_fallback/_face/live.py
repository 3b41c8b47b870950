"""Live attempts for stream consumers: each failed attempt as a content-free chunk.

A stream consumer learns of a failover when it happens, before the answer's first content:
the driver passes on, between content chunks, one :class:`AIMessageChunk` per attempt that
did not serve (``error``, ``skipped``, ``cancelled``), with empty content and the attempt's
dict in ``response_metadata["fallback_attempts"]`` (a one-item list, so LangChain's chunk
addition concatenates them). The text a consumer concatenates does not change.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from langchain_core.messages import AIMessageChunk

if TYPE_CHECKING:
    from langchain_openrouter_fallback._attempts import Attempt
    from langchain_openrouter_fallback._decisions.run import ChainRun

__all__ = ["LIVE_KEY", "AttemptNews", "attempt_chunk"]

LIVE_KEY = "fallback_attempts"
"""The ``response_metadata`` key of a live attempt chunk."""


def attempt_chunk(attempt: Attempt) -> AIMessageChunk:
    """A content-free chunk that carries one attempt."""
    return AIMessageChunk(content="", response_metadata={LIVE_KEY: [attempt.as_dict()]})


class AttemptNews:
    """The attempts of a run not yet passed on to its stream's consumer."""

    __slots__ = ("_run", "_seen")

    def __init__(self, run: ChainRun[Any]) -> None:
        """Follow ``run``'s record of attempts from now on."""
        self._run = run
        self._seen = len(run.attempts)

    def chunks(self) -> list[AIMessageChunk]:
        """A chunk per attempt recorded since the last call that did not serve."""
        attempts = self._run.attempts
        if len(attempts) == self._seen:
            return []
        new, self._seen = attempts[self._seen :], len(attempts)
        return [attempt_chunk(a) for a in new if a.outcome != "ok"]
