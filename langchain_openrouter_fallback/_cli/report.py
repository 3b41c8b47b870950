"""Check a chain against the catalog: what each link can do and what looks wrong."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from langchain_openrouter_fallback._cli.table import plural, table
from langchain_openrouter_fallback._decisions.accept import PRE_CONTENT_CHECKS
from langchain_openrouter_fallback._decisions.adapt_report import budget_warnings
from langchain_openrouter_fallback._definition.attempt_limits import (
    AutoLimit,
    attempt_limits,
    field_name,
)

if TYPE_CHECKING:
    from langchain_openrouter_fallback._definition.catalog import Catalog
    from langchain_openrouter_fallback._definition.chain import FallbackChain, Link

__all__ = [
    "ChainReport",
    "LinkRow",
    "accept_summary",
    "auto_summary",
    "check_chain",
    "format_chain_report",
]


@dataclass(frozen=True, slots=True)
class LinkRow:
    """One link as the catalog sees it."""

    label: str
    model: str
    known: bool
    context_length: int | None
    capabilities: frozenset[str]
    prompt_price_per_m: float | None
    """USD per million prompt tokens."""


@dataclass(slots=True)
class ChainReport:
    """The ``validate`` table for one chain plus its warnings."""

    chain: str
    mode: str
    rows: list[LinkRow] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    accept: str = ""
    """The answer checks in force, and where they cannot run (empty: none)."""
    auto: str = ""
    """The ``auto`` limits in force, per link (empty: none)."""

    @property
    def ok(self) -> bool:
        """No warnings."""
        return not self.warnings


def _row(link: Link, catalog: Catalog) -> LinkRow:
    info = catalog.get(link.model)
    if info is None:
        return LinkRow(link.label, link.model, known=False, context_length=None,
                       capabilities=frozenset(), prompt_price_per_m=None)  # fmt: skip
    price = info.prompt_price * 1e6 if info.prompt_price is not None else None
    if catalog.unlisted_variant(link.model):
        price = None  # the base model's price is not this variant's
    return LinkRow(link.label, link.model, known=True, context_length=info.context_length,
                   capabilities=info.capabilities(), prompt_price_per_m=price)  # fmt: skip


def _shared_upstream(chain: FallbackChain) -> list[str]:
    warnings = []
    pinned = [(link, link.provider.pinned_providers()) for link in chain.models if link.provider]
    for i, (a, pa) in enumerate(pinned):
        for b, pb in pinned[i + 1 :]:
            if pa is not None and pa == pb:
                warnings.append(
                    f"{a.label} and {b.label} can only be served by the same provider(s) "
                    f"{sorted(pa)}: one outage takes both down"
                )
    return warnings


def accept_summary(chain: FallbackChain) -> str:
    """``non_empty, schema`` plus the checks a ``raise``/``continue`` stream cannot run."""
    if not chain.accept:
        return ""
    text = ", ".join(chain.accept)
    late = [check for check in chain.accept if check not in PRE_CONTENT_CHECKS]
    if late and chain.stream_recovery != "buffer":
        text += (
            f" (streams with stream_recovery {chain.stream_recovery} show content as it "
            f"arrives: {', '.join(late)} run on invoke and buffered streams only)"
        )
    return text


def auto_summary(chain: FallbackChain) -> str:
    """The ``auto`` limits per link: ``primary first_token_timeout (cold 15 s, 1-120 s)``."""
    parts = []
    for link in chain.models:
        limits = attempt_limits([link], chain=chain)
        for name, spec in limits.auto.items():
            parts.append(
                f"{link.label} {field_name(name)} (cold {spec.cold:g} s, "
                f"{spec.floor:g}-{spec.ceiling:g} s)"
            )
    hedge = chain.hedge
    if hedge is not None and isinstance(hedge.after, AutoLimit):
        parts.append("hedge.after (p95 of the first output)")
    return "; ".join(parts)


def check_chain(chain: FallbackChain, catalog: Catalog) -> ChainReport:
    """Build the report: per-link capabilities and the chain's warnings."""
    report = ChainReport(chain.name, chain.mode, [_row(link, catalog) for link in chain.models])
    report.accept = accept_summary(chain)
    report.auto = auto_summary(chain)
    primary = report.rows[0]
    for row in report.rows:
        variant = catalog.unlisted_variant(row.model)
        if not row.known:
            report.warnings.append(f"{row.label}: unknown model id {row.model!r} (not in catalog)")
        elif variant:
            base = row.model.partition(":")[0]
            report.warnings.append(
                f"{row.label}: the catalog lists no {row.model!r} (it lists ':{variant}' "
                f"variants of other models); capabilities shown are {base}'s, price unknown"
            )
    for row in report.rows[1:]:
        if (
            row.context_length
            and primary.context_length
            and (row.context_length < primary.context_length)
        ):
            report.warnings.append(
                f"{row.label}: context window {row.context_length} is smaller than the "
                f"primary's {primary.context_length}; long prompts cannot fall back to it"
            )
    report.warnings.extend(chain.requirement_problems(catalog))
    report.warnings.extend(_shared_upstream(chain))
    report.warnings.extend(budget_warnings(chain, catalog))
    return report


def format_chain_report(report: ChainReport) -> str:
    """The ``validate`` table, then the warnings."""
    rows = [("label", "model", "context", "$/M in", "capabilities")]
    for row in report.rows:
        ctx = f"{row.context_length:,}" if row.context_length else "?"
        price = f"{row.prompt_price_per_m:.2f}" if row.prompt_price_per_m is not None else "?"
        caps = ", ".join(sorted(row.capabilities)) if row.known else "(unknown model)"
        rows.append((row.label, row.model, ctx, price, caps))
    lines = [f"chain {report.chain} ({report.mode}, {plural(len(report.rows), 'link')})"]
    lines.extend(table(rows, "<<>><"))
    if report.accept:
        lines.append(f"  accept: {report.accept}")
    if report.auto:
        lines.append(f"  learned limits: {report.auto}")
    lines.extend(f"  warning: {warning}" for warning in report.warnings)
    return "\n".join(lines)
