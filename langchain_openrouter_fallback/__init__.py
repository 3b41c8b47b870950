"""One fallback chain for OpenRouter: request payloads, a LangChain chat model, a LiteLLM config.

Quick start::

    from langchain_openrouter_fallback import ChatOpenRouterFallback, FallbackChain

    chain = FallbackChain.from_file("chains.yaml")
    chain.openrouter_payloads([("user", "hi")])  # OpenRouter's server-side fallback bodies
    llm = ChatOpenRouterFallback(chain=chain)  # runs the chain attempt by attempt

Public names load on first access, so ``from langchain_openrouter_fallback import
FallbackChain`` (and the command line) never pays for LangChain or httpx.
:mod:`langchain_openrouter_fallback.wire` (also ``langchain_openrouter_fallback.wire``
as an attribute) is the public wire engine other runtimes plug into; it loads no LangChain.
:mod:`langchain_openrouter_fallback.telemetry` reports requests and attempts to OpenTelemetry
when ``opentelemetry-api`` is installed.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from langchain_openrouter_fallback._lazy import lazy_getattr

if TYPE_CHECKING:
    from langchain_openrouter_fallback import telemetry, wire
    from langchain_openrouter_fallback._attempts import Attempt
    from langchain_openrouter_fallback._definition.attempt_limits import AutoLimit
    from langchain_openrouter_fallback._definition.catalog import Catalog, ModelInfo, load_catalog
    from langchain_openrouter_fallback._definition.chain import (
        BreakerPolicy,
        FallbackChain,
        HedgePolicy,
        Link,
        Requirements,
        RetryPolicy,
    )
    from langchain_openrouter_fallback._definition.examples import example_path
    from langchain_openrouter_fallback._definition.loader import load_chains
    from langchain_openrouter_fallback._definition.provider import ProviderPreferences
    from langchain_openrouter_fallback._errors import (
        ChainValidationError,
        ErrorKind,
        FallbacksExhaustedError,
        OpenRouterFallbackError,
        StreamInterruptedError,
        UnrecoverableError,
        classify,
    )
    from langchain_openrouter_fallback.chat_models import ChatOpenRouterFallback

__all__ = [
    "Attempt",
    "AutoLimit",
    "BreakerPolicy",
    "Catalog",
    "ChainValidationError",
    "ChatOpenRouterFallback",
    "ErrorKind",
    "FallbackChain",
    "FallbacksExhaustedError",
    "HedgePolicy",
    "Link",
    "ModelInfo",
    "OpenRouterFallbackError",
    "ProviderPreferences",
    "Requirements",
    "RetryPolicy",
    "StreamInterruptedError",
    "UnrecoverableError",
    "classify",
    "example_path",
    "load_catalog",
    "load_chains",
    "telemetry",
    "wire",
]

# Public name -> the private module defining it (imported on first access).
_HOMES: dict[str, str] = {
    "Attempt": "_attempts",
    "AutoLimit": "_definition.attempt_limits",
    "BreakerPolicy": "_definition.chain",
    "Catalog": "_definition.catalog",
    "ChainValidationError": "_errors",
    "ChatOpenRouterFallback": "chat_models",
    "ErrorKind": "_errors",
    "FallbackChain": "_definition.chain",
    "FallbacksExhaustedError": "_errors",
    "HedgePolicy": "_definition.chain",
    "Link": "_definition.chain",
    "ModelInfo": "_definition.catalog",
    "OpenRouterFallbackError": "_errors",
    "ProviderPreferences": "_definition.provider",
    "Requirements": "_definition.chain",
    "RetryPolicy": "_definition.chain",
    "StreamInterruptedError": "_errors",
    "UnrecoverableError": "_errors",
    "classify": "_errors",
    "example_path": "_definition.examples",
    "load_catalog": "_definition.catalog",
    "load_chains": "_definition.loader",
}


_lazy_getattr = lazy_getattr(__name__, _HOMES)


def __getattr__(name: str) -> Any:
    if name in ("wire", "telemetry"):
        return importlib.import_module(f"{__name__}.{name}")
    if name == "__version__":
        from importlib.metadata import version  # noqa: PLC0415

        return version("langchain-openrouter-fallback")
    return _lazy_getattr(name)


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
