"""The chain definition's building blocks, for add-ons that read a chain (``litellm_config``).

What a chain means without running it: how links group into server-mode requests, how
parameter layers merge, which URLs can be an endpoint, and the time limits each attempt runs
under (the chat model's defaults included). The chain models themselves
(:class:`FallbackChain`, :class:`Link`, policies) are exported from the package root.
"""

from __future__ import annotations

from langchain_openrouter_fallback._definition.attempt_limits import (
    DEFAULT_ATTEMPT_TIMEOUT,
    DEFAULT_FIRST_TOKEN_TIMEOUT,
    DEFAULT_STALL_TIMEOUT,
    LIMIT_NAMES,
    AttemptLimits,
    AutoLimit,
    attempt_limits,
    field_name,
)
from langchain_openrouter_fallback._definition.endpoint import http_url, url_problem
from langchain_openrouter_fallback._definition.payload import (
    MAX_MODELS_PER_REQUEST,
    group_links,
    merge_params,
)

__all__ = [
    "DEFAULT_ATTEMPT_TIMEOUT",
    "DEFAULT_FIRST_TOKEN_TIMEOUT",
    "DEFAULT_STALL_TIMEOUT",
    "LIMIT_NAMES",
    "MAX_MODELS_PER_REQUEST",
    "AttemptLimits",
    "AutoLimit",
    "attempt_limits",
    "field_name",
    "group_links",
    "http_url",
    "merge_params",
    "url_problem",
]
