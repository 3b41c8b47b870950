"""Issue 26: the pieces of limits that learn, without I/O: spelling, histogram, budget."""

from __future__ import annotations

import math

import pytest

from langchain_openrouter_fallback import AutoLimit, FallbackChain, example_path
from langchain_openrouter_fallback._cli.report import auto_summary
from langchain_openrouter_fallback._decisions.hedge_budget import WINDOW, HedgeBudgets
from langchain_openrouter_fallback._decisions.learned import (
    MAX_WEIGHT,
    Histogram,
    bucket_of,
    bucket_upper,
    learned_limit,
)
from langchain_openrouter_fallback.definition import attempt_limits


def chain(**fields: object) -> FallbackChain:
    return FallbackChain.model_validate(
        {"models": ["openai/gpt-4o-mini", "anthropic/claude-haiku-4.5"], **fields}
    )


def test_auto_is_accepted_as_written_and_round_trips():
    """``first_token_timeout: auto`` and the block form load, and dump back as written."""
    doc = {
        "first_token_timeout": "auto",
        "models": [
            {"model": "openai/gpt-4o-mini", "stall_timeout": {"auto": {"cold": 20, "floor": 2}}},
            "anthropic/claude-haiku-4.5",
        ],
        "hedge": {"after": "auto", "budget": 0.1},
    }
    loaded = FallbackChain.model_validate(doc)
    assert AutoLimit() == loaded.first_token_timeout
    dumped = loaded.model_dump(mode="json", exclude_defaults=True)
    assert "auto" == dumped["first_token_timeout"]
    assert {"auto": {"cold": 20.0, "floor": 2.0}} == dumped["models"][0]["stall_timeout"]
    assert {"after": "auto", "budget": 0.1} == dumped["hedge"]
    assert loaded == FallbackChain.model_validate(dumped)


def test_precedence_and_the_cold_value():
    """Link > chain > chat model > default; an auto limit's cold value is the next number down."""
    c = chain(first_token_timeout="auto", timeout=20)
    limits = attempt_limits(c.models[:1], chain=c, first_token=7)
    assert {"timeout": "chain", "first_token": "chain", "stall": "default"} == dict(limits.sources)
    assert 7.0 == limits.first_token == limits.auto["first_token"].cold
    assert 120.0 == limits.ceiling("first_token")
    assert 20.0 == limits.ceiling("timeout")
    bare = attempt_limits(c.models[:1], chain=c)
    assert 15.0 == bare.first_token  # the built-in default is the cold start


def test_a_low_ceiling_lowers_the_default_floor():
    spec = AutoLimit(ceiling=0.4).settled(15)
    assert (0.4, 0.4) == (spec.floor, spec.ceiling)
    with pytest.raises(ValueError, match="floor 5 is above ceiling 2"):
        AutoLimit(floor=5, ceiling=2)


def test_a_bucket_overstates_by_at_most_nine_percent():
    for seconds in (0.001, 0.0137, 0.3, 1.7, 59.0, 3600.0):
        upper = bucket_upper(bucket_of(seconds))
        assert seconds <= upper * 1.000001 <= seconds * 1.0906 + 0.001


def test_the_histogram_stays_bounded_and_leans_to_recent_times():
    """Counts halve past MAX_WEIGHT: old fast answers fade once slow ones dominate."""
    histogram = Histogram()
    for _ in range(MAX_WEIGHT):
        histogram.add(0.1)
    for _ in range(3 * MAX_WEIGHT):
        histogram.add(2.0)
    assert histogram.weight <= MAX_WEIGHT
    assert len(histogram.counts) == 2
    median = histogram.quantile(0.5)
    assert median is not None
    assert median >= 2.0


def test_learned_limit_is_cold_until_enough_then_clamped():
    spec = AutoLimit(min_samples=3).settled(15)
    histogram = Histogram()
    assert (15.0, "cold", 0) == learned_limit(spec, histogram)
    for seconds in (0.2, 0.3, 0.25):
        histogram.add(seconds)
    assert (1.0, "learned", 3) == learned_limit(spec, histogram)  # 0.3 x 1.5 is below the floor
    for _ in range(100):
        histogram.add(300)
    assert (120.0, "learned", 103) == learned_limit(spec, histogram)


def test_the_hedge_budget_is_a_sliding_window_of_requests_per_chain():
    """Of any n consecutive requests (n up to the window) at most ceil(budget x n) hedge."""
    budgets = HedgeBudgets()
    taken = []
    for _ in range(250):
        ticket = budgets.request("a")
        taken.append(budgets.take("a", ticket, 0.1))
    assert 25 == sum(taken)
    for n in range(1, WINDOW + 1):
        for start in range(len(taken) - n + 1):
            assert sum(taken[start : start + n]) <= math.ceil(0.1 * n - 1e-9)
    assert [0, 10, 20] == [i for i, t in enumerate(taken) if t][:3]
    assert (10, WINDOW) == budgets.hedged("a")
    other = budgets.request("b")
    assert budgets.take("b", other, 0.1)  # another chain has its own window


def test_many_requests_in_flight_share_the_budget_without_losing_it():
    """25 requests start at once, then all want a hedge: ceil(0.1 x 25) = 3 may."""
    budgets = HedgeBudgets()
    tickets = [budgets.request("a") for _ in range(25)]
    assert 3 == sum(budgets.take("a", ticket, 0.1) for ticket in tickets)


def test_validate_names_the_learned_limits_of_the_example():
    example = FallbackChain.from_file(example_path("chains/learned-limits.yaml"))
    summary = auto_summary(example)
    assert "primary first_token_timeout (cold 15 s, 1-120 s)" in summary
    assert "secondary first_token_timeout (cold 20 s, 2-60 s)" in summary
    assert "last-resort stall_timeout (cold 10 s, 1-120 s)" in summary
    assert "hedge.after" in summary
