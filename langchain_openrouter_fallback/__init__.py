"""One fallback chain for OpenRouter: request payloads, a LangChain chat model, a LiteLLM config.

Quick start::

    from langchain_openrouter_fallback import ChatOpenRouterFallback, FallbackChain

    chain = FallbackChain.from_file("chains.yaml")
    chain.openrouter_payloads([("user", "hi")])  # OpenRouter's server-side fallback bodies
    llm = ChatOpenRouterFallback(chain=chain)  # runs the chain attempt by attempt
"""

from __future__ import annotations

from typing import Any

from langchain_openrouter_fallback._attempts import Attempt
from langchain_openrouter_fallback._catalog import Catalog, ModelInfo, load_catalog
from langchain_openrouter_fallback._chain import (
    BreakerPolicy,
    FallbackChain,
    HedgePolicy,
    Link,
    Requirements,
    RetryPolicy,
)
from langchain_openrouter_fallback._errors import (
    ChainValidationError,
    ErrorKind,
    FallbacksExhaustedError,
    OpenRouterFallbackError,
    StreamInterruptedError,
    UnrecoverableError,
    classify,
)
from langchain_openrouter_fallback._examples import example_path
from langchain_openrouter_fallback._loader import load_chains
from langchain_openrouter_fallback._provider import ProviderPreferences
from langchain_openrouter_fallback.chat_models import ChatOpenRouterFallback

__all__ = [
    "Attempt",
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
]


def __getattr__(name: str) -> Any:
    if name == "__version__":
        from importlib.metadata import version  # noqa: PLC0415

        return version("langchain-openrouter-fallback")
    msg = f"module {__name__!r} has no attribute {name!r}"
    raise AttributeError(msg)
