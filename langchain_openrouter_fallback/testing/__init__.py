"""Drill fallback chains in your own tests: fault helpers, the fault matrix, a LiteLLM proxy.

The pytest plugin (registered as ``langchain_openrouter_fallback`` through ``pytest11``,
module :mod:`langchain_openrouter_fallback.testing._plugin`) adds the fixtures
``openrouter_emulator`` (function scope), ``openrouter_emulator_session`` and
``openrouter_litellm_proxy``. This namespace holds what a test does with them::

    from langchain_openrouter_fallback import ChatOpenRouterFallback
    from langchain_openrouter_fallback.testing import fault_matrix, faults


    def test_primary_down(openrouter_emulator):
        openrouter_emulator.set_scenario(faults.status("openai/gpt-4o", 503))
        llm = ChatOpenRouterFallback(
            chain="chains.yaml", base_url=openrouter_emulator.base_url, api_key="test"
        )
        assert llm.invoke("hi").response_metadata["fallback"]["served_by"] != "primary"


    @pytest.mark.parametrize("case", fault_matrix("chains.yaml"), ids=str)
    def test_every_fault(case, openrouter_emulator):
        case.drill(openrouter_emulator)  # AssertionError: fault, link, attempt table

``faults`` holds one helper per fault family (``status``, ``hang``, ``keepalives_only``,
``reset``, ``cut_before_content``, ``cut_after_content``, ``inband_error``, ``malformed``,
``reasoning_then_break``) and ``scenario`` to combine them. Names load on first access.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from langchain_openrouter_fallback._lazy import lazy_getattr

if TYPE_CHECKING:
    from langchain_openrouter_fallback.testing import _faults as faults
    from langchain_openrouter_fallback.testing._matrix import (
        FAMILIES,
        FaultCase,
        Observed,
        fault_matrix,
    )
    from langchain_openrouter_fallback.testing._proxy import LiteLLMProxy

__all__ = ["FAMILIES", "FaultCase", "LiteLLMProxy", "Observed", "fault_matrix", "faults"]

_lazy = lazy_getattr(
    __name__,
    {
        "FAMILIES": "_matrix",
        "FaultCase": "_matrix",
        "LiteLLMProxy": "_proxy",
        "Observed": "_matrix",
        "fault_matrix": "_matrix",
    },
)


def __getattr__(name: str) -> object:
    if name == "faults":
        from langchain_openrouter_fallback.testing import _faults  # noqa: PLC0415

        return _faults
    return _lazy(name)
