"""OpenRouter's ``provider`` routing preferences, validated against the real field set.

OpenRouter rejects unknown keys in ``provider``, so this model does too.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, NonNegativeFloat

__all__ = ["MaxPrice", "Percentiles", "ProviderPreferences", "ProviderSort"]

Quantization = Literal[
    "int4",
    "int8",
    "fp4",
    "mxfp4",
    "nvfp4",
    "fp6",
    "fp8",
    "mxfp8",
    "fp16",
    "bf16",
    "fp32",
    "unknown",
]
SortBy = Literal["price", "throughput", "latency", "exacto"]


class _Strict(BaseModel):
    # Attribute docstrings become the JSON Schema's descriptions (editors, the docs' reference);
    # OpenRouter reads JSON, which has no infinity or NaN.
    model_config = ConfigDict(
        extra="forbid", frozen=True, use_attribute_docstrings=True, allow_inf_nan=False
    )


class ProviderSort(_Strict):
    """``provider.sort`` in its object form."""

    by: SortBy
    """What providers are sorted by."""
    partition: Literal["model", "none"] | None = None
    """``model``: sort within each model of ``models``; ``none``: across all of them."""


class Percentiles(_Strict):
    """Latency or throughput targets per percentile."""

    p50: NonNegativeFloat | None = None
    p75: NonNegativeFloat | None = None
    p90: NonNegativeFloat | None = None
    p99: NonNegativeFloat | None = None


class MaxPrice(_Strict):
    """Hard price ceilings, USD per million tokens (``request``: per request)."""

    prompt: NonNegativeFloat | None = None
    completion: NonNegativeFloat | None = None
    image: NonNegativeFloat | None = None
    audio: NonNegativeFloat | None = None
    request: NonNegativeFloat | None = None


class ProviderPreferences(_Strict):
    """OpenRouter ``provider`` object: which upstream providers may serve, in which order."""

    order: list[str] | None = Field(default=None, min_length=1)
    """Providers to try first, in order (slugs or display names)."""
    allow_fallbacks: bool | None = None
    """Whether other providers may serve when those in ``order`` fail (OpenRouter: true)."""
    require_parameters: bool | None = None
    """Only providers that support every request parameter (OpenRouter: false)."""
    data_collection: Literal["allow", "deny"] | None = None
    """``deny``: only providers that do not store or train on prompts."""
    zdr: bool | None = None
    """Only zero-data-retention endpoints."""
    enforce_distillable_text: bool | None = None
    """Only models whose output may be used for distillation."""
    only: list[str] | None = Field(default=None, min_length=1)
    """The only providers that may serve."""
    ignore: list[str] | None = None
    """Providers that must not serve."""
    quantizations: list[Quantization] | None = None
    """Only endpoints with these quantizations."""
    sort: SortBy | ProviderSort | None = None
    """Sort providers by price, throughput or latency instead of OpenRouter's balancing."""
    preferred_min_throughput: NonNegativeFloat | Percentiles | None = None
    """Tokens per second to prefer (a number, or targets per percentile)."""
    preferred_max_latency: NonNegativeFloat | Percentiles | None = None
    """Seconds to first token to prefer (a number, or targets per percentile)."""
    max_price: MaxPrice | None = None
    """Hard price ceilings: providers above them never serve."""

    def to_payload(self) -> dict[str, Any]:
        """The JSON object sent as ``provider`` (unset fields omitted)."""
        return self.model_dump(exclude_none=True, mode="json")

    def pinned_providers(self) -> frozenset[str] | None:
        """The only providers that may serve, when the preferences pin them; else ``None``."""
        if self.only:
            return frozenset(p.lower() for p in self.only)
        if self.order and self.allow_fallbacks is False:
            return frozenset(p.lower() for p in self.order)
        return None
