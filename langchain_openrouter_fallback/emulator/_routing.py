"""Request validation and OpenRouter-style routing: candidate models and their providers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from langchain_openrouter_fallback._definition.catalog import Catalog, ModelInfo
    from langchain_openrouter_fallback.emulator._scenario import ModelBehaviour, Scenario

__all__ = [
    "PROVIDER_KEYS",
    "ModelRoute",
    "RequestError",
    "Router",
    "check_provider_prefs",
    "default_providers",
    "provider_slug",
]

MAX_MODELS = 3
PROVIDER_KEYS = frozenset(
    {
        "order",
        "allow_fallbacks",
        "require_parameters",
        "data_collection",
        "zdr",
        "enforce_distillable_text",
        "only",
        "ignore",
        "quantizations",
        "sort",
        "preferred_min_throughput",
        "preferred_max_latency",
        "max_price",
    }
)
_VENDOR_PROVIDERS = {
    "anthropic": ("Amazon Bedrock", "Anthropic", "Google Vertex"),
    "openai": ("OpenAI", "Azure"),
    "google": ("Google AI Studio", "Google Vertex"),
    "x-ai": ("xAI",),
    "mistralai": ("Mistral",),
    "deepseek": ("DeepInfra", "DeepSeek", "Chutes", "Friendli", "AtlasCloud"),
    "meta-llama": ("Groq", "Together", "DeepInfra"),
}
_OTHER_PROVIDERS = ("Together", "DeepInfra")
_ANTHROPIC_FINISH = {"stop": "end_turn", "tool_calls": "tool_use"}


class RequestError(Exception):
    """A request OpenRouter rejects before routing (HTTP 400)."""

    def __init__(self, message: str, status: int = 400) -> None:
        """Keep the OpenRouter message and status."""
        super().__init__(message)
        self.message = message
        self.status = status


def provider_slug(name: str) -> str:
    """OpenRouter's slug for a provider display name (``Amazon Bedrock`` -> ``amazon-bedrock``)."""
    return name.lower().replace(" ", "-")


def default_providers(model_id: str) -> tuple[str, ...]:
    """A deterministic provider list from the model's vendor prefix."""
    return _VENDOR_PROVIDERS.get(model_id.split("/", 1)[0], _OTHER_PROVIDERS)


@dataclass(frozen=True, slots=True)
class ModelRoute:
    """Everything the hot path needs about one candidate model, precomputed."""

    model: str
    served_as: str
    providers: tuple[str, ...]
    behaviour: ModelBehaviour | None
    context_length: int | None
    prompt_price: float
    completion_price: float
    native_finish: dict[str, str]


def _names(value: Any) -> set[str]:
    if not isinstance(value, list):
        return set()
    return {provider_slug(str(v)) for v in value}


def _order(providers: tuple[str, ...], prefs: dict[str, Any]) -> list[str]:
    order = [provider_slug(str(v)) for v in prefs.get("order") or []]
    if not order:
        return list(providers)
    by_slug = {provider_slug(p): p for p in providers}
    first = [by_slug[s] for s in order if s in by_slug]
    if prefs.get("allow_fallbacks", True) is False:
        return first
    return first + [p for p in providers if p not in first]


def _price_ok(route: ModelRoute, prefs: dict[str, Any]) -> bool:
    limits = prefs.get("max_price")
    if not isinstance(limits, dict):
        return True
    per_million = {"prompt": route.prompt_price * 1e6, "completion": route.completion_price * 1e6}
    return all(
        per_million[key] <= float(limits[key]) for key in per_million if limits.get(key) is not None
    )


class Router:
    """Resolves candidate models and filters their providers by ``provider`` preferences."""

    def __init__(self, scenario: Scenario, catalog: Catalog) -> None:
        """Precompute a :class:`ModelRoute` lazily per model id."""
        self._scenario = scenario
        self._catalog = catalog
        self._routes: dict[str, ModelRoute] = {}

    def route(self, model: str) -> ModelRoute | None:
        """The route of a model id, or ``None`` when neither catalog nor scenario knows it."""
        found = self._routes.get(model)
        if found is None:
            found = self._build(model)
            if found is not None:
                self._routes[model] = found
        return found

    def _build(self, model: str) -> ModelRoute | None:
        models = self._scenario.models
        info: ModelInfo | None = self._catalog.get(model)
        if info is None and model not in models:
            return None
        behaviour = models.get(model) or models.get("*")
        served_as = behaviour.served_as if behaviour else None
        providers = behaviour.providers if behaviour else None
        context = behaviour.context_length if behaviour else None
        if info is not None:
            served_as = served_as or info.canonical_slug
            context = context or info.context_length
        return ModelRoute(
            model=model,
            served_as=served_as or model,
            providers=tuple(providers or default_providers(model)),
            behaviour=behaviour,
            context_length=context,
            prompt_price=max(0.0, (info.prompt_price or 0.0) if info else 0.0),
            completion_price=max(0.0, (info.completion_price or 0.0) if info else 0.0),
            native_finish=_ANTHROPIC_FINISH if model.startswith("anthropic/") else {},
        )

    def candidates(self, body: dict[str, Any]) -> list[ModelRoute]:
        """``model`` then ``models`` (deduplicated), validated like OpenRouter does.

        Raises:
            RequestError: too many ``models``, no model at all, or an unknown model id.
        """
        extra = body.get("models") or []
        if not isinstance(extra, list):
            msg = "'models' must be an array of model IDs"
            raise RequestError(msg)
        if len(extra) > MAX_MODELS:
            msg = f"'models' array must have {MAX_MODELS} items or fewer."
            raise RequestError(msg)
        ids = list(dict.fromkeys([m for m in [body.get("model"), *extra] if m]))
        if not ids:
            msg = "No models provided"
            raise RequestError(msg)
        routes = []
        for model in ids:
            route = self.route(str(model))
            if route is None:
                msg = f"{model} is not a valid model ID"
                raise RequestError(msg)
            routes.append(route)
        return routes

    @staticmethod
    def providers(route: ModelRoute, prefs: dict[str, Any] | None) -> list[str]:
        """The providers this request may use for ``route``, in routing order."""
        if not prefs:
            return list(route.providers)
        if not _price_ok(route, prefs):
            return []
        only, ignore = _names(prefs.get("only")), _names(prefs.get("ignore"))
        return [
            p
            for p in _order(route.providers, prefs)
            if (not only or provider_slug(p) in only) and provider_slug(p) not in ignore
        ]


def check_provider_prefs(prefs: Any) -> dict[str, Any] | None:
    """Validate ``provider``: a mapping with known keys only.

    Raises:
        RequestError: not a mapping, or unknown keys (OpenRouter rejects them).
    """
    if prefs is None:
        return None
    if not isinstance(prefs, dict):
        msg = "Provider preferences must be an object"
        raise RequestError(msg)
    unknown = sorted(set(prefs) - PROVIDER_KEYS)
    if unknown:
        keys = ", ".join(f"'{k}'" for k in unknown)
        msg = f"Invalid provider preferences: Unrecognized key(s) in object: {keys}"
        raise RequestError(msg)
    return prefs
