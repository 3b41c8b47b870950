"""Per-request decisions, free of I/O, for add-ons that reproduce them (``litellm_config``).

Which links each attempt sends (:func:`step_groups`), how a request is adapted to what a
link accepts per the catalog (:func:`adapt_for`), and the structured-output route a link gets
(:func:`structured_output_route`), whether an answer passes the chain's ``accept`` checks
(:func:`reject`, on the :class:`Answer` that ``wire.AttemptReader.answer`` collects), and what
an ``auto`` limit is now (:func:`limits_now`, from a :class:`LatencyBook` of what each upstream's
successful attempts took, keyed by :func:`circuit_key`; :func:`observed` is what an attempt
that served teaches, and :data:`LIMIT_METRIC` which observation teaches which limit), exactly
as the chat model decides them; and how the budget's messages show an amount of USD
(:func:`usd`).
"""

from __future__ import annotations

from langchain_openrouter_fallback._decisions.accept import (
    CHECKS,
    GUARD_CHECKS,
    PRE_CONTENT_CHECKS,
    Answer,
    CheckName,
    Rejection,
    reject,
)
from langchain_openrouter_fallback._decisions.adapt import (
    Adaptation,
    CatalogLimits,
    StructuredOutputRoute,
    structured_output_route,
)
from langchain_openrouter_fallback._decisions.health import circuit_key
from langchain_openrouter_fallback._decisions.learned import (
    LIMIT_METRIC,
    Histogram,
    LatencyBook,
    Metric,
    learned_limit,
    limits_now,
    observed,
)
from langchain_openrouter_fallback._decisions.money import usd
from langchain_openrouter_fallback._decisions.plan import adapt_for, step_groups

__all__ = [
    "CHECKS",
    "GUARD_CHECKS",
    "LIMIT_METRIC",
    "PRE_CONTENT_CHECKS",
    "Adaptation",
    "Answer",
    "CatalogLimits",
    "CheckName",
    "Histogram",
    "LatencyBook",
    "Metric",
    "Rejection",
    "StructuredOutputRoute",
    "adapt_for",
    "circuit_key",
    "learned_limit",
    "limits_now",
    "observed",
    "reject",
    "step_groups",
    "structured_output_route",
    "usd",
]
