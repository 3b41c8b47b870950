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
    # OpenRouter reads JSON, which has no infinity or NaN.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class ProviderSort(_Strict):
    """``provider.sort`` in its object form."""

    by: SortBy
    partition: Literal["model", "none"] | None = None


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
    allow_fallbacks: bool | None = None
    require_parameters: bool | None = None
    data_collection: Literal["allow", "deny"] | None = None
    zdr: bool | None = None
    enforce_distillable_text: bool | None = None
    only: list[str] | None = Field(default=None, min_length=1)
    ignore: list[str] | None = None
    quantizations: list[Quantization] | None = None
    sort: SortBy | ProviderSort | None = None
    preferred_min_throughput: NonNegativeFloat | Percentiles | None = None
    preferred_max_latency: NonNegativeFloat | Percentiles | None = None
    max_price: MaxPrice | None = None

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
