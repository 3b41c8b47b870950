"""Stops a generated proxy from starting without ``LITELLM_MASTER_KEY``.

Generated configs that require a master key load it by import path::

    litellm_settings:
      callbacks: [litellm_config.served_model.handler, litellm_config.master_key.guard]

Why (litellm 1.103.7, ``proxy_server.py``): ``master_key: os.environ/LITELLM_MASTER_KEY``
resolves to ``None`` when the variable is unset, and the proxy then serves every request
without authentication, logging only a CRITICAL line. The proxy resolves callbacks at start-up
(``initialize_callbacks_on_proxy`` -> ``get_instance_fn``), so looking ``guard`` up raises
there and the proxy exits instead. It does nothing per request.

This module imports litellm; nothing else in ``litellm_config`` imports it.
"""

from __future__ import annotations

import os

from litellm.integrations.custom_logger import CustomLogger

__all__ = ["MISSING_KEY", "RequireMasterKey"]

MISSING_KEY = (
    "LITELLM_MASTER_KEY is not set: this generated config requires it, and without it LiteLLM "
    "would serve everyone. Set it, or regenerate with `openrouter-fallback litellm "
    "--no-master-key` for an open proxy."
)


class RequireMasterKey(CustomLogger):
    """A no-op callback whose lookup (``guard``) checks the environment."""


def __getattr__(name: str) -> RequireMasterKey:
    """``guard``: a :class:`RequireMasterKey`, or ``RuntimeError`` when the key is unset."""
    if name != "guard":
        msg = f"module {__name__!r} has no attribute {name!r}"
        raise AttributeError(msg)
    if not os.environ.get("LITELLM_MASTER_KEY", "").strip():
        raise RuntimeError(MISSING_KEY)
    return RequireMasterKey()
