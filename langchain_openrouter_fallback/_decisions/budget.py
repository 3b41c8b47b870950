"""A chain's ``max_cost``: the worst case of an attempt before it is sent, and what was spent.

The worst case of an attempt is its estimated prompt tokens times the catalog's prompt price
plus its maximum output tokens (``max_tokens`` as sent, else the link's ceiling) times the
completion price; server-mode groups take the dearest model. A link whose price the catalog
does not know (or that is a router, priced ``-1``) cannot be proven to fit and is skipped.
What was spent is the ``usage.cost`` OpenRouter reports for each attempt.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from langchain_openrouter_fallback._attempts import reported_cost
from langchain_openrouter_fallback._decisions.money import usd
from langchain_openrouter_fallback._decisions.plan import estimate_tokens

if TYPE_CHECKING:
    from langchain_openrouter_fallback._decisions.plan import Step
    from langchain_openrouter_fallback._definition.catalog import Catalog, ModelInfo

__all__ = ["Budget", "WorstCase", "reported_cost", "worst_case"]

_PER_M = 1e6


@dataclass(frozen=True, slots=True)
class WorstCase:
    """The most one attempt can cost, and how that figure was reached."""

    cost: float
    prompt_tokens: int
    output_tokens: int
    prompt_price: float
    completion_price: float

    def explain(self, left: float, ceiling: float) -> str:
        """Why an attempt with this worst case is not sent."""
        return (
            f"worst case {usd(self.cost)} (~{self.prompt_tokens} prompt tokens x "
            f"${self.prompt_price * _PER_M:g}/M + {self.output_tokens} output tokens x "
            f"${self.completion_price * _PER_M:g}/M) exceeds the {usd(max(left, 0))} left "
            f"of max_cost {usd(ceiling)}"
        )


def _output_tokens(body: dict[str, Any], info: ModelInfo, prompt: int) -> int | None:
    asked = body.get("max_tokens") or body.get("max_completion_tokens")
    if isinstance(asked, int) and not isinstance(asked, bool):
        return asked
    if info.max_completion_tokens:
        return info.max_completion_tokens
    return info.context_length - prompt if info.context_length else None


def worst_case(step: Step, catalog: Catalog) -> WorstCase | str:
    """The step's worst case, or why it cannot be known."""
    prompt = estimate_tokens(step.body.get("messages") or [], step.body.get("tools"))
    cases: list[WorstCase] = []
    for link in step.links:
        info = catalog.get(link.model)
        if info is None:
            return f"{link.model} is not in the catalog: its price is unknown"
        output = _output_tokens(step.body, info, prompt)
        cost = info.cost(prompt, output or 0)
        if cost is None or output is None:
            return f"{link.model} has no known price or output limit in the catalog"
        cases.append(
            WorstCase(cost, prompt, output, info.prompt_price or 0, info.completion_price or 0)
        )
    return max(cases, key=lambda case: case.cost)


class Budget:
    """What one request may still spend under ``max_cost`` (``None``: no ceiling)."""

    def __init__(self, ceiling: float | None, catalog: Catalog) -> None:
        """Start with nothing spent."""
        self.ceiling = ceiling
        self._catalog = catalog
        self._spent: float | None = None
        self._reserved = 0.0
        """Worst cases of attempts running now (hedges run several at once)."""

    @property
    def spent(self) -> float | None:
        """The reported cost of every attempt so far (``None``: none reported one)."""
        return self._spent

    def admit(self, step: Step) -> tuple[str | None, float]:
        """Why ``step`` may not be sent (``None``: it fits), and the worst case it reserves."""
        if self.ceiling is None:
            return None, 0.0
        case = worst_case(step, self._catalog)
        if isinstance(case, str):
            return f"max_cost {usd(self.ceiling)} set and {case}", 0.0
        left = self.ceiling - (self._spent or 0.0) - self._reserved
        if case.cost > left:
            return case.explain(left, self.ceiling), 0.0
        self._reserved += case.cost
        return None, case.cost

    def settle(self, reserved: float, cost: float | None) -> None:
        """An attempt ended: release its reservation and count what it reported."""
        self._reserved = max(0.0, self._reserved - reserved)
        if cost is not None:
            self._spent = (self._spent or 0.0) + cost
