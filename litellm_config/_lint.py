"""What a generated LiteLLM config cannot reproduce of a chain.

Two families: behaviour LiteLLM has no equivalent for (the proxy will act differently from
``ChatOpenRouterFallback``), and chain settings the generated config cannot carry (LiteLLM
would silently ignore them). Every chain also gets one line naming the time limits each
deployment carries (the chain's, else the chat model's defaults) and what enforces them.
:func:`lint` lists one chain's findings; :func:`lint_chains` groups the findings of many
chains per kind, naming the chains each one affects.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from langchain_openrouter_fallback import ErrorKind, RetryPolicy, load_catalog
from langchain_openrouter_fallback.decisions import (
    GUARD_CHECKS,
    step_groups,
    structured_output_route,
    usd,
)
from langchain_openrouter_fallback.definition import (
    LIMIT_NAMES,
    AutoLimit,
    attempt_limits,
    group_links,
)
from litellm_config._mapping import capped_timeout, guard_limits, stream_read_timeout
from litellm_config._policies import UNMAPPED_RETRY_KINDS

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from langchain_openrouter_fallback import FallbackChain

__all__ = ["Finding", "findings", "lint", "lint_chains"]

_DEFAULT_RETRY = RetryPolicy()


@dataclass(frozen=True, slots=True)
class Finding:
    """One kind of difference, and where in a chain it applies."""

    message: str
    """The same sentence for every chain it affects (the grouping key)."""
    where: str = ""
    """What in this chain it concerns (link labels, values); empty: the whole chain."""
    shared: bool = False
    """``where`` lists things reported once across chains (e.g. unknown model ids)."""
    note: bool = False
    """Information, not a difference: the CLI prints it as ``note:`` and ``--strict`` ignores it."""

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message


_LIMITS = (
    "timeout / first token / stall in force per deployment (* the chat model's default, ^ the "
    "chain's, where the link sets none; timeout capped by the chain deadline), enforced by the "
    "proxy plugin the generated proxy config loads (litellm_config.proxy_plugin); a "
    "litellm.Router built from router_kwargs enforces them only with "
    "litellm.callbacks.append(litellm_config.proxy_plugin.handler) and async calls. Without "
    "the plugin only timeout and stream_timeout apply: httpx read timeouts, reset by "
    "OpenRouter's keep-alives; stream_timeout is max(first token, stall)"
)
_AUTO = (
    "auto limits are learned by the proxy plugin from each upstream's successful attempts, "
    "per proxy worker (shared_state does not share them), cold until min_samples served; "
    "LiteLLM's timeout and stream_timeout carry their ceilings"
)
_MARKS = {"default": "*", "chain": "^"}
_SHOWN_NAMES = {"timeout": "timeout", "first_token": "first token", "stall": "stall"}
_CONTINUE = (
    "LiteLLM cannot continue a stream that fails after content was sent: the proxy ends it "
    "with an error event, as stream_recovery: raise does (buffer is reproduced by the plugin)"
)


def _limits_in_force(chain: FallbackChain) -> list[Finding]:
    """The limits each deployment's guard carries, and its ``stream_timeout`` (as mapped).

    A second note names the ``auto`` limits, with their cold value and range.
    """
    limits, streams, autos = [], [], []
    for links in step_groups(chain):
        label = links[0].label
        own = attempt_limits(links, chain=chain)
        timeout = capped_timeout(chain, own)
        guard = guard_limits(chain, links, own)
        shown = []
        for name in LIMIT_NAMES:
            value = getattr(guard, name)
            if isinstance(value, AutoLimit):
                shown.append("auto")
                autos.append(
                    f"{label} {_SHOWN_NAMES[name]} auto (cold {value.cold:g}, "
                    f"{value.floor:g}-{value.ceiling:g} s)"
                )
            else:
                shown.append(f"{value:g}{_MARKS.get(own.sources[name], '')}")
        limits.append(f"{label} {'/'.join(shown)}")
        streams.append(f"{label} {stream_read_timeout(own, timeout):g}")
    where = f"limits {', '.join(limits)} s; stream_timeout {', '.join(streams)} s"
    found = [Finding(_LIMITS, where, note=True)]
    if autos:
        found.append(Finding(_AUTO, ", ".join(autos), note=True))
    return found


_ACCEPT = (
    "the proxy plugin checks answers for accept's non_empty, no_refusal and complete (JSON "
    "answers, and streams up to their first content, or whole with stream_recovery: buffer); "
    "schema and Python callables run only in ChatOpenRouterFallback, so the proxy commits "
    "such answers unchecked"
)


def _streams(chain: FallbackChain) -> list[Finding]:
    found = _limits_in_force(chain)
    if chain.stream_recovery == "continue":
        found.append(Finding(_CONTINUE, "stream_recovery: continue"))
    unchecked = [check for check in chain.accept if check not in GUARD_CHECKS]
    if unchecked:
        found.append(Finding(_ACCEPT, f"accept: {', '.join(unchecked)}"))
    return found


def _routing(chain: FallbackChain) -> list[Finding]:
    found: list[Finding] = []
    if chain.requires.capabilities:
        caps = ", ".join(sorted(chain.requires.capabilities))
        found.append(
            Finding(
                "LiteLLM's pre-call checks skip links only by context window, not by "
                "capability (the chain's links were validated when it loaded)",
                f"requires [{caps}]",
            )
        )
    if chain.hedge is not None:
        found.append(Finding("LiteLLM never races a second link; hedging is dropped", "hedge"))
    rated = [p for p in (chain.breaker, *(link.breaker for link in chain.models)) if p and p.rate]
    if rated:
        found.append(
            Finding(
                "LiteLLM cools a deployment down after allowed_fails failures, not on a "
                "failure rate over a window; only the consecutive-failure limit carries over",
                "breaker.rate",
            )
        )
    if chain.fallback_on is not None:
        found.append(
            Finding(
                "narrows which errors fall back; LiteLLM falls back on every error once "
                "retries are spent (auth and bad-request errors included)",
                "fallback_on",
            )
        )
    if chain.deadline is not None:
        found.append(
            Finding(
                "the deadline caps each attempt (timeout); LiteLLM does not shrink later "
                "attempts to the time left, so a request can take longer in total",
                f"deadline {chain.deadline:g}s",
            )
        )
    unknown = sorted(
        {link.model for link in chain.models if load_catalog().get(link.model) is None}
    )
    if unknown:
        found.append(
            Finding(
                "not in the catalog: no max_input_tokens, so pre-call checks cannot skip them "
                "for long prompts",
                ", ".join(unknown),
                shared=True,
            )
        )
    return found


_HALF_OPEN = (
    "after a cooldown LiteLLM has no half-open probe: the generated config keeps the fail "
    "count for twice the cooldown, so one failure within a cooldown's length after it ends "
    "re-opens at once, but a success does not reset the count (a failure soon after "
    "recovery re-opens too) and failures are counted in that window, not consecutively"
)


def _breakers(chain: FallbackChain) -> list[Finding]:
    breakers = {link.label: link.breaker or chain.breaker for link in chain.models}
    enabled = [label for label, breaker in breakers.items() if breaker.enabled]
    found = [Finding(_HALF_OPEN, "breaker on " + ", ".join(enabled))] if enabled else []
    own = [
        label
        for label in enabled
        if chain.breaker.enabled and breakers[label].failures != chain.breaker.failures
    ]
    if own:
        found.append(
            Finding(
                "a link with its own failure limit gets a deployment-level allowed_fails_policy, "
                "whose fail count LiteLLM keeps for one cooldown only: after a cooldown it "
                "needs that many new failures to re-open",
                "breaker.failures on " + ", ".join(own),
            )
        )
    return found


_TRANSIENT = (
    "the quick retry after 500/502/504 or a reset before any byte is not generated: on "
    "LiteLLM's openrouter/ path 500, 502, 529 and a reset all raise the same APIError, "
    "whose retry count (DefaultRetries) also covers 403, 404 and every other unlisted "
    "error, and 504 raises Timeout like a real timeout; so those errors move on at once"
)


def _retries(chain: FallbackChain) -> list[Finding]:
    found: list[Finding] = []
    policies = [chain.retry, *(link.retry for link in chain.models if link.retry)]
    if any(ErrorKind.RATE_LIMIT in p.on and p.max_retries for p in policies):
        found.append(
            Finding(
                "LiteLLM waits what a 429 asks (up to 60 s) before retrying; the chain's check "
                "that moves on when the wait exceeds max_wait or the deadline is not reproduced",
                "Retry-After",
            )
        )
    if any(
        p.jitter != _DEFAULT_RETRY.jitter or p.max_wait != _DEFAULT_RETRY.max_wait for p in policies
    ):
        found.append(Finding("no LiteLLM setting; ignored", "retry jitter / max_wait"))
    if any(p.transient and p.max_retries for p in policies):
        found.append(Finding(_TRANSIENT, "retry.transient"))
    unmapped = sorted({k for p in policies if p.max_retries for k in p.on & UNMAPPED_RETRY_KINDS})
    if unmapped:
        found.append(
            Finding(
                "LiteLLM has no matching exception type; those errors are not retried",
                f"retry on {', '.join(unmapped)}",
            )
        )
    return found


def _ignored(chain: FallbackChain) -> list[Finding]:
    found: list[Finding] = []
    prefill = [link.label for link in chain.models if link.prefill is not None]
    if prefill:
        found.append(Finding("prefill is ignored by LiteLLM", ", ".join(prefill)))
    if chain.mode == "server":
        found.extend(_server_group_losses(chain))
    return found


def _server_group_losses(chain: FallbackChain) -> list[Finding]:
    lost: list[Finding] = []
    for group in group_links(chain):
        # A group's attempt timeout is the sum of its links' when every link sets a number.
        summed = all(isinstance(link.timeout, float | int) for link in group)
        fields: tuple[str, ...] = ("first_token_timeout", "stall_timeout", "retry", "breaker")
        fields = fields if summed else ("timeout", *fields)
        for link in group[1:]:
            differs = [f for f in fields if getattr(link, f) != getattr(group[0], f)]
            if differs:
                lost.append(
                    Finding(
                        "ignored; a server-mode link is served inside its group's first "
                        "link's request, which uses that link's settings",
                        f"{link.label}: {', '.join(differs)} (group of {group[0].label})",
                    )
                )
    return lost


_STRUCTURED = (
    "json_schema requests reach these links unchanged; the chat model adapts them by the "
    "route named and parses the answer alike (tool: the schema as a tool to call, forced when "
    "the link takes tool_choice; json_object: JSON mode plus the schema as an instruction; "
    "unsupported: the link is skipped)"
)


def _adaptation(chain: FallbackChain) -> list[Finding]:
    """What the chat model adapts per request and link that a LiteLLM deployment cannot.

    The config's own params are adapted per deployment (``_mapping._link_params``); requests
    are not: LiteLLM's ``drop_params`` cannot stand in, since its OpenRouter mapping lists
    every OpenAI parameter for every model (checked with litellm 1.103.7).
    """
    catalog = load_catalog()
    infos = [(link.label, catalog.get(link.model)) for link in chain.models]
    found: list[Finding] = []
    routes = [
        (label, structured_output_route(i.supported_parameters))
        for label, i in infos
        if i is not None
    ]
    adapted = [f"{label} ({route})" for label, route in routes if route != "native"]
    if adapted:
        found.append(Finding(_STRUCTURED, ", ".join(adapted)))
    unforced = [
        label
        for label, i in infos
        if i is not None and i.supports_tools and "tool_choice" not in i.supported_parameters
    ]
    if unforced:
        found.append(
            Finding(
                "a forced tool_choice reaches these links unchanged; the chat model drops it "
                "and asks for the tool in words",
                ", ".join(unforced),
            )
        )
    if chain.max_cost is not None:
        found.append(
            Finding(
                "no per-request cost ceiling in LiteLLM (max_budget / budget_duration cap "
                "spend over a period): links are not skipped by their worst-case cost",
                f"max_cost {usd(chain.max_cost)}",
            )
        )
    return found


_CHECKS: tuple[Callable[[FallbackChain], list[Finding]], ...] = (
    _streams,
    _routing,
    _breakers,
    _retries,
    _ignored,
    _adaptation,
)


def findings(chain: FallbackChain) -> list[Finding]:
    """Every finding for ``chain``, in a stable order."""
    return [finding for check in _CHECKS for finding in check(chain)]


def lint(chain: FallbackChain) -> list[str]:
    """Warnings about what the LiteLLM config generated for ``chain`` cannot reproduce.

    Returns:
        One sentence per finding, in a stable order; empty when LiteLLM behaves the same.
    """
    return [str(finding) for finding in findings(chain)]


def _group_line(message: str, hits: list[tuple[str, Finding]], total: int) -> str:
    names = [name for name, _ in hits]
    if len(hits) == 1:
        return f"{names[0]}: {hits[0][1]}"
    scope = f"all {total} chains" if len(hits) == total else f"chains {', '.join(names)}"
    if hits[0][1].shared:
        subjects = sorted({s for _, f in hits for s in f.where.split(", ")})
        return f"{', '.join(subjects)}: {message} ({scope})"
    wheres = {f.where for _, f in hits}
    if len(wheres) == 1:
        return f"{hits[0][1]} ({scope})"
    detail = "; ".join(f"{name}: {f.where}" for name, f in hits)
    return f"{message} ({len(hits)} chains: {detail})"


def lint_chains(chains: Mapping[str, FallbackChain], *, notes: bool | None = None) -> list[str]:
    """The findings of every chain, one line per kind naming the chains it affects.

    A finding that is the same in several chains is reported once; models missing from the
    catalog are listed once each, whichever chains use them.

    Args:
        chains: The chains by name.
        notes: ``None`` for every finding; ``True`` for the notes only (the limits in force);
            ``False`` for the differences only.
    """
    groups: dict[str, list[tuple[str, Finding]]] = {}
    for name, chain in chains.items():
        for finding in findings(chain):
            if notes is None or finding.note == notes:
                groups.setdefault(finding.message, []).append((name, finding))
    return [_group_line(message, hits, len(chains)) for message, hits in groups.items()]
