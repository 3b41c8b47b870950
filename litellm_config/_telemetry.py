"""The proxy guard's attempts as OpenTelemetry spans and metrics, the chat model's own kind.

Each guarded attempt is reported once, when it ends, through the core's public seam
(:func:`langchain_openrouter_fallback.telemetry.record_attempt`): a ``chat {model}`` span
under the current one (LiteLLM's own request span when the proxy runs with OpenTelemetry) and
the same ``gen_ai.client.*`` and ``openrouter_fallback.*`` metrics. Without
``opentelemetry-api`` nothing is recorded and nothing of it is imported.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from langchain_openrouter_fallback import Attempt, classify, telemetry

if TYPE_CHECKING:
    import httpx

    from langchain_openrouter_fallback.wire import AttemptFailure, AttemptReader, Progress
    from litellm_config._learning import Lesson

__all__ = ["GuardAttempt"]


class GuardAttempt:
    """One attempt through the guard; reports itself once, at its end (and teaches its lesson)."""

    __slots__ = (
        "_lesson", "_link", "_model", "_progress", "_server", "_streaming", "_telemetry", "done",
    )  # fmt: skip

    def __init__(
        self,
        link: str,
        request: httpx.Request,
        progress: Progress,
        *,
        streaming: bool,
        lesson: Lesson | None = None,
    ) -> None:
        """An attempt of ``link`` sending ``request`` under ``progress``.

        ``lesson``: the attempt has ``auto`` limits; its end teaches them if it served.
        """
        self._link = link
        self._progress = progress
        self._streaming = streaming
        self._server = f"{request.url.scheme}://{request.url.netloc.decode()}"
        self._model = _model_of(request) or link
        self._telemetry = telemetry.active()
        self._lesson = lesson
        self.done = False
        """Reported already."""

    @property
    def listening(self) -> bool:
        """Its end is still awaited by someone: telemetry, or a lesson."""
        return not self.done and (self._telemetry or self._lesson is not None)

    def failed(self, failure: AttemptFailure, reader: AttemptReader | None = None) -> None:
        """The attempt failed with ``failure``."""
        attempt = self._attempt("error")
        attempt.error_kind = failure.kind.value
        attempt.status_code = failure.status_code
        attempt.error = failure.message
        self._report(attempt, reader, failure)

    def answered(self, status: int) -> None:
        """The upstream answered with an error status (LiteLLM raises it)."""
        attempt = self._attempt("error")
        attempt.error_kind = classify(status, None).value
        attempt.status_code = status
        self._report(attempt, None, None)

    def finished(self, reader: AttemptReader | None, *, cancelled: bool = False) -> None:
        """The body was read to its end (``cancelled``: closed before it)."""
        self._report(self._attempt("cancelled" if cancelled else "ok"), reader, None)

    def _attempt(self, outcome: str) -> Attempt:
        progress = self._progress
        first = progress.first_token_ms
        return Attempt(
            self._link, self._model, outcome,  # type: ignore[arg-type]
            elapsed_ms=round(progress.elapsed_ms, 1),
            first_token_ms=round(first, 1) if first is not None else None,
        )  # fmt: skip

    def _report(
        self, attempt: Attempt, reader: AttemptReader | None, failure: AttemptFailure | None
    ) -> None:
        if self.done:
            return
        self.done = True
        if self._lesson is not None:
            if attempt.outcome == "ok":
                self._lesson.served()
            else:
                self._lesson.failed()
        if not self._telemetry:
            return
        if reader is not None:
            attempt.served_model = reader.meta.get("model")
            attempt.provider = reader.meta.get("provider")
            attempt.cost = reader.cost
        telemetry.record_attempt(
            attempt, server=self._server, reader=reader, failure=failure,
            streaming=self._streaming,
        )  # fmt: skip


def _model_of(request: httpx.Request) -> str | None:
    try:
        body = json.loads(request.content)
    except ValueError:
        return None
    model = body.get("model") if isinstance(body, dict) else None
    return model if isinstance(model, str) else None
