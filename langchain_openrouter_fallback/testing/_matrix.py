"""The fault matrix: for every link but the last, each fault family, each way of calling.

A :class:`FaultCase` fails one link of one chain one way (the links before it answer 503, so
the request reaches it) and knows what the chain promises: an answer from a later link. A
break after output reached the caller (a cut after content, reasoning then a cut) may
instead end in a loud interruption when the chain's ``stream_recovery`` is not ``buffer``;
never in a silently truncated answer. :meth:`FaultCase.drill` runs the case against the
emulator (in process) or through a LiteLLM proxy and raises ``AssertionError`` naming the
fault, the link and the attempt table when the promise is broken.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

from langchain_openrouter_fallback.testing import _faults

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

    from langchain_openrouter_fallback._cli.drill import DrillReport
    from langchain_openrouter_fallback._definition.attempt_limits import AutoLimit
    from langchain_openrouter_fallback._definition.chain import FallbackChain
    from langchain_openrouter_fallback.emulator import Emulator, LogEntry
    from langchain_openrouter_fallback.testing._proxy import LiteLLMProxy

__all__ = [
    "FAMILIES",
    "ChainsInput",
    "FaultCase",
    "Method",
    "Observed",
    "capped",
    "fault_matrix",
    "load_chains",
    "observe",
]

ChainsInput: TypeAlias = "str | Path | FallbackChain | Sequence[str | Path | FallbackChain]"
"""A chain file (every chain in it), a chain, or a list of either."""

Method = Literal["invoke", "stream"]
METHODS: tuple[Method, ...] = ("invoke", "stream")
STATUSES = (429, 500, 503)
"""Statuses drilled by default: a retried rate limit, a quickly retried 500, a plain 503."""
_OK = 200


@dataclass(frozen=True, slots=True)
class _Family:
    """A fault family: how to script it and the calls it can hit."""

    script: Callable[[str], dict[str, Any]]
    methods: tuple[Method, ...]
    after_output: bool = False
    """The break comes after output reached the caller (streams)."""


FAMILIES: dict[str, _Family] = {
    "hang": _Family(_faults.hang, METHODS),
    "keepalives-only": _Family(_faults.keepalives_only, METHODS),
    "reset": _Family(_faults.reset, METHODS),
    "cut-before-content": _Family(_faults.cut_before_content, ("stream",)),
    "cut-after-content": _Family(_faults.cut_after_content, ("stream",), after_output=True),
    "inband-error": _Family(_faults.inband_error, METHODS),
    # In a stream, `choices: null` on one event is skipped and noted, and the answer goes on:
    # only a whole body is a failure to fall back from.
    "malformed": _Family(_faults.malformed, ("invoke",)),
    "reasoning-then-break": _Family(_faults.reasoning_then_break, ("stream",), after_output=True),
}
"""Every family but ``status-<code>`` (one per drilled status), by name."""


@dataclass(frozen=True, slots=True)
class Observed:
    """What one drilled request did, as the caller and the emulator saw it."""

    report: DrillReport
    """The drill report of this one request (its table is the failure message's)."""
    tried: frozenset[str]
    """Model ids the request reached (the emulator's log, the caller's attempt records)."""
    served_label: str | None
    """The label of the link that answered, as the caller was told."""
    served_model: str | None
    """The model whose answer came through unharmed, per the emulator's log."""
    interrupted: bool
    """The caller was told the answer broke (an exception or an error event)."""
    detail: str = ""
    """Anything else worth printing (the attempt list, the proxy's reply)."""


def observe(
    report: DrillReport, log: Sequence[LogEntry], *, interrupted: bool, detail: str = ""
) -> Observed:
    """:class:`Observed` from a one-request report and the emulator's log of that request.

    A link counts as tried when the emulator logged it or the caller's attempt record says
    the request went out (a loaded machine may give up on a hang before the emulator has
    read the request).
    """
    attempts = [attempt for entry in log for attempt in entry.attempts]
    unharmed = [a["model"] for a in attempts if a.get("status") == _OK and not a.get("fault")]
    result = report.results[0]
    sent = {
        a["model"]
        for a in result.attempts
        if "+" not in a["label"] and (a.get("request_sent") or a["outcome"] == "ok")
    }
    return Observed(
        report=report,
        tried=frozenset(a["model"] for a in attempts) | sent,
        served_label=result.served_by,
        served_model=unharmed[-1] if unharmed else None,
        interrupted=interrupted,
        detail=detail,
    )


@dataclass(frozen=True, slots=True)
class FaultCase:
    """One cell of the matrix: chain, failing link, fault family, call style.

    ``str(case)`` is its test id, e.g. ``default-primary-hang-stream``.
    """

    chain: FallbackChain
    link: int
    """Index of the failing link in ``chain.models``."""
    fault: str
    """The family name (``hang``, ``status-503``...)."""
    method: Method
    scenario: dict[str, Any]
    """The emulator scenario: earlier links answer 503, this link gets the fault."""
    after_output: bool = False
    """The fault breaks a stream after output reached the caller (see :attr:`may_interrupt`)."""

    def __str__(self) -> str:
        return f"{self.chain.name}-{self.label}-{self.fault}-{self.method}"

    @property
    def label(self) -> str:
        """The failing link's label."""
        return self.chain.models[self.link].label

    @property
    def model(self) -> str:
        """The failing link's model id."""
        return self.chain.models[self.link].model

    @property
    def may_interrupt(self) -> bool:
        """A loud interruption keeps the promise (output was shown, and no buffer)."""
        return self.after_output and self.chain.stream_recovery != "buffer"

    def drill(self, target: Emulator | LiteLLMProxy) -> Observed:
        """Run the case against ``target``; ``AssertionError`` if the chain breaks its promise.

        Args:
            target: an :class:`~langchain_openrouter_fallback.emulator.Emulator` (the chain
                runs in this process as ``ChatOpenRouterFallback``) or a
                :class:`~langchain_openrouter_fallback.testing.LiteLLMProxy` (the generated
                proxy runs the chain; its upstream is its emulator).
        """
        from langchain_openrouter_fallback.testing._proxy import LiteLLMProxy  # noqa: PLC0415

        if isinstance(target, LiteLLMProxy):
            observed = target.drill(self)
        else:
            from langchain_openrouter_fallback.testing._inprocess import (  # noqa: PLC0415
                drill_in_process,
            )

            observed = drill_in_process(self, target)
        problem = self.problem(observed)
        if problem is not None:
            raise AssertionError(self.failure_message(problem, observed))
        return observed

    def problem(self, observed: Observed) -> str | None:
        """Why ``observed`` breaks the promise, or ``None`` when it keeps it."""
        if self.model not in observed.tried:
            return f"the request never reached link {self.label!r}, so the fault never fired"
        answered = observed.report.answered == 1
        if not answered:
            if self.may_interrupt and observed.interrupted:
                return None
            error = observed.report.results[0].error or "no answer"
            return f"no answer from any later link ({error})"
        labels = self.chain.labels
        served: int | None
        if observed.served_label in labels:
            served = labels.index(observed.served_label)
        else:  # a server-mode group answered: the emulator knows which of its models
            served = _link_index(self.chain, observed.served_model)
        if served is None or served <= self.link:
            who = observed.served_label or observed.served_model or "no link"
            return f"the answer did not come from a link after {self.label!r} (served: {who})"
        return None

    def failure_message(self, problem: str, observed: Observed) -> str:
        """The ``AssertionError`` text: fault, link, promise, problem, attempt table."""
        from langchain_openrouter_fallback._cli.drill import format_report  # noqa: PLC0415

        later = [link.label for link in self.chain.models[self.link + 1 :]] or ["none"]
        promise = "an answer from a later link (" + ", ".join(later) + ")"
        if self.may_interrupt:
            promise += ", or a loud interruption (stream_recovery is not buffer)"
        what = f"{self.fault!r} on link {self.label!r} ({self.model}), {self.method}"
        lines = [
            f"fault {what}, chain {self.chain.name!r}",
            f"  expected: {promise}",
            f"  got: {problem}",
            format_report(observed.report),
        ]
        if observed.detail:
            lines.append(observed.detail)
        return "\n".join(lines)


def _link_index(chain: FallbackChain, model: str | None) -> int | None:
    """The last link serving ``model`` (a model may appear twice, with other providers)."""
    found = [index for index, link in enumerate(chain.models) if link.model == model]
    return found[-1] if found else None


def load_chains(chains: ChainsInput) -> list[FallbackChain]:
    """The chains of ``chains``, in order (files are loaded, every chain in each)."""
    from langchain_openrouter_fallback._definition.loader import load_chains as load_file  # noqa: PLC0415

    items: Sequence[str | Path | FallbackChain] = (
        chains if isinstance(chains, list | tuple) else [chains]  # type: ignore[list-item]
    )
    found: list[FallbackChain] = []
    for item in items:
        if isinstance(item, str | Path):
            found.extend(load_file(item).values())
        else:
            found.append(item)
    return found


def _status_family(code: int) -> _Family:
    return _Family(lambda model: _faults.status(model, code), METHODS)


def _families(chain: FallbackChain, statuses: Iterable[int]) -> dict[str, _Family]:
    by_status = {f"status-{code}": _status_family(code) for code in statuses}
    if chain.mode == "server":
        # OpenRouter moves to the next model of a request on errors only; any other fault
        # takes the whole request down, which is a different promise (see the docs).
        return by_status
    return {**by_status, **FAMILIES}


def capped(chain: FallbackChain, seconds: float) -> FallbackChain:
    """``chain`` with every link's limits at most ``seconds`` (never raised).

    ``timeout``, ``first_token_timeout`` and ``stall_timeout``, the chain's and each link's;
    a link without a ``timeout`` gets ``seconds``, and an ``auto`` limit becomes ``seconds``
    (a drill of faults runs every link under fixed, short limits).
    """
    names = ("timeout", "first_token_timeout", "stall_timeout")
    links = [
        link.model_copy(
            update={name: _at_most(getattr(link, name), seconds) for name in names}
            | {"timeout": _at_most(link.timeout or seconds, seconds)}
        )
        for link in chain.models
    ]
    update: dict[str, Any] = {name: _at_most(getattr(chain, name), seconds) for name in names}
    return chain.model_copy(update={"models": links, **update})


def _at_most(value: float | AutoLimit | None, seconds: float) -> float | None:
    if value is None:
        return None
    return min(value, seconds) if isinstance(value, int | float) else seconds  # auto: fixed


def fault_matrix(
    chains: ChainsInput,
    *,
    methods: Sequence[Method] = METHODS,
    statuses: Sequence[int] = STATUSES,
    faults: Sequence[str] | None = None,
    time_limit: float | None = None,
) -> list[FaultCase]:
    """Every case for ``chains``: each link but the last (always the primary) x fault x method.

    Use it to parametrize a test::

        @pytest.mark.parametrize("case", fault_matrix("chains.yaml"), ids=str)
        def test_fails_over(case, openrouter_emulator):
            case.drill(openrouter_emulator)

    Args:
        chains: a chain file (every chain in it), a chain, or a list of either.
        methods: ``invoke`` and/or ``stream``.
        statuses: HTTP statuses drilled as ``status-<code>`` (fallback-worthy ones).
        faults: only these families (``hang``, ``status-503``...); default: all.
            Server-mode chains get the ``status-*`` families only.
        time_limit: caps every link's limits at this many seconds in the drilled chain
            (:func:`capped`), so a hang costs that long, not the production ``timeout``;
            ``None``: the chain as written.
    """
    cases: list[FaultCase] = []
    for loaded in load_chains(chains):
        chain = loaded if time_limit is None else capped(loaded, time_limit)
        families = _families(chain, statuses)
        unknown = sorted(set(faults or ()) - set(families) - set(FAMILIES))
        if unknown:
            msg = f"unknown fault families {unknown}; known: {', '.join(families)}"
            raise ValueError(msg)
        for link in range(max(1, len(chain.models) - 1)):
            down = [_faults.status(before.model, 503) for before in chain.models[:link]]
            model = chain.models[link].model
            for name, family in families.items():
                if faults is not None and name not in faults:
                    continue
                scenario = _faults.scenario(*down, family.script(model))
                cases.extend(
                    FaultCase(chain, link, name, method, scenario, family.after_output)
                    for method in family.methods
                    if method in methods
                )
    return cases
