"""``openrouter-fallback drill``: fail links on purpose and watch the chain answer anyway.

A drill sends N requests through a chain against the local emulator (faults scripted per
link) or, with ``--live``, against OpenRouter (a failing link gets an invalid model id, as
OpenRouter's docs suggest). It ends with a table per link: attempts, requests served, error
kinds, p50/p95 time to answer.

Fault shorthand (``--fail LABEL=EFFECT``; LABEL is a link label, a model id or ``primary``;
EFFECT is required)::

    503, 429, ...   that HTTP error          hang        no response at all
    keepalive       keep-alives, no token    cut         stream cut after 2 chunks
    midstream       in-band error mid-stream reset       connection reset
    flap            503 for 1 s, up for 1 s  context     400 context length
    malformed       a non-JSON event

Unusable answers (a 200 that ``accept`` checks turn down)::

    empty           no text, no tool call    refusal     a refusal
    filter          finish content_filter    length      cut at the token limit
    prose           prose where JSON was asked for (the ``schema`` check)
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, TextIO

from langchain_openrouter_fallback._cli.table import table
from langchain_openrouter_fallback._errors import ChainValidationError, OpenRouterFallbackError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from langchain_core.messages import BaseMessage

    from langchain_openrouter_fallback._definition.chain import FallbackChain
    from langchain_openrouter_fallback.chat_models import ChatOpenRouterFallback

__all__ = [
    "DrillOptions",
    "DrillReport",
    "DrillResult",
    "FaultSpec",
    "LinkStats",
    "format_report",
    "one_request",
    "register",
    "run_drill",
]

DEFAULT_REQUESTS = 20
STREAM_RECOVERY_MODES = ("raise", "buffer", "continue")
"""``--stream-recovery`` choices: the chain's ``StreamRecovery`` (a test keeps them equal)."""
LIVE_INVALID_MODEL = "openrouter-fallback/drill-invalid-model"
"""What a failing link's model id becomes in a live drill."""
PROMPT = "Reply with one short sentence."
_EFFECTS: dict[str, dict[str, Any]] = {
    "hang": {"hang": True},
    "keepalive": {"slow_first_token": "forever"},
    "cut": {"cut_after": 2},
    "midstream": {"midstream_error": {"after": 2}},
    "reset": {"reset": True},
    "flap": {"flap": {"down": 1, "up": 1}, "error": 503},
    "context": {"error": "context_length"},
    "malformed": {"malformed_chunk": {"after": 1}},
    "empty": {"answer": {}},
    "refusal": {"answer": {"refusal": "I can't help with that."}},
    "filter": {"answer": {"finish_reason": "content_filter"}},
    "length": {"answer": {"content": "The answer stops in the mid", "finish_reason": "length"}},
    "prose": {"answer": {"content": "Here is the profile you asked for."}},
}
_CHECKED_BY = {
    "empty": "non_empty",
    "refusal": "no_refusal",
    "filter": "no_refusal",
    "length": "complete",
    "prose": "schema",
}
"""The ``accept`` check that turns each unusable answer down."""
JSON_ASKED = {"response_format": {"type": "json_object"}}
"""What a drill with a ``prose`` fault asks for, so that ``schema`` has something to check."""


@dataclass(frozen=True, slots=True)
class FaultSpec:
    """One injected fault: which link fails and how (``503``, ``hang``, ``cut``...)."""

    target: str
    effect: str
    flag: str = field(default="", compare=False)
    """The option that asked for it (``--fail primary=503``), for error messages."""

    @classmethod
    def parse(cls, text: str) -> FaultSpec:
        """``LABEL=EFFECT``; the effect is required (a bare label is an error, not a 503)."""
        target, sep, effect = text.partition("=")
        effect = effect.strip().lower()
        if not target.strip() or not sep or not (effect.isdigit() or effect in _EFFECTS):
            known = ", ".join(["<status>", *_EFFECTS])
            example = f"{target.strip() or 'primary'}=503"
            msg = (
                f"--fail {text}: bad fault: expected LABEL=EFFECT (e.g. {example}), EFFECT one of "
                f"{known}"
            )
            raise ValueError(msg)
        return cls(target.strip(), effect, flag=f"--fail {text}")

    @property
    def check(self) -> str | None:
        """The ``accept`` check this fault is for (``None``: not an unusable answer)."""
        return _CHECKED_BY.get(self.effect)

    def emulator_fault(self, model: str) -> dict[str, Any]:
        """The emulator scenario entry for this fault on ``model``."""
        effect = {"error": int(self.effect)} if self.effect.isdigit() else _EFFECTS[self.effect]
        return {"model": model, **effect}


@dataclass(slots=True)
class DrillResult:
    """One request of the drill."""

    answered: bool
    served_by: str | None
    elapsed_ms: float
    attempts: list[dict[str, Any]]
    error: str | None = None


@dataclass(slots=True)
class LinkStats:
    """The per-link row of the drill table."""

    label: str
    model: str
    attempts: int = 0
    served: int = 0
    skipped: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    p50_ms: float | None = None
    p95_ms: float | None = None


@dataclass(slots=True)
class DrillReport:
    """Everything a drill of one chain found."""

    chain: str
    mode: str
    target: str
    stream: bool
    faults: list[str]
    results: list[DrillResult]
    links: list[LinkStats] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """E.g. an unusable answer scripted for a chain that does not check for it."""

    @property
    def answered(self) -> int:
        """Requests that got an answer."""
        return sum(r.answered for r in self.results)

    @property
    def unanswered(self) -> int:
        """Requests every link failed."""
        return len(self.results) - self.answered

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (``--json``)."""
        data = asdict(self)
        answered = [r.elapsed_ms for r in self.results if r.answered]
        data.update(
            requests=len(self.results), answered=self.answered, unanswered=self.unanswered,
            p50_ms=percentile(answered, 50), p95_ms=percentile(answered, 95),
        )  # fmt: skip
        return data


def percentile(values: Sequence[float], pct: float) -> float | None:
    """Nearest-rank percentile, rounded to 0.1 ms; ``None`` for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return round(ordered[rank - 1], 1)


def _link_model(chain: FallbackChain, fault: FaultSpec) -> tuple[int, str]:
    for index, link in enumerate(chain.models):
        if fault.target in {link.label, link.model}:
            return index, link.model
    if fault.target == "primary":  # the first link, whatever its label
        return 0, chain.models[0].model
    labels = ", ".join(link.label for link in chain.models)
    where = f"{fault.flag}: " if fault.flag else ""
    msg = f"{where}chain {chain.name!r} has no link {fault.target!r} (labels: {labels})"
    raise ValueError(msg)


def emulator_scenario(
    chain: FallbackChain, faults: Sequence[FaultSpec], base: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A scenario: ``base`` (e.g. from ``--scenario FILE``) plus the named faults."""
    scenario = dict(base or {})
    extra = [fault.emulator_fault(_link_model(chain, fault)[1]) for fault in faults]
    scenario["faults"] = [*extra, *scenario.get("faults", [])]
    return scenario


def live_chain(chain: FallbackChain, faults: Sequence[FaultSpec]) -> FallbackChain:
    """The chain with each failing link's model swapped for an invalid id (live drills)."""
    models = list(chain.models)
    for fault in faults:
        if not fault.effect.isdigit():
            where = f"{fault.flag}: " if fault.flag else ""
            msg = (
                f"{where}{fault.effect!r} cannot be injected live; only LABEL=<status> "
                "(invalid model)"
            )
            raise ValueError(msg)
        index, _ = _link_model(chain, fault)
        models[index] = models[index].model_copy(update={"model": LIVE_INVALID_MODEL})
    return chain.model_copy(update={"models": models})


def one_request(llm: ChatOpenRouterFallback, *, stream: bool, **params: Any) -> DrillResult:
    """Send the drill's prompt once; what came back, or the error and its attempts."""
    messages: list[BaseMessage | str] = [PROMPT]
    started = time.monotonic()
    try:
        if stream:
            last = None
            for chunk in llm.stream(messages, **params):
                last = chunk
            meta = last.response_metadata if last is not None else {}
        else:
            meta = llm.invoke(messages, **params).response_metadata
    except OpenRouterFallbackError as exc:
        elapsed = (time.monotonic() - started) * 1000
        attempts = [a.as_dict() for a in getattr(exc, "attempts", [])]
        return DrillResult(
            answered=False, served_by=None, elapsed_ms=round(elapsed, 1),
            attempts=attempts, error=type(exc).__name__,
        )  # fmt: skip
    elapsed = (time.monotonic() - started) * 1000
    fallback = meta.get("fallback") or {}
    return DrillResult(
        answered=True, served_by=fallback.get("served_by"), elapsed_ms=round(elapsed, 1),
        attempts=fallback.get("attempts", []),
    )  # fmt: skip


def link_stats(chain: FallbackChain, results: Sequence[DrillResult]) -> list[LinkStats]:
    """Aggregate the results per link (server-mode groups count under their label)."""
    rows: dict[str, LinkStats] = {}
    times: dict[str, list[float]] = {}
    for link in chain.models:
        rows[link.label] = LinkStats(link.label, link.model)
    for result in results:
        for attempt in result.attempts:
            row = rows.setdefault(attempt["label"], LinkStats(attempt["label"], attempt["model"]))
            if attempt["outcome"] == "skipped":
                row.skipped += 1
                continue
            row.attempts += 1
            if attempt["outcome"] == "error":
                kind = attempt.get("error_kind") or "error"
                row.errors[kind] = row.errors.get(kind, 0) + 1
        if result.answered and result.served_by is not None:
            row = rows.setdefault(result.served_by, LinkStats(result.served_by, "?"))
            row.served += 1
            times.setdefault(result.served_by, []).append(result.elapsed_ms)
    for label, row in rows.items():
        row.p50_ms = percentile(times.get(label, []), 50)
        row.p95_ms = percentile(times.get(label, []), 95)
    return list(rows.values())


@dataclass(frozen=True, slots=True)
class DrillOptions:
    """How to drill: request count, streaming, faults, where."""

    requests: int = DEFAULT_REQUESTS
    stream: bool = False
    faults: tuple[FaultSpec, ...] = ()
    scenario: dict[str, Any] | None = None
    live: bool = False
    api_key: str | None = None
    progress: TextIO | None = None
    stream_recovery: str | None = None
    """Overrides the chain's ``stream_recovery`` (``raise``, ``buffer``, ``continue``)."""


def _progress(out: TextIO | None, done: int, total: int, unanswered: int) -> None:
    if out is None:
        return
    failed = f"  {unanswered} unanswered" if unanswered else ""
    if not out.isatty():  # a log or CI: a line per tenth of the run, no redrawn frames
        step = max(1, total // 10)
        if done % step == 0 or done == total:
            out.write(f"  {done}/{total}{failed}\n")
            out.flush()
        return
    width = 30
    filled = width * done // max(total, 1)
    bar = "#" * filled + "." * (width - filled)
    out.write(f"\r  [{bar}] {done}/{total}{failed}")
    if done == total:
        out.write("\n")
    out.flush()


def _drive(
    chain: FallbackChain, options: DrillOptions, *, base_url: str, api_key: str, target: str
) -> DrillReport:
    # The chat model (and LangChain) load when a drill runs, not for `--help`.
    from langchain_openrouter_fallback.chat_models import ChatOpenRouterFallback  # noqa: PLC0415

    llm = ChatOpenRouterFallback(chain=chain, base_url=base_url, api_key=api_key)
    params = JSON_ASKED if any(f.effect == "prose" for f in options.faults) else {}
    results: list[DrillResult] = []
    for _ in range(options.requests):
        results.append(one_request(llm, stream=options.stream, **params))
        unanswered = sum(not r.answered for r in results)
        _progress(options.progress, len(results), options.requests, unanswered)
    faults = [f"{f.target}={f.effect}" for f in options.faults]
    report = DrillReport(chain.name, chain.mode, target, options.stream, faults, results)
    report.links = link_stats(chain, results)
    report.notes = [
        f"{f.flag or f.effect}: the chain's accept has no {f.check} check, so that answer is "
        f"served (add `accept: [{f.check}]`)"
        for f in options.faults
        if f.check is not None and f.check not in chain.accept
    ]
    return report


def _with_stream_recovery(chain: FallbackChain, mode: str) -> FallbackChain:
    from typing import get_args  # noqa: PLC0415

    from langchain_openrouter_fallback._definition.chain import StreamRecovery  # noqa: PLC0415

    if mode not in get_args(StreamRecovery):
        msg = f"unknown stream recovery {mode!r} (known: {', '.join(get_args(StreamRecovery))})"
        raise ValueError(msg)
    return chain.model_copy(update={"stream_recovery": mode})


def run_drill(chain: FallbackChain, options: DrillOptions) -> DrillReport:
    """Drill one chain against the emulator (default) or live OpenRouter."""
    if options.requests < 1:
        msg = f"a drill needs at least 1 request, not {options.requests}"
        raise ValueError(msg)
    if options.stream_recovery is not None:
        chain = _with_stream_recovery(chain, options.stream_recovery)
    if options.live:
        if not options.api_key:
            msg = "a live drill needs OPENROUTER_API_KEY"
            raise ValueError(msg)
        from langchain_openrouter_fallback.chat_models import DEFAULT_BASE_URL  # noqa: PLC0415

        live = live_chain(chain, options.faults)
        base_url = chain.base_url or DEFAULT_BASE_URL
        return _drive(live, options, base_url=base_url, api_key=options.api_key, target="live")
    from langchain_openrouter_fallback.emulator import Emulator  # noqa: PLC0415 - optional extra

    scenario = emulator_scenario(chain, options.faults, options.scenario)
    with Emulator(scenario=scenario) as emu:
        return _drive(chain, options, base_url=emu.base_url, api_key="drill", target="emulator")


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def format_report(report: DrillReport) -> str:
    """The human-readable table."""
    faults = ", ".join(report.faults) or "none"
    kind = "stream" if report.stream else "invoke"
    title = (
        f"drill {report.chain} ({report.mode} mode, {report.target}, {len(report.results)} x "
        f"{kind}; faults: {faults})"
    )
    rows = [("link", "model", "attempts", "served", "skipped", "p50 ms", "p95 ms", "errors")]
    for row in report.links:
        errors = ", ".join(f"{k} x{n}" for k, n in Counter(row.errors).most_common()) or "-"
        rows.append((row.label, row.model, str(row.attempts), str(row.served), str(row.skipped),
                     _ms(row.p50_ms), _ms(row.p95_ms), errors))  # fmt: skip
    data = report.as_dict()
    answered = (
        f"  answered {report.answered}/{len(report.results)}; time to answer "
        f"p50 {_ms(data['p50_ms'])} ms, p95 {_ms(data['p95_ms'])} ms"
    )
    notes = [f"  note: {note}" for note in report.notes]
    return "\n".join([title, *table(rows, "<<>>>>><"), answered, *notes])


def _chains(path: str, name: str | None) -> list[FallbackChain]:
    from langchain_openrouter_fallback._definition.loader import load_chain, load_chains  # noqa: PLC0415

    return list(load_chains(path).values()) if name is None else [load_chain(path, name=name)]


def _scenario_file(path: str) -> dict[str, Any]:
    """The ``--scenario`` file, validated here so its errors name it (not ``<scenario>``)."""
    from langchain_openrouter_fallback._definition.loader import (  # noqa: PLC0415
        load_document,
        validate_document,
    )
    from langchain_openrouter_fallback.emulator._scenario import Scenario  # noqa: PLC0415

    data, find_line = load_document(path)
    if data is not None and not isinstance(data, dict):
        msg = f"{path}: invalid scenario: the document must be a mapping of scenario settings"
        raise ChainValidationError(msg, source=path)
    data = data or {}
    validate_document(Scenario, data, source=path, find_line=find_line, what="scenario")
    return data


def _options(args: argparse.Namespace) -> DrillOptions:
    import os  # noqa: PLC0415 - only the command reads the environment

    faults = [FaultSpec.parse(text) for text in args.fail]
    faults += [FaultSpec(target, "hang", flag=f"--hang {target}") for target in args.hang]
    scenario = None
    if args.scenario:
        scenario = _scenario_file(args.scenario)
    stream = args.stream or args.stream_recovery is not None
    return DrillOptions(
        requests=args.requests, stream=stream, faults=tuple(faults), scenario=scenario,
        live=args.live, api_key=os.environ.get("OPENROUTER_API_KEY"),
        progress=None if args.json else sys.stderr, stream_recovery=args.stream_recovery,
    )  # fmt: skip


def _cmd_drill(args: argparse.Namespace) -> int:
    try:
        options = _options(args)
        chains = _chains(args.chain_file, args.chain)
        reports = [run_drill(chain, options) for chain in chains]
    except ValueError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    if args.json:
        payload = [r.as_dict() for r in reports]
        sys.stdout.write(json.dumps(payload[0] if len(payload) == 1 else payload, indent=2) + "\n")
    else:
        sys.stdout.write("\n\n".join(format_report(r) for r in reports) + "\n")
    return 1 if any(r.unanswered for r in reports) else 0


def _at_least_one(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        msg = f"expected a whole number of requests >= 1, got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return value


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``drill`` subcommand."""
    drill = subparsers.add_parser(
        "drill", help="send N requests through a chain with links failing on purpose",
        epilog="The same drills in your CI, with pytest: docs/testing-in-ci.md",
    )  # fmt: skip
    drill.add_argument("chain_file")
    drill.add_argument(
        "-n", "--requests", type=_at_least_one, default=DEFAULT_REQUESTS,
        help="requests to send (default: %(default)s)",
    )  # fmt: skip
    drill.add_argument("--chain", help="drill only this chain of the file")
    drill.add_argument("--stream", action="store_true", help="stream the answers")
    drill.add_argument(
        "--stream-recovery", choices=STREAM_RECOVERY_MODES, metavar="MODE",
        help="stream, and recover a stream that breaks after content this way: "
        "raise, buffer or continue (default: the chain's stream_recovery)",
    )  # fmt: skip
    drill.add_argument(
        "--fail", action="append", default=[], metavar="LABEL=EFFECT",
        help="fail a link (repeatable); EFFECT is required: a status (503) or hang, keepalive, "
        "cut, midstream, reset, flap, context, malformed; an unusable answer for the chain's "
        "accept checks: empty, refusal, filter, length, prose",
    )  # fmt: skip
    drill.add_argument("--hang", action="append", default=[], metavar="LABEL")
    drill.add_argument("--scenario", help="an emulator scenario file to start from")
    drill.add_argument(
        "--live", action="store_true",
        help="drill live OpenRouter ($OPENROUTER_API_KEY); failing links get an invalid model id",
    )  # fmt: skip
    drill.add_argument("--json", action="store_true", help="machine-readable output")
    drill.set_defaults(func=_cmd_drill)
