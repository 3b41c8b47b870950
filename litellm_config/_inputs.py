"""Normalise what callers pass (a chain, a list, a mapping, file paths) into named chains."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TypeAlias

from langchain_openrouter_fallback import FallbackChain, OpenRouterFallbackError, load_chains

__all__ = ["ChainsInput", "LiteLLMConfigError", "collect_chains"]

ChainSource: TypeAlias = FallbackChain | str | Path
"""One chain, or a chain file (every chain in it)."""
ChainsInput: TypeAlias = ChainSource | Sequence[ChainSource] | Mapping[str, FallbackChain]
"""What the public functions accept: a chain, a file, a list of either, or name -> chain."""


class LiteLLMConfigError(OpenRouterFallbackError, ValueError):
    """The chains cannot be expressed as one LiteLLM configuration (e.g. names collide)."""


def _add(chains: dict[str, FallbackChain], chain: FallbackChain, source: str) -> None:
    if chain.name in chains and chains[chain.name] != chain:
        msg = f"{source}: two different chains are named {chain.name!r}"
        raise LiteLLMConfigError(msg)
    chains[chain.name] = chain


def collect_chains(chains: ChainsInput) -> dict[str, FallbackChain]:
    """Chains by name, in the order given; file paths are loaded (every chain in each file).

    Raises:
        LiteLLMConfigError: nothing was given, or two different chains share a name.
    """
    collected: dict[str, FallbackChain] = {}
    if isinstance(chains, Mapping):
        for name, chain in chains.items():
            named = chain if chain.name == name else chain.model_copy(update={"name": name})
            _add(collected, named, "chains")
    else:
        items = [chains] if isinstance(chains, FallbackChain | str | Path) else list(chains)
        for item in items:
            if isinstance(item, FallbackChain):
                _add(collected, item, "chains")
                continue
            for chain in load_chains(item).values():
                _add(collected, chain, str(item))
    if not collected:
        msg = "no chains given"
        raise LiteLLMConfigError(msg)
    return collected
