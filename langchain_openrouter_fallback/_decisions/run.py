"""The decisions of one chain run, free of I/O: a state machine its drivers drive (like h11).

A driver asks :meth:`ChainRun.next` for an action and performs it, and reports what an
attempt did through :meth:`ChainRun.output`, :meth:`ChainRun.finished` and
:meth:`ChainRun.failed`; then it asks again. The actions:

- :class:`Try`: send this step now (beside the running one, when it is a hedge);
- :class:`Wait`: sleep before retrying a step;
- :class:`Listen`: wait for news from the running attempt(s), at most ``timeout`` seconds
  (``None``: as long as it takes), then ask again (a hedge may be due by then);
- :class:`Cancel`: stop these attempts (they lost a hedge; already recorded ``cancelled``);
- :class:`Show`: pass these outputs to the consumer now;
- :class:`Finish`: this try served (with the outputs it held back, to pass on first);
- :class:`Raise`: end the request with this error.

The run owns every decision and every field of every attempt record, so no path can leave
one out: retry or move on; hedging (with ``hedge``, the next step starts beside a running
attempt that has produced nothing after ``hedge.after`` seconds; the first to produce output
wins and the others are cancelled); and ``stream_recovery`` (what reaches the consumer and
when, and what a break after content does: ``raise``, restart ``buffered``, or ``continued``
from the text the consumer saw, on links that accept an assistant prefill). Drivers move
bytes and outputs; what an output *is* stays opaque here (:attr:`Output.item`).
"""

from __future__ import annotations

import math
import random
import re
import time
from collections import deque
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar, Union

from langchain_openrouter_fallback._attempts import Attempt, describe_attempts, reported_cost
from langchain_openrouter_fallback._decisions.accept import (
    PRE_CONTENT_CHECKS,
    custom_rejection,
    reject,
)
from langchain_openrouter_fallback._decisions.budget import Budget
from langchain_openrouter_fallback._decisions.clock import LIMIT_FIELDS, AttemptFailure, Progress
from langchain_openrouter_fallback._decisions.health import circuit_key
from langchain_openrouter_fallback._decisions.learned import (
    LIMIT_METRIC,
    learned_limit,
    limits_now,
    observed,
)
from langchain_openrouter_fallback._decisions.prefill import (
    accepts_prefill,
    continuation_body,
    split_prefill,
)
from langchain_openrouter_fallback._definition.attempt_limits import (
    DEFAULT_ATTEMPT_TIMEOUT,
    DEFAULT_FIRST_TOKEN_TIMEOUT,
    DEFAULT_STALL_TIMEOUT,
    LIMIT_NAMES,
    AutoLimit,
    attempt_limits,
)
from langchain_openrouter_fallback._definition.chain import TRANSIENT_STATUSES
from langchain_openrouter_fallback._definition.payload import stream_body
from langchain_openrouter_fallback._errors import (
    ErrorKind,
    FallbacksExhaustedError,
    StreamInterruptedError,
    UnrecoverableError,
)
from langchain_openrouter_fallback._log import logger

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from langchain_openrouter_fallback._attempts import Recovery
    from langchain_openrouter_fallback._decisions.accept import Answer, CustomCheck
    from langchain_openrouter_fallback._decisions.clock import Limit
    from langchain_openrouter_fallback._decisions.health import HealthRegistry, Key
    from langchain_openrouter_fallback._decisions.learned import Metric
    from langchain_openrouter_fallback._decisions.plan import Step
    from langchain_openrouter_fallback._definition.attempt_limits import AttemptLimits
    from langchain_openrouter_fallback._definition.catalog import Catalog
    from langchain_openrouter_fallback._definition.chain import FallbackChain, RetryPolicy
    from langchain_openrouter_fallback.telemetry import RunObserver

__all__ = [
    "DEFAULT_ATTEMPT_TIMEOUT",
    "DEFAULT_FIRST_TOKEN_TIMEOUT",
    "DEFAULT_STALL_TIMEOUT",
    "Action",
    "Cancel",
    "ChainRun",
    "Finish",
    "Listen",
    "Output",
    "Raise",
    "Reading",
    "Show",
    "Try",
    "Wait",
]


MIN_ATTEMPT_BUDGET = 0.05
"""An attempt with less time than this left in the chain deadline is skipped."""
_CONTEXT_LIMIT = re.compile(r"maximum context length is (\d+)")
DEFAULT_HEDGE_COLD = 1.0
"""``hedge: {after: auto}``: seconds before a hedge until the primary's upstream is learned."""


class Reading(Protocol):
    """What the wire read from one attempt's response, as far as the run records it."""

    @property
    def meta(self) -> dict[str, Any]:
        """``model`` and ``provider`` as the upstream reported them."""

    @property
    def notes(self) -> list[str]:
        """Things worth knowing that did not fail the attempt."""

    @property
    def produced(self) -> bool:
        """Whether the upstream sent any output."""

    @property
    def cost(self) -> float | None:
        """``usage.cost`` as the upstream reported it."""

    @property
    def answer(self) -> Answer:
        """The answer so far (for the ``accept`` checks)."""


R = TypeVar("R", bound=Reading)


@dataclass(frozen=True, slots=True)
class Output:
    """A piece of an answer, as the run needs to know it; ``item`` is what the consumer gets."""

    item: Any
    text: str | None = None
    """The plain text it adds to the answer (``None``: it has no text content)."""
    reasoning: str | None = None
    tools: tuple[str, ...] = ()
    """Names of the tool calls it starts."""
    tool_part: bool = False
    """It carries part of a tool call (so it is shown even when its text is a repeat)."""


@dataclass(eq=False, slots=True)
class Try(Generic[R]):
    """Send ``body`` now, under this clock; read the response through ``reader``.

    Only the run writes a try's fields; the driver reads ``body``, ``progress`` and
    ``reader`` and reports back (:meth:`ChainRun.output`, :meth:`ChainRun.finished`,
    :meth:`ChainRun.failed`), and the run builds the attempt's record from the try alone.
    """

    step: Step
    progress: Progress
    retry: int
    reader: R
    """What the response said: who served, usage and cost, output seen (the wire's reading)."""
    body: dict[str, Any]
    """The request body to send (a stream request, a continuation's prefill, as decided)."""
    recovered: Recovery | None = None
    """Streams: this try takes over a stream an earlier try broke."""
    reserved: float = 0.0
    """``max_cost``: this try's worst case, held back from what is left while it runs."""
    held_ws: str = ""
    """A continuation: whitespace the consumer has seen but the prefill left out."""
    contributed: int = 0
    """Streams: characters of text this try added to the consumer's answer."""
    visible: bool = False
    """Some of its output reached the consumer (a failure now is a visible break)."""
    held: list[Output] = field(default_factory=list)
    """Outputs produced but not passed on yet (whole responses; ``buffer`` streams)."""
    hedge: bool = False
    """Started beside a running attempt (a hedge)."""
    learn: bool = False
    """Its upstream's times teach ``auto`` limits: its success is observed."""
    notes: list[str] = field(default_factory=list)
    """The run's notes on it (added to its record's)."""
    limits: dict[str, float] = field(init=False)
    """The limits this try runs under, in seconds, by their chain field names."""

    def __post_init__(self) -> None:
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


@dataclass(frozen=True, slots=True)
class Listen:
    """Wait for the running attempts' next report, at most ``timeout`` seconds."""

    timeout: float | None


_LISTEN = Listen(None)


@dataclass(slots=True)
class Cancel(Generic[R]):
    """Stop these attempts now (already recorded; later reports of theirs are ignored)."""

    tries: list[Try[R]]


@dataclass(slots=True)
class Show:
    """Pass these outputs to the consumer."""

    outputs: list[Output]


@dataclass(slots=True)
class Finish(Generic[R]):
    """``tried`` served: pass on ``outputs`` (what it held back), then close the answer."""

    tried: Try[R]
    attempt: Attempt
    """Its record, already in the run's attempts."""
    outputs: list[Output]


@dataclass(slots=True)
class Raise:
    """End the request with ``error``."""

    error: Exception


Action = Union[Try[R], Wait, Listen, Cancel[R], Show, Finish[R], Raise]  # noqa: UP007 - generic alias


class ChainRun(Generic[R]):
    """State of one request going through a chain."""

    def __init__(
        self,
        chain: FallbackChain,
        steps: Sequence[Step],
        *,
        registry: HealthRegistry,
        catalog: Catalog,
        endpoint: str,
        reader: Callable[[Progress], R],
        default_timeout: float | AutoLimit | None = None,
        default_first_token: float | AutoLimit | None = None,
        default_stall: float | AutoLimit | None = None,
        max_retries: int | None = None,
        streaming: bool = False,
        custom_checks: Sequence[CustomCheck] = (),
        answer_of: Callable[[list[Any]], Any] | None = None,
        asked: Mapping[str, Any] | None = None,
    ) -> None:
        """Prepare a run; nothing is sent until a driver asks for :meth:`next`.

        ``endpoint`` is the base URL requests go to: with the model ids, it names the
        circuits this run consults
        (:func:`~langchain_openrouter_fallback._decisions.health.circuit_key`).
        ``reader`` makes the reader of each try's response (the wire's, given by the driver).
        ``default_*`` are the limits for links that set none of their own (the link's value
        wins, then the chain's; without any, the ``DEFAULT_*`` constants apply); any may be
        ``auto``, learned from ``registry``'s observations of each upstream. Before an answer is
        committed it must pass the chain's ``accept`` checks, then ``custom_checks``, which
        are given ``answer_of(items)`` (the items of its outputs: the driver's to merge);
        ``asked`` is the request as the caller made it (the ``schema`` check reads it).
        """
        self.chain = chain
        self.endpoint = endpoint
        self.steps = steps
        self.attempts: list[Attempt] = []
        self._registry = registry
        self._catalog = catalog
        self._reader = reader
        self._defaults = (default_timeout, default_first_token, default_stall)
        self._max_retries = max_retries
        self._streaming = streaming
        self._hold = not streaming or chain.stream_recovery == "buffer"
        """Outputs wait for their attempt to finish (whole answers; ``buffer`` streams)."""
        self._unreported: list[Attempt] = []
        self._deadline = time.monotonic() + (chain.deadline or math.inf)
        self._index = 0
        """The next step never started."""
        self._wait: float | None = None
        self._retry_of: tuple[Step, int] | None = None
        """A step to try again after ``_wait``, with its retry number."""
        self._live: list[Try[R]] = []
        """Tries started and not yet ended."""
        self._winner: Try[R] | None = None
        """The try whose output goes to the consumer (the others lost the hedge)."""
        self._pending: deque[Action[R]] = deque()
        self._last_start = 0.0
        self._context_floor = 0
        self._free_only = False
        self._recovering: Recovery | None = None
        self._shown: list[str] = []
        """The text the consumer received, over every attempt (a continuation's prefill)."""
        self._partial: list[str] = []
        """Everything the consumer read, reasoning and text, in the order it arrived."""
        self._tools: list[str] = []
        """Names of the tool calls whose outputs reached the consumer (never continued)."""
        self._broken: tuple[Try[R], AttemptFailure] | None = None
        """The latest attempt that failed after content reached the consumer, and why."""
        self.budget = Budget(chain.max_cost, catalog)
        self._keys: dict[int, Key] = {}
        self.observer: RunObserver | None = None
        """Told of every attempt as it is recorded (telemetry); set by the run's owner."""
        self._custom_checks = custom_checks
        self._answer_of = answer_of
        self._asked = asked
        self._hedge_after, self._hedge_withheld = self._hedging(chain), False
        self._ticket = (
            registry.hedges.request(chain.name) if chain.hedge and chain.hedge.budget else None
        )
        """This request's place in the chain's hedge budget (``hedge.budget``)."""

    # -- driving -------------------------------------------------------------------------

    def next(self) -> Action[R]:
        """The next action for the driver."""
        if self._pending:
            return self._pending.popleft()
        if self._live:
            return self._listen_or_hedge()
        if self._wait is not None:
            wait, self._wait = self._wait, None
            return Wait(wait)
        if self._retry_of is not None:
            (step, retry), self._retry_of = self._retry_of, None
            over, reserved = self.budget.admit(step)
            if over is None:
                return self._start(step, retry, reserved)
            self._record(Attempt(step.label, step.model, "skipped", error=over, retry=retry))
        action = self._take()
        return action if action is not None else Raise(self._exhausted())

    def output(self, action: Try[R], output: Output) -> None:
        """``action`` produced ``output`` (the first output of a hedged request wins)."""
        if action not in self._live:
            return  # a cancelled attempt's late output
        if self._winner is None:
            self._win(action)
        if self._hold:
            action.held.append(output)
            return
        if not action.visible:
            partial = action.reader.answer.finish_reason is None
            if (rejected := self._rejection(action, partial=partial)) is not None:
                self.failed(action, rejected)
                self._pending.append(Cancel([action]))  # nothing of it reached the consumer
                return
        if (shown := self._show(action, output)) is not None:
            self._pending.append(Show([shown]))

    def finished(self, action: Try[R]) -> None:
        """``action``'s response is complete: it serves."""
        if action not in self._live:
            return
        if self._winner is None:
            self._win(action)
        if not action.visible and (rejected := self._rejection(action, partial=False)):
            self.failed(action, rejected)
            return
        self._live.remove(action)
        self._winner = None
        held, action.held = action.held, []
        if self._streaming:
            held = [shown for output in held if (shown := self._show(action, output))]
        self._pending.append(Finish(action, self._succeeded(action), held))

    def failed(self, action: Try[R], failure: AttemptFailure) -> None:
        """``action`` failed: record it, and decide what comes next (see :meth:`next`)."""
        if action not in self._live:
            return
        self._live.remove(action)
        if self._winner is action:
            self._winner = None
        if not action.visible:
            self._failed(action, failure)
            if self._streaming and self._hold and action.reader.produced:
                self._recovering = "buffered"
            return
        self._failed(action, failure, interrupted=True)
        self._broken = (action, failure)
        if self.chain.stream_recovery != "continue" or self._tools:
            self._pending.append(Raise(self._interrupted()))
        else:
            self._recovering = "continued"

    def close(self) -> list[Try[R]]:
        """The request ended (served, raised, or the consumer left): returns what to stop.

        Attempts still running are recorded ``cancelled``.
        """
        left, self._live = self._live, []
        for action in left:
            self._cancel(action, "request ended")
        return left

    def take_unreported(self) -> list[Attempt]:
        """Attempts recorded since the last call (for callbacks and events)."""
        taken = self._unreported
        if taken:
            self._unreported = []
        return taken

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

    # -- answer checks (``accept``) -----------------------------------------------------

    def _rejection(self, action: Try[R], *, partial: bool) -> AttemptFailure | None:
        """The ``rejected`` failure when ``action``'s answer fails a check, before it commits.

        ``partial``: content is about to reach the consumer before the answer is whole (a
        ``raise``/``continue`` stream): only what shows before content is checked (a
        refusal), and the attempt notes which checks could not run.
        """
        checks, custom = self.chain.accept, self._custom_checks
        if not checks and not custom:
            return None
        skipped: list[str] = []
        if partial:
            skipped = [check for check in checks if check not in PRE_CONTENT_CHECKS]
            checks = tuple(check for check in checks if check == "no_refusal")
        items = [output.item for output in action.held]
        if custom and (partial or not items or self._answer_of is None):
            skipped.append("custom")
            custom = ()
        if skipped:
            note = f"accept: {', '.join(skipped)} not run (content streamed as it arrived)"
            action.reader.notes.append(note)
        rejection = reject(checks, action.reader.answer, action.body, self._asked)
        if rejection is None and custom and self._answer_of is not None:
            rejection = custom_rejection(custom, self._answer_of(items))
        if rejection is None:
            return None
        msg = f"rejected by {rejection}"
        return AttemptFailure(ErrorKind.REJECTED, msg, check=rejection.check)

    # -- hedging and what the consumer sees ---------------------------------------------

    def _listen_or_hedge(self) -> Listen | Try[R]:
        """While attempts run: wait for their news, or start a hedge that is due."""
        delay = self._hedge_delay()
        if delay is None:
            return _LISTEN  # every chunk of a stream asks: no new value each time
        if delay > 0:
            return Listen(delay)
        if self._ticket is not None and not self._hedge_allowed():
            return _LISTEN
        hedge = self._take()
        if hedge is None:
            return _LISTEN
        hedge.hedge = True
        logger.info("chain %s: hedging with %s", self.chain.name, hedge.step.label)
        return hedge

    def _hedge_delay(self) -> float | None:
        """Seconds until a hedge starts beside the running attempt(s); ``None``: never.

        No hedge without a ``hedge`` policy, once an attempt won, while ``max_parallel``
        attempts run, or once every step has been started.
        """
        hedge = self.chain.hedge
        if hedge is None or self._winner is not None or self._hedge_withheld:
            return None
        if len(self._live) >= hedge.max_parallel or self._index >= len(self.steps):
            return None
        return max(0.0, self._last_start + self._hedge_after - time.monotonic())

    @staticmethod
    def _hedging(chain: FallbackChain) -> float:
        """Seconds after a start that a hedge is due (learned ones are set as tries start)."""
        hedge = chain.hedge
        if hedge is None:
            return 0.0
        return hedge.after if isinstance(hedge.after, float) else DEFAULT_HEDGE_COLD

    def _hedge_allowed(self) -> bool:
        """Whether the chain's hedge budget allows this request a hedge (else note why not)."""
        hedge, ticket = self.chain.hedge, self._ticket
        if hedge is None or hedge.budget is None or ticket is None:
            return True
        if self._registry.hedges.take(self.chain.name, ticket, hedge.budget):
            return True
        self._hedge_withheld = True
        for action in self._live:
            action.notes.append("hedge withheld: budget")
        logger.info("chain %s: hedge withheld (hedge budget spent)", self.chain.name)
        return False

    def _win(self, winner: Try[R]) -> None:
        """``winner`` produced first: every other running attempt is cancelled."""
        self._winner = winner
        losers = [action for action in self._live if action is not winner]
        if losers:
            self._live = [winner]
            for action in losers:
                self._cancel(action, f"lost the hedge to {winner.step.label}")
            self._pending.append(Cancel(losers))

    def _show(self, action: Try[R], output: Output) -> Output | None:
        """``output`` as the consumer gets it (``None``: nothing left to show), recorded."""
        text = output.text
        if text and action.held_ws:
            # The continuation may repeat whitespace the trimmed prefill left out.
            seen = _common_prefix(text, action.held_ws)
            text = text[seen:]
            action.held_ws = action.held_ws[seen:] if not text else ""
            if not text and not output.tool_part:
                return None
            output = replace(output, text=text)
        if output.reasoning is not None:
            self._partial.append(output.reasoning)
        if text is not None:
            self._shown.append(text)
            self._partial.append(text)
            action.contributed += len(text)
        self._tools.extend(output.tools)
        action.visible = True
        return output

    def _interrupted(self, note: str = "") -> StreamInterruptedError:
        assert self._broken is not None  # noqa: S101 - only called after a visible break
        action, failure = self._broken
        partial = "".join(self._partial)
        where = f"after {len(partial)} characters" if partial or not self._tools else ""
        if self._tools:
            calls = ", ".join(dict.fromkeys(self._tools))
            where = f"{where} during tool call {calls}".strip()
        msg = (
            f"chain {self.chain.name!r}: stream from {action.step.label} broke {where} "
            f"({failure.kind.value}: {failure.message}){note}\n"
            f"{describe_attempts(self.attempts)}"
        )
        return StreamInterruptedError(
            msg,
            attempts=self.attempts,
            partial_text=partial,
            chain=self.chain.name,
            kind=failure.kind,
            status_code=failure.status_code,
        )

    def _exhausted(self) -> Exception:
        """No step is left: the latest stream break if the consumer saw one, else exhaustion."""
        if self._broken is not None:
            return self._interrupted("; no later link could continue it")
        msg = (
            f"chain {self.chain.name!r}: no link served the request "
            f"({len(self.attempts)} attempts)\n{describe_attempts(self.attempts)}"
        )
        return FallbacksExhaustedError(msg, attempts=self.attempts, chain=self.chain.name)

    # -- recording ----------------------------------------------------------------------

    def _succeeded(self, action: Try[R]) -> Attempt:
        step = action.step
        reader = action.reader
        served = reader.meta.get("model")
        attempt = Attempt(
            self.served_label(step, served), step.model, served_model=served,
            provider=reader.meta.get("provider"), cost=reader.cost, retry=action.retry,
            notes=reader.notes,
        )  # fmt: skip
        self._registry.record_success(self._key(step), step.link.breaker or self.chain.breaker)
        if action.learn:
            self._registry.observe(
                self._key(step), observed(action.progress, streaming=self._streaming)
            )
        self._fill(attempt, action)
        self._record(attempt, action)
        logger.info(
            "chain %s served by %s (%s via %s) after %d attempt(s)",
            self.chain.name, attempt.label, attempt.served_model or attempt.model,
            attempt.provider or "?", len(self.attempts),
        )  # fmt: skip
        return attempt

    def _failed(
        self, action: Try[R], failure: AttemptFailure, *, interrupted: bool = False
    ) -> None:
        """Record a failed attempt and decide: retry, move on, or raise.

        Its cost is what the upstream reported for it (a 200 body that failed to parse, a
        stream's usage chunk, read by ``action.reader``); else any ``usage.cost`` in the
        error body.
        """
        step = action.step
        kind = ErrorKind.INTERRUPTED if interrupted else failure.kind
        cost = action.reader.cost
        attempt = Attempt(
            step.label, step.model, "error", error_kind=kind.value,
            status_code=failure.status_code, error=failure.message, retry=action.retry,
            cost=cost if cost is not None else reported_cost(failure.body),
            rejected_by=failure.check,
        )  # fmt: skip
        self._fill(attempt, action)
        self._record(attempt, action, failure)
        logger.warning("chain %s attempt failed: %s", self.chain.name, attempt.describe())
        policy = step.link.breaker or self.chain.breaker
        self._registry.record_failure(self._key(step), policy, kind, failure.retry_after)
        if interrupted or action.recovered == "continued":
            return
        final = self._final_error(failure)
        if final is not None:
            self._pending.append(Raise(final))
        elif kind == ErrorKind.CONTEXT_LENGTH:
            self._context_floor = max(self._context_floor, self._limit_from(failure, step))
        else:
            self._should_retry(step, failure, action.retry)

    def _cancel(self, action: Try[R], reason: str) -> None:
        """Record an attempt stopped before it ended (it lost a hedge, or the request ended)."""
        attempt = Attempt(
            action.step.label, action.step.model, "cancelled", error=reason, retry=action.retry,
            cost=action.reader.cost,
        )  # fmt: skip
        self._fill(attempt, action)
        self._record(attempt, action)

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

    def _progress(self, step: Step) -> tuple[Progress, bool]:
        """The clock of a try of ``step``, and whether its success teaches ``auto`` limits."""
        # The same rule the generated LiteLLM configs carry (one function decides it).
        timeout, first_token, stall = self._defaults
        limits = attempt_limits(
            step.links, chain=self.chain, timeout=timeout, first_token=first_token, stall=stall
        )
        now = time.monotonic()
        hedge = self.chain.hedge
        learn = bool(limits.auto) or (hedge is not None and isinstance(hedge.after, AutoLimit))
        values, learned = (limits.timeout, limits.first_token, limits.stall), None
        if learn:
            values, learned = self._learned(step, limits)
        deadline = min(now + values[0], self._deadline)
        # First-token and stall limits only mean something when tokens arrive one by one;
        # a non-stream answer arrives whole (OpenRouter pads it with whitespace meanwhile).
        if not self._streaming:
            return Progress(deadline=deadline, started=now, learned=learned), learn
        progress = Progress(
            deadline=deadline, first_token=values[1], stall=values[2], started=now,
            learned=learned,
        )  # fmt: skip
        return progress, learn

    def _learned(
        self, step: Step, limits: AttemptLimits
    ) -> tuple[tuple[float, float, float], dict[Limit, str] | None]:
        """``limits`` with their ``auto`` ones as learned now, and which those are.

        Sets when a hedge of ``hedge: {after: auto}`` is due, from the same upstream.
        """
        latency = self._registry.latency(self._key(step))
        names = LIMIT_NAMES if self._streaming else ("timeout",)
        values = {name: getattr(limits, name) for name in LIMIT_NAMES}
        learned: dict[Limit, str] = {}
        for name, (seconds, source, _) in limits_now(limits, latency, names=names).items():
            values[name] = seconds
            if name in limits.auto:
                learned[LIMIT_METRIC[name]] = source
        hedge = self.chain.hedge
        if hedge is not None and isinstance(hedge.after, AutoLimit):
            spec = hedge.after.settled(DEFAULT_HEDGE_COLD, hedge=True)
            metric: Metric = "first_token" if self._streaming else "total"
            self._hedge_after = learned_limit(spec, latency.get(metric))[0]
        return (values["timeout"], values["first_token"], values["stall"]), learned or None

    def _final_error(self, failure: AttemptFailure) -> UnrecoverableError | None:
        """The error that ends the run at once after ``failure``, if no other link may fix it."""
        kind = failure.kind
        if kind == ErrorKind.PAYMENT and any(
            s.model.endswith(":free") for s in self.steps[self._index :]
        ):
            self._free_only = True
            return None
        narrowed = (
            self.chain.fallback_on is not None
            and kind not in self.chain.fallback_on
            and kind != ErrorKind.REJECTED  # asking for a check is asking to move on
        )
        if kind.moves_on and not narrowed:
            return None
        why = "not in fallback_on" if kind.moves_on else "no other link can fix it"
        msg = (
            f"chain {self.chain.name!r}: {kind.value} error ({why}): {failure.message}\n"
            f"{describe_attempts(self.attempts)}"
        )
        return UnrecoverableError(
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

    def _take(self) -> Try[R] | None:
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

    def _start(self, step: Step, retry: int, reserved: float = 0.0) -> Try[R]:
        if step.adapted and retry == 0:
            logger.info(
                "chain %s: request adapted for %s: %s", self.chain.name, step.label,
                ", ".join(f"{k} {r!r} -> {s!r}" for k, (s, r) in step.adapted.items()),
            )  # fmt: skip
        body, held_ws = step.body, ""
        if self._recovering == "continued":
            prefill, held_ws = split_prefill("".join(self._shown))
            body = continuation_body(body, prefill)
        if self._streaming:
            body = stream_body(body)
        self._last_start = time.monotonic()
        progress, learn = self._progress(step)
        action = Try(
            step, progress, retry, self._reader(progress), body, self._recovering,
            reserved=reserved, held_ws=held_ws, learn=learn,
        )  # fmt: skip
        self._live.append(action)
        return action

    def _key(self, step: Step) -> Key:
        # Asked before and after each attempt; steps live as long as the run.
        key = self._keys.get(id(step))
        if key is None:
            key = self._keys[id(step)] = circuit_key(self.endpoint, step.links)
        return key

    def _fill(self, attempt: Attempt, action: Try[R]) -> None:
        attempt.elapsed_ms = round(action.progress.elapsed_ms, 1)
        attempt.recovered = action.recovered
        attempt.contributed_chars = action.contributed
        attempt.adapted = dict(action.step.adapted)
        self.budget.settle(action.reserved, attempt.cost)
        attempt.request_sent = action.progress.request_sent
        attempt.limits = action.limits
        if action.progress.learned:
            attempt.auto_limits = {LIMIT_FIELDS[k]: v for k, v in action.progress.learned.items()}
        if action.notes:
            attempt.notes = [*attempt.notes, *action.notes]
        first = action.progress.first_token_ms
        attempt.first_token_ms = round(first, 1) if first is not None else None
        if len(action.step.links) > 1:
            attempt.models = [link.model for link in action.step.links]

    def _record(
        self, attempt: Attempt, action: Try[R] | None = None, failure: AttemptFailure | None = None
    ) -> None:
        self.attempts.append(attempt)
        self._unreported.append(attempt)
        if self.observer is not None:
            self.observer.recorded(attempt, action, failure)


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


def _common_prefix(text: str, other: str) -> int:
    """Length of the longest common prefix of two strings."""
    for index, (a, b) in enumerate(zip(text, other, strict=False)):
        if a != b:
            return index
    return min(len(text), len(other))
