"""The LangChain model profile of a chain: what every link guarantees, per the catalog.

Limits are the smallest over the links the catalog knows (``max_input_tokens`` is the
smallest context window, ``max_output_tokens`` the smallest completion ceiling); a
capability is ``True`` only when every link is known and has it. ``structured_output`` counts
a link without native structured outputs but with tools, because the chain serves a
json_schema request there through a forced tool call (see ``_adapt``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from langchain_core.language_models import ModelProfile

if TYPE_CHECKING:
    from langchain_openrouter_fallback._definition.catalog import Catalog, ModelInfo
    from langchain_openrouter_fallback._definition.chain import FallbackChain

__all__ = ["chain_profile"]


def _every(infos: list[ModelInfo | None], test: str) -> bool:
    return all(info is not None and bool(getattr(info, test)) for info in infos)


def chain_profile(chain: FallbackChain, catalog: Catalog) -> ModelProfile:
    """The profile a caller can rely on whichever link serves."""
    infos = [catalog.get(link.model) for link in chain.models]
    known = [info for info in infos if info is not None]
    profile = ModelProfile(
        text_inputs=True,
        text_outputs=True,
        image_inputs=_every(infos, "supports_vision"),
        image_url_inputs=_every(infos, "supports_vision"),
        tool_calling=_every(infos, "supports_tools"),
        tool_choice=all(i is not None and "tool_choice" in i.supported_parameters for i in infos),
        structured_output=all(
            i is not None and (i.supports_json_schema or i.supports_tools) for i in infos
        ),
        reasoning_output=_every(infos, "supports_reasoning"),
    )
    contexts = [i.context_length for i in known if i.context_length]
    if contexts:
        profile["max_input_tokens"] = min(contexts)
    outputs = [i.max_completion_tokens or i.context_length for i in known]
    if outputs and all(outputs):
        profile["max_output_tokens"] = min(o for o in outputs if o)
    return profile
