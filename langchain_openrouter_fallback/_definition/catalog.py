"""Model capabilities from OpenRouter's ``/api/v1/models``.

The package ships a real snapshot (``data/models-snapshot.json``). ``openrouter-fallback
catalog refresh`` writes a newer one to the user cache, which then takes precedence;
``OPENROUTER_FALLBACK_CATALOG`` points at any other file.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

__all__ = ["Catalog", "ModelInfo", "default_cache_path", "load_catalog"]

CATALOG_ENV = "OPENROUTER_FALLBACK_CATALOG"
_VARIANT_SEP = ":"


def default_cache_path() -> Path:
    """Where ``catalog refresh`` writes by default (XDG cache dir)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "langchain-openrouter-fallback" / "models.json"


def _price(pricing: dict[str, Any], key: str) -> float | None:
    raw = pricing.get(key)
    try:
        return float(raw) if raw is not None else None
    except (TypeError, ValueError):
        return None


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """What the catalog knows about one model id."""

    id: str
    name: str
    context_length: int | None
    max_completion_tokens: int | None
    input_modalities: frozenset[str]
    supported_parameters: frozenset[str]
    prompt_price: float | None
    """USD per prompt token (``-1`` for routers such as ``openrouter/auto``)."""
    completion_price: float | None
    """USD per completion token."""
    canonical_slug: str | None = None
    is_moderated: bool = False
    _capabilities: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Read on every planned request; computed once per catalog entry.
        flags = {
            "tools": self.supports_tools,
            "json_schema": self.supports_json_schema,
            "json_mode": self.supports_json_mode,
            "vision": self.supports_vision,
            "reasoning": self.supports_reasoning,
        }
        capabilities = frozenset(name for name, ok in flags.items() if ok)
        object.__setattr__(self, "_capabilities", capabilities)

    @property
    def supports_tools(self) -> bool:
        """Whether the model accepts ``tools``."""
        return "tools" in self.supported_parameters

    @property
    def supports_json_schema(self) -> bool:
        """Whether ``response_format: json_schema`` (structured outputs) is supported."""
        return "structured_outputs" in self.supported_parameters

    @property
    def supports_json_mode(self) -> bool:
        """Whether ``response_format`` (JSON mode) is accepted."""
        return "response_format" in self.supported_parameters or self.supports_json_schema

    @property
    def supports_vision(self) -> bool:
        """Whether images are accepted as input."""
        return "image" in self.input_modalities

    @property
    def supports_reasoning(self) -> bool:
        """Whether the ``reasoning`` parameter is accepted."""
        return "reasoning" in self.supported_parameters

    @property
    def is_free(self) -> bool:
        """Whether both prompt and completion are free."""
        return self.prompt_price == 0 and self.completion_price == 0

    def capabilities(self) -> frozenset[str]:
        """Capability names as used by a chain's ``requires``."""
        return self._capabilities

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float | None:
        """USD cost of a call, from catalog prices (``None`` when unpriced)."""
        if self.prompt_price is None or self.completion_price is None:
            return None
        if self.prompt_price < 0 or self.completion_price < 0:
            return None
        return prompt_tokens * self.prompt_price + completion_tokens * self.completion_price

    @classmethod
    def from_api(cls, raw: dict[str, Any]) -> ModelInfo:
        """Build from one item of ``/models``' ``data``."""
        arch = raw.get("architecture") or {}
        top = raw.get("top_provider") or {}
        pricing = raw.get("pricing") or {}
        return cls(
            id=str(raw["id"]),
            name=str(raw.get("name") or raw["id"]),
            context_length=raw.get("context_length") or top.get("context_length"),
            max_completion_tokens=top.get("max_completion_tokens"),
            input_modalities=frozenset(arch.get("input_modalities") or ["text"]),
            supported_parameters=frozenset(raw.get("supported_parameters") or []),
            prompt_price=_price(pricing, "prompt"),
            completion_price=_price(pricing, "completion"),
            canonical_slug=raw.get("canonical_slug"),
            is_moderated=bool(top.get("is_moderated")),
        )


class Catalog:
    """A set of :class:`ModelInfo` keyed by model id, plus the raw ``/models`` items."""

    def __init__(
        self,
        raw_models: list[dict[str, Any]],
        *,
        source: str = "<memory>",
        document: dict[str, Any] | None = None,
    ) -> None:
        """Wrap the ``data`` list of a ``/models`` response (``document``: the whole response)."""
        self.source = source
        self._raw = raw_models
        self._document = document
        self._models = {m.id: m for m in map(ModelInfo.from_api, raw_models)}
        self.tracked_parameters = frozenset(
            p for m in self._models.values() for p in m.supported_parameters
        )
        """Every request parameter some model lists: the fields the catalog can judge."""
        self.listed_variants = frozenset(
            m.partition(_VARIANT_SEP)[2] for m in self._models if _VARIANT_SEP in m
        )
        """Variants (``free``...) the catalog lists as models of their own, with own prices."""

    def __repr__(self) -> str:
        return f"Catalog(models={len(self._models)}, source={self.source!r})"

    def __contains__(self, model_id: object) -> bool:
        return isinstance(model_id, str) and self.get(model_id) is not None

    def __len__(self) -> int:
        return len(self._models)

    @property
    def raw_models(self) -> list[dict[str, Any]]:
        """The ``/models`` items as OpenRouter returned them."""
        return self._raw

    @property
    def document(self) -> dict[str, Any]:
        """The whole ``/models`` response, top-level keys beside ``data`` included."""
        return self._document if self._document is not None else {"data": self._raw}

    @classmethod
    def from_document(cls, document: Any, *, source: str) -> Catalog:
        """Wrap a parsed ``/models`` response; ``ValueError`` naming ``source`` if it is not one."""
        if not isinstance(document, dict) or not isinstance(document.get("data"), list):
            msg = f"{source}: not a /models response (expected an object with a `data` list)"
            raise ValueError(msg)  # noqa: TRY004 - a malformed document is a value error
        return cls(document["data"], source=source, document=document)

    def unlisted_variant(self, model_id: str) -> str | None:
        """The variant of ``model_id`` if the catalog lists it for other models, not this one.

        ``free`` for ``openai/gpt-4o:free`` when other ``:free`` models are listed: the base
        model's entry (and price) does not describe it.
        """
        base, _, variant = model_id.partition(_VARIANT_SEP)
        if not variant or model_id in self._models or base not in self._models:
            return None
        return variant if variant in self.listed_variants else None

    def get(self, model_id: str) -> ModelInfo | None:
        """Look a model up; a variant (``:nitro``) falls back to its base id."""
        found = self._models.get(model_id)
        if found is None and _VARIANT_SEP in model_id:
            found = self._models.get(model_id.split(_VARIANT_SEP, 1)[0])
        return found

    @classmethod
    def from_file(cls, path: str | Path) -> Catalog:
        """Load a saved ``/models`` response."""
        text = Path(path).read_text(encoding="utf-8")
        return cls.from_document(json.loads(text), source=str(path))

    @classmethod
    def bundled(cls) -> Catalog:
        """The snapshot shipped with the package."""
        ref = resources.files("langchain_openrouter_fallback") / "data" / "models-snapshot.json"
        return cls.from_document(
            json.loads(ref.read_text(encoding="utf-8")), source="bundled snapshot"
        )


@cache
def _load(path: str | None) -> Catalog:
    return Catalog.from_file(path) if path else Catalog.bundled()


def load_catalog() -> Catalog:
    """The catalog in effect: env override, then the user cache, then the bundled snapshot."""
    override = os.environ.get(CATALOG_ENV)
    if override:
        return _load(override)
    cached = default_cache_path()
    return _load(str(cached) if cached.is_file() else None)
