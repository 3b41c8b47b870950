"""Lazy module attributes (PEP 562) for packages built on this one, such as ``litellm_config``.

``__getattr__ = lazy_getattr(__name__, {"name": "_submodule"})`` imports a submodule the first
time one of its names is read, so importing the package stays light.
"""

from __future__ import annotations

from langchain_openrouter_fallback._lazy import lazy_getattr

__all__ = ["lazy_getattr"]
