"""Drill a fault case in this process: ``ChatOpenRouterFallback`` against an emulator."""

from __future__ import annotations

from typing import TYPE_CHECKING

from langchain_openrouter_fallback._attempts import Attempt, describe_attempts
from langchain_openrouter_fallback._cli.drill import DrillReport, link_stats, one_request
from langchain_openrouter_fallback.chat_models import ChatOpenRouterFallback
from langchain_openrouter_fallback.testing._matrix import observe

if TYPE_CHECKING:
    from langchain_openrouter_fallback.emulator import Emulator
    from langchain_openrouter_fallback.testing._matrix import FaultCase, Observed

__all__ = ["DRILL_KEY", "drill_in_process"]

DRILL_KEY = "drill-key-not-secret"
"""The bearer key sent to the emulator (it accepts any)."""


def drill_in_process(case: FaultCase, emulator: Emulator) -> Observed:
    """One request of ``case`` through a fresh chat model (its own circuits, all closed)."""
    emulator.set_scenario(case.scenario)
    emulator.clear_log()
    llm = ChatOpenRouterFallback(
        chain=case.chain, base_url=emulator.base_url, api_key=DRILL_KEY, private_breakers=True
    )
    stream = case.method == "stream"
    result = one_request(llm, stream=stream)
    chain = case.chain
    fault = f"{case.label}={case.fault}"
    report = DrillReport(chain.name, chain.mode, "emulator", stream, [fault], [result])
    report.links = link_stats(chain, [result])
    listing = describe_attempts([Attempt(**attempt) for attempt in result.attempts])
    return observe(
        report,
        emulator.log,
        interrupted=result.error == "StreamInterruptedError",
        detail=f"  attempts:\n{listing}" if listing else "",
    )
