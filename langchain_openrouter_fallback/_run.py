"""The decisions of one chain run, free of I/O: which step next, retry or move on, when to stop.

:class:`ChainRun` is driven by the sync and async executors alike: they ask :meth:`ChainRun.next`
for an action (:class:`Try` a step or :class:`Wait`), perform it, and report the outcome.
With hedging, a driver also asks :meth:`ChainRun.hedge_delay` how long to wait for the running
attempt before :meth:`ChainRun.hedge` starts the next step beside it, and reports the losers
through :meth:`ChainRun.cancelled`. Only the driver's own thread or task calls into a run.
A stream driver that recovers a broken stream calls :meth:`ChainRun.recover`: later tries
are marked with how they recover, and for ``continued`` only links that accept an assistant
prefill run (the others are skipped) and their failures never end the run early.
"""

from __future__ import annotations

import math
import random
import re
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from langchain_openrouter_fallback._attempt_limits import (
    DEFAULT_ATTEMPT_TIMEOUT,
    DEFAULT_FIRST_TOKEN_TIMEOUT,
    DEFAULT_STALL_TIMEOUT,
    attempt_limits,
)
from langchain_openrouter_fallback._attempts import Attempt, describe_attempts, reported_cost
from langchain_openrouter_fallback._budget import Budget
from langchain_openrouter_fallback._chain import TRANSIENT_STATUSES
from langchain_openrouter_fallback._errors import (
    ErrorKind,
    FallbacksExhaustedError,
    UnrecoverableError,
)
from langchain_openrouter_fallback._health import circuit_key
from langchain_openrouter_fallback._log import logger
from langchain_openrouter_fallback._prefill import accepts_prefill
from langchain_openrouter_fallback._transport import Progress
from langchain_openrouter_fallback._wire_attempt import AttemptReader

if TYPE_CHECKING:
    from collections.abc import Sequence

    from langchain_openrouter_fallback._attempts import Recovery
    from langchain_openrouter_fallback._catalog import Catalog
    from langchain_openrouter_fallback._chain import FallbackChain, RetryPolicy
    from langchain_openrouter_fallback._health import HealthRegistry, Key
    from langchain_openrouter_fallback._plan import Step
    from langchain_openrouter_fallback._transport import AttemptFailure
    from langchain_openrouter_fallback.telemetry import RunObserver

__all__ = [
    "DEFAULT_ATTEMPT_TIMEOUT",
    "DEFAULT_FIRST_TOKEN_TIMEOUT",
    "DEFAULT_STALL_TIMEOUT",
    "ChainRun",
    "Try",
    "Wait",
]


MIN_ATTEMPT_BUDGET = 0.05
"""An attempt with less time than this left in the chain deadline is skipped."""
_CONTEXT_LIMIT = re.compile(r"maximum context length is (\d+)")


@dataclass(slots=True)
class Try:
    """Send this step now, with this clock; its response is read through ``reader``.

    A driver moves bytes and hands them to ``reader``; the run builds the attempt's record
    from the try alone (:meth:`ChainRun.succeeded`, :meth:`ChainRun.failed`), so no path can
    leave out its cost, its served model or who it belongs to.
    """

    step: Step
    progress: Progress
    retry: int
    recovered: Recovery | None = None
    """Streams: this try takes over a stream an earlier try broke (see :meth:`ChainRun.recover`)."""
    contributed: int = 0
    """Streams: characters of text this try added to the consumer's answer (set when shown)."""
    reserved: float = 0.0
    """``max_cost``: this try's worst case, held back from what is left while it runs."""
    hedge: bool = False
    """Started beside a running attempt (:meth:`ChainRun.hedge`)."""
    reader: AttemptReader = field(init=False)
    """What the response said: who served, usage and cost, output seen (the wire's reading)."""
    limits: dict[str, float] = field(init=False)
    """The limits this try runs under, in seconds, by their chain field names."""

    def __post_init__(self) -> None:
        self.reader = AttemptReader(self.progress)
        progress = self.progress
        self.limits = {"timeout": round(progress.deadline - progress.started, 3)}
        if progress.first_token is not None:
            self.limits["first_token_timeout"] = progress.first_token
        if progress.stall is not None:
            self.limits["stall_timeout"] = progress.stall


@dataclass(slots=True)
class Wait:
    """Sleep before retrying the same step."""

    seconds: float


class ChainRun:
    """State of one request going through a chain."""

    def __init__(
        self,
        chain: FallbackChain,
        steps: Sequence[Step],
        *,
        registry: HealthRegistry,
        catalog: Catalog,
        endpoint: str,
        default_timeout: float | None = None,
        default_first_token: float | None = None,
        default_stall: float | None = None,
        max_retries: int | None = None,
        streaming: bool = False,
    ) -> None:
        """Prepare a run; nothing is sent until a driver asks for :meth:`next`.

        ``endpoint`` is the base URL requests go to: with the model ids, it names the
        circuits this run consults (:func:`~langchain_openrouter_fallback._health.circuit_key`).
        ``default_*`` are the limits for links that set none of their own (a link's value
        wins; without either, the ``DEFAULT_*`` constants apply).
        """
        self.chain = chain
        self.endpoint = endpoint
        self.steps = steps
        self.attempts: list[Attempt] = []
        self._registry = registry
        self._catalog = catalog
        self._default_timeout = default_timeout or DEFAULT_ATTEMPT_TIMEOUT
        self._default_first_token = default_first_token or DEFAULT_FIRST_TOKEN_TIMEOUT
        self._default_stall = default_stall or DEFAULT_STALL_TIMEOUT
        self._max_retries = max_retries
        self._streaming = streaming
        self._unreported: list[Attempt] = []
        self._deadline = time.monotonic() + (chain.deadline or math.inf)
        self._index = 0
        """The next step never started."""
        self._wait: float | None = None
        self._retry_of: tuple[Step, int] | None = None
        """A step to try again after ``_wait``, with its retry number."""
        self._running = 0
        self._last_start = 0.0
        self._context_floor = 0
        self._free_only = False
        self._recovering: Recovery | None = None
        self.budget = Budget(chain.max_cost, catalog)
        self._keys: dict[int, Key] = {}
        self.observer: RunObserver | None = None
        """Told of every attempt as it is recorded (telemetry); set by the run's owner."""

    # -- driving -------------------------------------------------------------------------

    def next(self) -> Try | Wait | None:
        """The next action, or ``None`` when every step is spent."""
        if self._wait is not None:
            wait, self._wait = self._wait, None
            return Wait(wait)
        if self._retry_of is not None:
            (step, retry), self._retry_of = self._retry_of, None
            over, reserved = self.budget.admit(step)
            if over is None:
                return self._start(step, retry, reserved)
            self._record(Attempt(step.label, step.model, "skipped", error=over, retry=retry))
        return self._take()

    def hedge_delay(self) -> float | None:
        """Seconds until a hedge should start beside the running attempt(s); ``None``: never.

        No hedge without a ``hedge`` policy, while ``max_parallel`` attempts run, or once
        every step has been started.
        """
        hedge = self.chain.hedge
        if hedge is None or not 0 < self._running < hedge.max_parallel:
            return None
        if self._index >= len(self.steps):
            return None
        return max(0.0, self._last_start + hedge.after - time.monotonic())

    def hedge(self) -> Try | None:
        """Start the next runnable step beside the running one(s) (skips are recorded)."""
        if self.hedge_delay() is None:
            return None
        action = self._take()
        if action is not None:
            action.hedge = True
            logger.info("chain %s: hedging with %s", self.chain.name, action.step.label)
        return action

    def cancelled(self, action: Try, reason: str) -> None:
        """Record an attempt stopped by the driver (it lost a hedge, or the caller left)."""
        attempt = Attempt(
            action.step.label, action.step.model, "cancelled", error=reason, retry=action.retry,
            cost=action.reader.cost,
        )  # fmt: skip
        self._fill(attempt, action)
        self._record(attempt, action)
        self._running -= 1

    def recover(self, how: Recovery) -> None:
        """From now on every try takes over a broken stream, ``buffered`` or ``continued``.

        ``continued`` tries send an assistant prefill: links that cannot take one are
        skipped, and a continuation's failure (a rejected prefill, say) moves on instead of
        ending the run, so the driver can still raise the original stream failure.
        """
        self._recovering = how

    @property
    def running(self) -> int:
        """Attempts started and not yet reported."""
        return self._running

    def succeeded(self, action: Try) -> Attempt:
        """Record the serving attempt, from what its reader saw; returns the record."""
        self._running -= 1
        step = action.step
        reader = action.reader
        served = reader.meta.get("model")
        attempt = Attempt(
            self.served_label(step, served), step.model, served_model=served,
            provider=reader.meta.get("provider"), cost=reader.cost, retry=action.retry,
            notes=reader.notes,
        )  # fmt: skip
        self._registry.record_success(self._key(step), step.link.breaker or self.chain.breaker)
        self._fill(attempt, action)
        self._record(attempt, action)
        logger.info(
            "chain %s served by %s (%s via %s) after %d attempt(s)",
            self.chain.name, attempt.label, attempt.served_model or attempt.model,
            attempt.provider or "?", len(self.attempts),
        )  # fmt: skip
        return attempt

    def failed(self, action: Try, failure: AttemptFailure, *, interrupted: bool = False) -> None:
        """Record a failed attempt and decide: retry, move on, or raise at once.

        Its cost is what the upstream reported for it (a 200 body that failed to parse, a
        stream's usage chunk, read by ``action.reader``); else any ``usage.cost`` in the
        error body.
        """
        step = action.step
        self._running -= 1
        kind = ErrorKind.INTERRUPTED if interrupted else failure.kind
        cost = action.reader.cost
        attempt = Attempt(
            step.label, step.model, "error", error_kind=kind.value,
            status_code=failure.status_code, error=failure.message, retry=action.retry,
            cost=cost if cost is not None else reported_cost(failure.body),
        )  # fmt: skip
        self._fill(attempt, action)
        self._record(attempt, action, failure)
        logger.warning("chain %s attempt failed: %s", self.chain.name, attempt.describe())
        policy = step.link.breaker or self.chain.breaker
        self._registry.record_failure(self._key(step), policy, kind, failure.retry_after)
        if interrupted or action.recovered == "continued":
            return
        self._raise_if_final(failure)
        if kind == ErrorKind.CONTEXT_LENGTH:
            self._context_floor = max(self._context_floor, self._limit_from(failure, step))
        else:
            self._should_retry(step, failure, action.retry)

    def exhausted(self) -> FallbacksExhaustedError:
        """The error to raise when :meth:`next` returned ``None``."""
        msg = (
            f"chain {self.chain.name!r}: no link served the request "
            f"({len(self.attempts)} attempts)\n{describe_attempts(self.attempts)}"
        )
        return FallbacksExhaustedError(msg, attempts=self.attempts, chain=self.chain.name)

    def served_label(self, step: Step, served_model: str | None) -> str:
        """Which link of a step served (server mode returns one of up to three models)."""
        if len(step.links) == 1 or not served_model:
            return step.links[0].label
        for link in step.links:
            info = self._catalog.get(link.model)
            names = {link.model, info.canonical_slug if info else None}
            if served_model in names or served_model.startswith(link.model):
                return link.label
        return step.links[0].label

    # -- decisions ----------------------------------------------------------------------

    def _skip_reason(self, step: Step) -> str | None:
        if step.skip:
            return step.skip
        unfit = self._unfit(step)
        if unfit:
            return unfit
        small = step.context_length is not None and step.context_length <= self._context_floor
        if self._context_floor and small:
            return f"context {step.context_length} too small (needs > {self._context_floor})"
        if not self._registry.allow(self._key(step), step.link.breaker or self.chain.breaker):
            return "circuit open"
        if self._deadline - time.monotonic() < MIN_ATTEMPT_BUDGET:
            return "chain deadline exhausted"
        return None

    def _unfit(self, step: Step) -> str | None:
        """Why this run can no longer use ``step`` (free links only, or a prefill needed)."""
        if self._free_only and not step.model.endswith(":free"):
            return "payment required: only :free links can serve"
        if self._recovering == "continued" and not all(map(accepts_prefill, step.links)):
            return "cannot continue an assistant prefill"
        return None

    def _progress(self, step: Step) -> Progress:
        # The same rule the generated LiteLLM configs carry (one function decides it).
        limits = attempt_limits(
            step.links,
            timeout=self._default_timeout,
            first_token=self._default_first_token,
            stall=self._default_stall,
        )
        now = time.monotonic()
        deadline = min(now + limits.timeout, self._deadline)
        # First-token and stall limits only mean something when tokens arrive one by one;
        # a non-stream answer arrives whole (OpenRouter pads it with whitespace meanwhile).
        if not self._streaming:
            return Progress(deadline=deadline, started=now)
        return Progress(
            deadline=deadline,
            first_token=limits.first_token,
            stall=limits.stall,
            started=now,
        )

    def _raise_if_final(self, failure: AttemptFailure) -> None:
        kind = failure.kind
        if kind == ErrorKind.PAYMENT and any(
            s.model.endswith(":free") for s in self.steps[self._index :]
        ):
            self._free_only = True
            return
        narrowed = self.chain.fallback_on is not None and kind not in self.chain.fallback_on
        if kind.moves_on and not narrowed:
            return
        why = "not in fallback_on" if kind.moves_on else "no other link can fix it"
        msg = (
            f"chain {self.chain.name!r}: {kind.value} error ({why}): {failure.message}\n"
            f"{describe_attempts(self.attempts)}"
        )
        raise UnrecoverableError(
            msg, attempts=self.attempts, kind=kind,
            status_code=failure.status_code, chain=self.chain.name,
        )  # fmt: skip

    def _should_retry(self, step: Step, failure: AttemptFailure, retry: int) -> bool:
        policy: RetryPolicy = step.link.retry or self.chain.retry
        limit = policy.max_retries if self._max_retries is None else self._max_retries
        if retry >= limit or not _retryable(policy, failure):
            return False
        wait = failure.retry_after
        if wait is None:
            wait = policy.backoff * 2**retry
        wait *= 1 + policy.jitter * random.random()  # noqa: S311 - jitter, not crypto
        remaining = self._deadline - time.monotonic()
        if wait > policy.max_wait or wait + MIN_ATTEMPT_BUDGET > remaining:
            return False
        self._wait = wait
        self._retry_of = (step, retry + 1)
        return True

    def _limit_from(self, failure: AttemptFailure, step: Step) -> int:
        match = _CONTEXT_LIMIT.search(failure.message)
        reported = int(match.group(1)) if match else 0
        return max(reported, step.context_length or 0)

    # -- bookkeeping --------------------------------------------------------------------

    def _take(self) -> Try | None:
        """Start the next step that is not skipped; skips are recorded on the way."""
        while self._index < len(self.steps):
            step = self.steps[self._index]
            self._index += 1
            reason = self._skip_reason(step)
            reserved = 0.0
            if reason is None:
                reason, reserved = self.budget.admit(step)
            if reason is None:
                return self._start(step, 0, reserved)
            self._record(Attempt(step.label, step.model, "skipped", error=reason))
        return None

    def _start(self, step: Step, retry: int, reserved: float = 0.0) -> Try:
        if step.adapted and retry == 0:
            logger.info(
                "chain %s: request adapted for %s: %s", self.chain.name, step.label,
                ", ".join(f"{k} {r!r} -> {s!r}" for k, (s, r) in step.adapted.items()),
            )  # fmt: skip
        self._running += 1
        self._last_start = time.monotonic()
        return Try(step, self._progress(step), retry, self._recovering, reserved=reserved)

    def _key(self, step: Step) -> Key:
        # Asked before and after each attempt; steps live as long as the run.
        key = self._keys.get(id(step))
        if key is None:
            key = self._keys[id(step)] = circuit_key(self.endpoint, step.links)
        return key

    def _fill(self, attempt: Attempt, action: Try) -> None:
        attempt.elapsed_ms = round(action.progress.elapsed_ms, 1)
        attempt.recovered = action.recovered
        attempt.contributed_chars = action.contributed
        attempt.adapted = dict(action.step.adapted)
        self.budget.settle(action.reserved, attempt.cost)
        attempt.request_sent = action.progress.request_sent
        attempt.limits = action.limits
        first = action.progress.first_token_ms
        attempt.first_token_ms = round(first, 1) if first is not None else None
        if len(action.step.links) > 1:
            attempt.models = [link.model for link in action.step.links]

    def _record(
        self, attempt: Attempt, action: Try | None = None, failure: AttemptFailure | None = None
    ) -> None:
        self.attempts.append(attempt)
        self._unreported.append(attempt)
        if self.observer is not None:
            self.observer.recorded(attempt, action, failure)

    def take_unreported(self) -> list[Attempt]:
        """Attempts recorded since the last call (for callbacks and events)."""
        taken, self._unreported = self._unreported, []
        return taken


def _retryable(policy: RetryPolicy, failure: AttemptFailure) -> bool:
    """Whether ``policy`` retries this failure on the same link (the count aside)."""
    kind = failure.kind
    if kind in policy.on:
        # A link that hung silently is not worth the same wait again.
        return kind != ErrorKind.TIMEOUT or failure.limit == "first_token"
    if not policy.transient:
        return False
    if kind == ErrorKind.SERVER:
        return failure.status_code in TRANSIENT_STATUSES
    return kind == ErrorKind.NETWORK and failure.reset_before_response
