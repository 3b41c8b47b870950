"""Per-request decisions, free of I/O, for add-ons that reproduce them (``litellm_config``).

Which links each attempt sends (:func:`step_groups`) and how a request is adapted to what a
link accepts per the catalog (:func:`adapt_for`), exactly as the chat model decides them.
"""

from __future__ import annotations

from langchain_openrouter_fallback._adapt import Adaptation
from langchain_openrouter_fallback._plan import adapt_for, step_groups

__all__ = ["Adaptation", "adapt_for", "step_groups"]
