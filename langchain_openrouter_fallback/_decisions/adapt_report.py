"""``validate``'s view of per-link adaptation and of ``max_cost``: what each link will be sent.

:func:`adaptation_lines` lists, per link, how a structured-output request, a forced
``tool_choice`` and ``max_tokens`` reach it, and which of the chain's own params it would not
get (see ``_adapt``). :func:`budget_warnings` flags a ``:free`` link that falls back to paid
links, and links whose worst case alone exceeds ``max_cost``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from langchain_openrouter_fallback._decisions.adapt import structured_output_route
from langchain_openrouter_fallback._decisions.budget import worst_case
from langchain_openrouter_fallback._decisions.money import usd
from langchain_openrouter_fallback._decisions.plan import Step, adapt_for
from langchain_openrouter_fallback._decisions.prefill import rejects_prefill
from langchain_openrouter_fallback._definition.payload import link_payload

if TYPE_CHECKING:
    from langchain_openrouter_fallback._decisions.adapt import StructuredOutputRoute
    from langchain_openrouter_fallback._definition.catalog import Catalog, ModelInfo
    from langchain_openrouter_fallback._definition.chain import FallbackChain, Link

__all__ = ["adaptation_lines", "budget_warnings"]

_PROBE = [{"role": "user", "content": "validate"}]


_ROUTES: dict[StructuredOutputRoute, str] = {
    "native": "json_schema native",
    "tool": "json_schema via a tool (asked in words)",
    "json_object": "json_schema via json_object + schema instructions",
    "unsupported": "json_schema impossible (skipped)",
}


def _structured(info: ModelInfo) -> str:
    route = structured_output_route(info.supported_parameters)
    if route == "tool" and "tool_choice" in info.supported_parameters:
        return "json_schema via a forced tool"
    return _ROUTES[route]


def _link_line(chain: FallbackChain, link: Link, catalog: Catalog) -> str:
    info = catalog.get(link.model)
    if info is None:
        return f"  {link.label}: unknown model, sent as asked"
    parts = [_structured(info)]
    if info.supports_tools and "tool_choice" not in info.supported_parameters:
        parts.append("tool_choice asked in words")
    if info.max_completion_tokens:
        parts.append(f"max_tokens <= {info.max_completion_tokens:,}")
    if rejects_prefill(link):
        parts.append("assistant prefill dropped")
    body = link_payload(chain, [link], list(_PROBE), {})
    adapted = adapt_for([link], body, catalog, prompt_tokens=0).adapted
    for name, (sent, requested) in adapted.items():
        parts.append(f"params.{name} {requested!r} -> {'dropped' if sent is None else sent}")
    return f"  {link.label}: {'; '.join(parts)}"


def adaptation_lines(chain: FallbackChain, catalog: Catalog) -> list[str]:
    """One line per link: how requests are adapted to it."""
    return [
        "  adapted per link:",
        *(f"  {_link_line(chain, link, catalog)}" for link in chain.models),
    ]


def _is_paid(info: ModelInfo | None) -> bool:
    return info is not None and not info.is_free and (info.prompt_price or 0) >= 0


def budget_warnings(chain: FallbackChain, catalog: Catalog) -> list[str]:
    """``:free`` links falling back to paid ones; links ``max_cost`` rules out on their own."""
    warnings: list[str] = []
    for index, link in enumerate(chain.models):
        info = catalog.get(link.model)
        if not (link.model.endswith(":free") or (info is not None and info.is_free)):
            continue
        paid = [
            later.label for later in chain.models[index + 1 :] if _is_paid(catalog.get(later.model))
        ]
        if paid:
            cap = "set max_cost to cap them" if chain.max_cost is None else "max_cost caps them"
            warnings.append(
                f"{link.label} is free but falls back to paid links ({', '.join(paid)}): "
                f"when it is rate-limited, requests are billed ({cap})"
            )
            break
    if chain.max_cost is None:
        return warnings
    for link in chain.models:
        body = adapt_for([link], link_payload(chain, [link], list(_PROBE), {}), catalog, 0).body
        case = worst_case(Step(link.label, [link], body), catalog)
        if isinstance(case, str) or case.cost > chain.max_cost:
            why = case if isinstance(case, str) else f"worst case {usd(case.cost)}"
            warnings.append(
                f"{link.label}: {why}; max_cost {usd(chain.max_cost)} skips it "
                "unless requests set a smaller max_tokens"
            )
    return warnings
