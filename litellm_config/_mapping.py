"""Chains -> LiteLLM ``model_list`` and router settings (see the package docstring for why).

Nothing here imports litellm: the output is plain data that ``litellm.Router(**kwargs)``
and ``litellm --config`` accept.
"""

from __future__ import annotations

import copy
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import yaml

from langchain_openrouter_fallback import load_catalog
from langchain_openrouter_fallback.decisions import (
    GUARD_CHECKS,
    adapt_for,
    circuit_key,
    step_groups,
)
from langchain_openrouter_fallback.definition import LIMIT_NAMES, attempt_limits, merge_params
from litellm_config._inputs import ChainsInput, LiteLLMConfigError, collect_chains
from litellm_config._limits import MODEL_INFO_KEY, Limit, LinkLimits
from litellm_config._policies import (
    allowed_fails,
    allowed_fails_policy,
    redis_settings,
    retry_policy,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from langchain_openrouter_fallback import BreakerPolicy, Catalog, FallbackChain, Link
    from langchain_openrouter_fallback.definition import AttemptLimits, AutoLimit

__all__ = [
    "API_KEY_REF",
    "MASTER_KEY_GUARD",
    "MASTER_KEY_REF",
    "OPENAI_PARAMS",
    "OPEN_PROXY_WARNING",
    "PLUGIN",
    "SERVED_MODEL_PLUGIN",
    "Generated",
    "capped_timeout",
    "deployments",
    "generate",
    "guard_limits",
    "proxy_config",
    "proxy_yaml",
    "router_kwargs",
    "stream_read_timeout",
]

API_KEY_REF = "os.environ/OPENROUTER_API_KEY"
"""How every deployment names the key: resolved by LiteLLM at load time, never written."""

MASTER_KEY_REF = "os.environ/LITELLM_MASTER_KEY"
"""The proxy's ``general_settings.master_key``: clients pass its value as their API key."""

SERVED_MODEL_PLUGIN = "litellm_config.served_model.handler"
"""The proxy callback that keeps the served model id in every response's ``model`` field."""

MASTER_KEY_GUARD = "litellm_config.master_key.guard"
"""The proxy callback that refuses to start while ``LITELLM_MASTER_KEY`` is unset."""

OPEN_PROXY_WARNING = (
    "the generated proxy has no master_key: anyone who can reach it spends the "
    "OpenRouter key it holds"
)

HALF_OPEN_WINDOW = 2
"""Router ``cooldown_time`` (how long fails are counted) = this x the longest cooldown."""

PLUGIN = "litellm_config.proxy_plugin.handler"
"""The proxy callback enforcing the links' limits (``litellm_settings.callbacks``)."""

OPENAI_PARAMS = frozenset(
    {
        "frequency_penalty",
        "logit_bias",
        "logprobs",
        "max_completion_tokens",
        "max_tokens",
        "n",
        "parallel_tool_calls",
        "presence_penalty",
        "reasoning_effort",
        "response_format",
        "seed",
        "stop",
        "temperature",
        "tool_choice",
        "tools",
        "top_logprobs",
        "top_p",
        "user",
    }
)
"""Chain ``params`` LiteLLM maps itself (set in ``litellm_params``); others go to ``extra_body``."""


class _PlainDumper(yaml.SafeDumper):
    """Safe YAML without ``&anchors``: a config is read by people, not only by parsers."""

    def ignore_aliases(self, data: Any) -> bool:  # noqa: ARG002 - the YAML hook's signature
        return True


@dataclass(frozen=True, slots=True)
class Generated:
    """One generation: the deployments plus the router settings, before packaging."""

    model_list: list[dict[str, Any]]
    settings: dict[str, Any]


def _effective_breaker(chain: FallbackChain, link: Link) -> BreakerPolicy:
    return link.breaker or chain.breaker


def capped_timeout(chain: FallbackChain, limits: AttemptLimits) -> float:
    """A deployment's ``timeout``: the attempt limit in force, capped by the chain ``deadline``.

    An ``auto`` timeout gives its ceiling: LiteLLM must never cut before the guard does.
    """
    ceiling = limits.ceiling("timeout")
    return ceiling if chain.deadline is None else min(ceiling, chain.deadline)


def stream_read_timeout(limits: AttemptLimits, timeout: float) -> float:
    """``stream_timeout`` for a deployment: the longest silence the chain allows on a stream.

    LiteLLM hands ``stream_timeout`` to httpx as a read timeout, so it bounds the wait for the
    first byte *and every later gap between chunks*. The chain allows ``first_token`` before
    the first output and ``stall`` between outputs, so the value is their maximum (an ``auto``
    limit's ceiling), capped by the attempt's ``timeout``.
    """
    return min(max(limits.ceiling("first_token"), limits.ceiling("stall")), timeout)


def guard_limits(chain: FallbackChain, links: Sequence[Link], limits: AttemptLimits) -> LinkLimits:
    """What the deployment of ``links`` tells the proxy plugin's guard.

    The limits in force (an ``auto`` one settled, to be learned for the links' upstream), the
    timeout capped by the chain ``deadline``.
    """
    cap = chain.deadline
    values: dict[str, Limit] = {}
    for name in LIMIT_NAMES:
        spec = limits.auto.get(name)
        value: float = getattr(limits, name)
        values[name] = value if spec is None else spec
        if name == "timeout" and cap is not None:
            values[name] = min(value, cap) if spec is None else _capped(spec, cap)
    return LinkLimits(
        timeout=values["timeout"],
        first_token=values["first_token"],
        stall=values["stall"],
        buffer=chain.stream_recovery == "buffer",
        accept=tuple(check for check in chain.accept if check in GUARD_CHECKS),
        upstream=circuit_key("", links)[1] if limits.auto else None,
    )


def _capped(spec: AutoLimit, cap: float) -> AutoLimit:
    """``spec`` learning no further than ``cap`` seconds (the chain ``deadline``)."""
    ceiling = min(spec.ceiling or cap, cap)
    floor = min(spec.floor or ceiling, ceiling)
    return spec.model_copy(
        update={"cold": min(spec.cold or cap, cap), "ceiling": ceiling, "floor": floor}
    )


def _split_params(params: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    known = {k: v for k, v in params.items() if k in OPENAI_PARAMS}
    extra = {k: v for k, v in params.items() if k not in OPENAI_PARAMS}
    return known, extra


def _link_params(chain: FallbackChain, links: Sequence[Link], catalog: Catalog) -> dict[str, Any]:
    """The chain's and link's params as the chat model would send them to this link.

    ``max_tokens`` is clamped to the link's ceiling and fields the catalog says it lacks are
    dropped (unless ``provider.require_parameters``); structured-output and tool fields stay
    as written (converting them needs the answer converted back, which LiteLLM cannot do).
    """
    merged = merge_params(chain.params, links[0].params)
    kept = ("response_format", "tools", "tool_choice")
    held: dict[str, Any] = {k: merged.pop(k) for k in kept if k in merged}
    return {**adapt_for(links, merged, catalog, prompt_tokens=0).body, **held}


def _model_info(
    deployment_id: str, links: Sequence[Link], catalog: Catalog, *, widest: bool
) -> dict[str, Any]:
    """``id`` plus the context window pre-call checks use (a server group fits the widest)."""
    info: dict[str, Any] = {"id": deployment_id}
    found = [catalog.get(link.model) for link in links]
    contexts = [m.context_length for m in found if m is not None and m.context_length]
    outputs = [m.max_completion_tokens for m in found if m is not None and m.max_completion_tokens]
    if contexts and len(contexts) == len(links):
        info["max_input_tokens"] = max(contexts) if widest else min(contexts)
    if outputs and len(outputs) == len(links):
        info["max_output_tokens"] = max(outputs) if widest else min(outputs)
    return info


def _deployment(
    chain: FallbackChain,
    links: Sequence[Link],
    *,
    api_base: str | None,
    catalog: Catalog,
) -> dict[str, Any]:
    first = links[0]
    name = f"{chain.name}/{first.label}"
    params: dict[str, Any] = {"model": f"openrouter/{first.model}", "api_key": API_KEY_REF}
    if api_base or chain.base_url:
        params["api_base"] = (api_base or chain.base_url or "").rstrip("/")
    limits = attempt_limits(links, chain=chain)
    timeout = capped_timeout(chain, limits)
    params["timeout"] = timeout
    read_timeout = stream_read_timeout(limits, timeout)
    if read_timeout != timeout:
        params["stream_timeout"] = read_timeout
    params["max_retries"] = 0
    known, extra = _split_params(_link_params(chain, links, catalog))
    params.update(known)
    extra_body = dict(extra)
    if chain.mode == "server":
        extra_body["models"] = [link.model for link in links]
        if chain.legacy_route:
            extra_body["route"] = "fallback"
    if first.provider is not None:
        extra_body["provider"] = first.provider.to_payload()
    if extra_body:
        params["extra_body"] = extra_body
    info = _model_info(name, links, catalog, widest=chain.mode == "server")
    info[MODEL_INFO_KEY] = guard_limits(chain, links, limits).as_dict()
    return {"model_name": name, "litellm_params": params, "model_info": info}


def deployments(
    chain: FallbackChain, *, api_base: str | None = None, catalog: Catalog | None = None
) -> list[dict[str, Any]]:
    """``model_list`` entries: one per link (client mode) or per ``group_links`` group (server)."""
    catalog = catalog or load_catalog()
    groups = step_groups(chain)
    return [_deployment(chain, group, api_base=api_base, catalog=catalog) for group in groups]


def _breaker_overrides(
    chain: FallbackChain, entries: list[dict[str, Any]], reference: BreakerPolicy
) -> None:
    """Each deployment's own ``cooldown_time`` (the router's is the fail-count window).

    A link whose failure limit differs from the router-level one also gets a deployment-level
    ``allowed_fails_policy``; LiteLLM then counts its fails for one cooldown only.
    """
    for entry in entries:
        label = entry["model_name"].removeprefix(f"{chain.name}/")
        breaker = _effective_breaker(chain, chain.link(label))
        info = entry["model_info"]
        if not breaker.enabled:
            # `_should_run_cooldown_logic` skips a deployment whose cooldown time is 0.
            info["cooldown_time"] = 0
            continue
        if breaker.failures != reference.failures:
            info["allowed_fails_policy"] = allowed_fails_policy(breaker)
        info["cooldown_time"] = breaker.cooldown


def _retry_overrides(
    chain: FallbackChain, entries: list[dict[str, Any]], reference: dict[str, int]
) -> dict[str, dict[str, int]]:
    """``model_group_retry_policy`` entries for groups whose policy differs from the router's."""
    overrides: dict[str, dict[str, int]] = {}
    for index, entry in enumerate(entries):
        label = entry["model_name"].removeprefix(f"{chain.name}/")
        policy = retry_policy(chain.link(label).retry or chain.retry)
        if policy == reference:
            continue
        overrides[entry["model_name"]] = policy
        if index == 0:
            overrides[chain.name] = policy
    return overrides


def _check_unique(chains: dict[str, FallbackChain], model_list: list[dict[str, Any]]) -> None:
    seen: set[str] = set()
    names = [*chains, *(entry["model_name"] for entry in model_list)]
    for name in names:
        if name in seen:
            msg = f"model name {name!r} is used twice; rename a chain or a label"
            raise LiteLLMConfigError(msg)
        seen.add(name)


def _shared_redis(chains: dict[str, FallbackChain]) -> dict[str, Any]:
    urls = sorted({c.shared_state for c in chains.values() if c.shared_state})
    if len(urls) > 1:
        msg = "chains name different shared_state URLs; one LiteLLM router has one Redis"
        raise LiteLLMConfigError(msg)
    return redis_settings(urls[0]) if urls else {}


def _fallbacks(chain: FallbackChain, entries: list[dict[str, Any]]) -> dict[str, list[str]]:
    return {chain.name: [entry["model_name"] for entry in entries[1:]]}


def _reference_breaker(chains: dict[str, FallbackChain]) -> BreakerPolicy | None:
    """The router-level breaker: the first enabled one (``None``: no link has a breaker)."""
    for chain in chains.values():
        for link in chain.models:
            breaker = _effective_breaker(chain, link)
            if breaker.enabled:
                return chain.breaker if chain.breaker.enabled else breaker
    return None


def _breaker_settings(
    chains: dict[str, FallbackChain], per_chain: dict[str, list[dict[str, Any]]]
) -> dict[str, Any]:
    """Router-level breaker: the fail limit, and a fail-count window of twice the cooldown.

    LiteLLM keeps a deployment's fail count for the router's ``cooldown_time`` (the TTL of
    ``deployment:<id>:allowed_fails``) and cools it down for the deployment's own
    ``cooldown_time``. With the count outliving the cooldown, the first failure after a
    cooldown ends exceeds ``allowed_fails`` again and re-opens at once, as the chain's
    half-open probe does; with equal times LiteLLM needs ``failures`` new fails.
    """
    reference = _reference_breaker(chains)
    if reference is None:
        return {"disable_cooldowns": True}
    for chain in chains.values():
        _breaker_overrides(chain, per_chain[chain.name], reference)
    cooldowns = [
        breaker.cooldown
        for chain in chains.values()
        for breaker in (_effective_breaker(chain, link) for link in chain.models)
        if breaker.enabled
    ]
    longest = max(cooldowns)
    return {
        "allowed_fails": allowed_fails(reference),
        "allowed_fails_policy": allowed_fails_policy(reference),
        "cooldown_time": HALF_OPEN_WINDOW * longest,
    }


def _router_settings(
    chains: dict[str, FallbackChain], per_chain: dict[str, list[dict[str, Any]]]
) -> dict[str, Any]:
    first = next(iter(chains.values()))
    reference_retry = retry_policy(first.retry)
    fallbacks = [_fallbacks(c, per_chain[c.name]) for c in chains.values() if c.models[1:]]
    group_retry: dict[str, dict[str, int]] = {}
    for chain in chains.values():
        group_retry.update(_retry_overrides(chain, per_chain[chain.name], reference_retry))
    settings: dict[str, Any] = {
        "model_group_alias": {c.name: per_chain[c.name][0]["model_name"] for c in chains.values()},
        "fallbacks": fallbacks,
        "context_window_fallbacks": copy.deepcopy(fallbacks),
        "content_policy_fallbacks": copy.deepcopy(fallbacks),
        "max_fallbacks": max(5, *(len(entries) for entries in per_chain.values())),
        "enable_pre_call_checks": True,
        "num_retries": 0,
        "retry_policy": reference_retry,
        "retry_after": first.retry.backoff,
    }
    if group_retry:
        settings["model_group_retry_policy"] = group_retry
    settings.update(_breaker_settings(chains, per_chain))
    deadlines = {c.deadline for c in chains.values()}
    if len(deadlines) == 1 and first.deadline is not None:
        settings["timeout"] = first.deadline
    settings.update(_shared_redis(chains))
    return settings


def generate(chains: ChainsInput, *, api_base: str | None = None) -> Generated:
    """Build the model list and router settings for every chain.

    Raises:
        LiteLLMConfigError: names collide, or chains disagree on ``shared_state``.
    """
    named = collect_chains(chains)
    catalog = load_catalog()
    per_chain = {
        name: deployments(chain, api_base=api_base, catalog=catalog)
        for name, chain in named.items()
    }
    model_list = [entry for entries in per_chain.values() for entry in entries]
    _check_unique(named, model_list)
    return Generated(model_list=model_list, settings=_router_settings(named, per_chain))


def router_kwargs(chain_or_chains: ChainsInput, *, api_base: str | None = None) -> dict[str, Any]:
    """Keyword arguments for ``litellm.Router(**kwargs)``.

    Args:
        chain_or_chains: a :class:`FallbackChain`, a chain file path, a list of either, or a
            mapping name -> chain.
        api_base: overrides every chain's ``base_url`` (e.g. an emulator's ``base_url``).

    Returns:
        ``{"model_list": [...], **router_settings}``. Deployments reference the key as
        ``os.environ/OPENROUTER_API_KEY``; LiteLLM resolves it when the router loads.
    """
    generated = generate(chain_or_chains, api_base=api_base)
    return {"model_list": generated.model_list, **generated.settings}


def _document(chains: ChainsInput, api_base: str | None, *, secured: bool) -> dict[str, Any]:
    generated = generate(chains, api_base=api_base)
    config: dict[str, Any] = {
        "model_list": generated.model_list,
        "router_settings": generated.settings,
        "litellm_settings": {
            "callbacks": [SERVED_MODEL_PLUGIN, PLUGIN],
            # LiteLLM 1.103.7's default aiohttp transport turns a reset before any byte into a
            # ConnectError, which its HTTP handler silently retries once on a throwaway client
            # that it closes before a stream is read: a hidden extra attempt and, for streams,
            # a "Connection closed." error about half the time (1.108.7 no longer retries).
            # httpx raises ReadError on every tested release: one attempt, then the Router's
            # retry policy and fallbacks decide.
            "disable_aiohttp_transport": True,
        },
    }
    if secured:
        config["litellm_settings"]["callbacks"].append(MASTER_KEY_GUARD)
        config["general_settings"] = {"master_key": MASTER_KEY_REF}
    return config


def proxy_config(
    chains: ChainsInput, *, api_base: str | None = None, require_master_key: bool = True
) -> dict[str, Any]:
    """The ``litellm --config`` document: ``model_list``, ``router_settings``, ``general_settings``.

    Args:
        chains: as for :func:`router_kwargs`.
        api_base: overrides every chain's ``base_url``.
        require_master_key: ``general_settings.master_key: os.environ/LITELLM_MASTER_KEY``, so
            the proxy answers 401 to a request without ``Authorization: Bearer <that key>``.
            ``False`` opts out (an open proxy) and warns.
    """
    if not require_master_key:
        warnings.warn(OPEN_PROXY_WARNING, UserWarning, stacklevel=2)
    return _document(chains, api_base, secured=require_master_key)


def _header(names: str, *, secured: bool) -> str:
    needs = "OPENROUTER_API_KEY and LITELLM_MASTER_KEY" if secured else "OPENROUTER_API_KEY"
    header = (
        f"# LiteLLM proxy config generated by `openrouter-fallback litellm` for: {names}\n"
        f"# Requires {needs} in the proxy's environment. Do not edit by hand.\n"
    )
    if not secured:
        return header + f"# WARNING: {OPEN_PROXY_WARNING}.\n"
    return header + (
        "# Clients pass LITELLM_MASTER_KEY's value as their API key. Without the variable the\n"
        "# proxy refuses to start (litellm_config.master_key.guard).\n"
    )


def proxy_yaml(
    chains: ChainsInput, *, api_base: str | None = None, require_master_key: bool = True
) -> str:
    """:func:`proxy_config` as YAML text, with a header naming its source and its secrets."""
    if not require_master_key:
        warnings.warn(OPEN_PROXY_WARNING, UserWarning, stacklevel=2)
    config = _document(chains, api_base, secured=require_master_key)
    names = ", ".join(alias for alias in config["router_settings"]["model_group_alias"])
    return _header(names, secured=require_master_key) + yaml.dump(
        config, Dumper=_PlainDumper, sort_keys=False, allow_unicode=True, width=100
    )
