"""Fallback chains -> LiteLLM Router kwargs and proxy ``config.yaml`` (no litellm import).

Usage::

    import litellm_config

    kwargs = litellm_config.router_kwargs("chains/default.yaml")  # litellm.Router(**kwargs)
    text = litellm_config.proxy_yaml(["chains/default.yaml"])  # litellm --config
    litellm_config.lint(chain)  # what LiteLLM cannot reproduce
    litellm_config.lint_chains({"a": chain_a, "b": chain_b})  # grouped per kind

or ``openrouter-fallback litellm CHAIN_FILES... -o config.yaml [--strict]``.

The proxy's callbacks are submodules, read as attributes after ``import litellm_config``
(each imports litellm when first read, never at ``import litellm_config``)::

    litellm.callbacks.append(litellm_config.proxy_plugin.handler)  # the in-process guard
    litellm_config.served_model.handler  # keeps the served model id in responses
    litellm_config.master_key.guard  # refuses to start without LITELLM_MASTER_KEY

The mapping (client mode; the litellm 1.103.7 source decides every choice):

- one deployment per link, ``model_name`` and ``model_info.id`` both ``<chain>/<label>``
  (so ``x-litellm-model-id`` names the link that served), ``openrouter/<id>``,
  ``api_key: os.environ/OPENROUTER_API_KEY``, ``timeout`` (the link's, else the chain's;
  capped by ``deadline``), ``stream_timeout`` = max(``first_token_timeout``,
  ``stall_timeout``) (an httpx read timeout on every gap, so never shorter than a gap the
  chain allows; an ``auto`` limit counts at its ceiling, the plugin applies what it learned),
  ``max_retries: 0`` (one retry owner),
  ``extra_body.provider`` and the chain + link ``params`` (OpenAI ones as litellm params,
  the rest in ``extra_body``), ``max_input_tokens`` / ``max_output_tokens`` from the catalog.
- ``<chain>`` is a ``model_group_alias`` of the first link's group, so the primary has one
  deployment and one cooldown state whichever name is called; ``fallbacks``
  ``[{"<chain>": [<label2>, ...]}]``: ``run_async_fallback`` walks that list in order and
  returns the first success.
- retries: ``num_retries: 0`` plus a ``retry_policy`` with every field explicit (the
  chain's ``max_retries`` for the kinds in ``retry.on``, 0 elsewhere); link overrides go in
  ``model_group_retry_policy``; ``retry_after`` from ``backoff``.
- breaker: ``allowed_fails = failures - 1`` (LiteLLM cools down when the count *exceeds* it),
  each deployment's ``model_info.cooldown_time = cooldown`` with the router's
  ``cooldown_time`` (the fail-count TTL) at twice the longest cooldown, so one failure after
  a cooldown re-opens at once, and an ``allowed_fails_policy``. The policy is what makes a
  single-deployment group cool down at all: without ``allowed_fails_policy`` or a
  non-default ``allowed_fails``, ``_should_cooldown_deployment``
  (``router_utils/cooldown_handlers.py``) takes its "BASE CASE" branch, which only cools a
  single-deployment group down after 100 % failures over
  ``SINGLE_DEPLOYMENT_TRAFFIC_FAILURE_THRESHOLD`` (1000) requests a minute. With a policy it
  calls ``should_cooldown_based_on_allowed_fails_policy``, which has no single-deployment
  exemption. A disabled breaker becomes ``disable_cooldowns`` (or a deployment
  ``cooldown_time: 0``, which ``_should_run_cooldown_logic`` skips). LiteLLM counts fails
  within the router's ``cooldown_time`` window rather than consecutive ones, and a success
  does not reset the count.
- ``enable_pre_call_checks: true``: ``Router._pre_call_checks`` drops deployments whose
  ``max_input_tokens`` is below the prompt's token count and raises
  ``ContextWindowExceededError`` when none is left, which falls through the chain.
  OpenRouter itself reports context-length and moderation failures as plain 400 / 403
  bodies, which LiteLLM maps to ``BadRequestError`` / ``PermissionDeniedError``, so
  ``context_window_fallbacks`` and ``content_policy_fallbacks`` never fire on them; they are
  emitted anyway (the same lists as ``fallbacks``) because pre-call checks and other
  providers do raise those types, and when set LiteLLM uses them *instead of* ``fallbacks``.
- ``shared_state`` -> ``redis_url`` (or host/port with ``redis_password:
  os.environ/REDIS_PASSWORD`` when the URL holds a password), so cooldowns and fail
  counters are shared across proxy instances; ``deadline`` -> router ``timeout``.
- ``litellm_settings.callbacks: [litellm_config.served_model.handler]``: the response's
  ``model`` stays the served model id (see :mod:`litellm_config.served_model`), and
  ``disable_aiohttp_transport: true``: on the aiohttp transport of LiteLLM 1.103.7 a reset
  before any byte is retried inside LiteLLM's HTTP handler, behind the Router (for streams on
  a client it closes before the body is read; 1.108.7 no longer does); on httpx it is one
  attempt like any other failure, on every tested release.
- ``general_settings.master_key: os.environ/LITELLM_MASTER_KEY`` (the proxy refuses requests
  without it) plus the ``litellm_config.master_key.guard`` callback (the proxy will not start
  while the variable is unset); ``require_master_key=False`` / ``--no-master-key`` opts out,
  with a warning.

Server mode: one deployment per ``group_links`` group with ``extra_body.models`` (at most
3) and ``extra_body.provider``; its context window is the group's widest.

Generating never imports litellm; validate against the real thing (``pip install
langchain-openrouter-fallback[litellm]``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from langchain_openrouter_fallback.lazy import lazy_getattr

if TYPE_CHECKING:
    from litellm_config import (
        master_key as master_key,
        proxy_plugin as proxy_plugin,
        served_model as served_model,
    )
    from litellm_config._inputs import ChainsInput, LiteLLMConfigError
    from litellm_config._lint import lint, lint_chains
    from litellm_config._mapping import proxy_config, proxy_yaml, router_kwargs

__all__ = [
    "ChainsInput",
    "LiteLLMConfigError",
    "lint",
    "lint_chains",
    "proxy_config",
    "proxy_yaml",
    "router_kwargs",
]

# Submodules a proxy config or a script names by attribute path after `import litellm_config`
# (`litellm_config.proxy_plugin.handler`); they import litellm, so only when first read.
_SUBMODULES = ("master_key", "proxy_plugin", "served_model")

# Loaded on first access, so `openrouter-fallback --help` does not build the chain models.
__getattr__ = lazy_getattr(
    __name__,
    submodules=_SUBMODULES,
    homes={
        "ChainsInput": "_inputs",
        "LiteLLMConfigError": "_inputs",
        "lint": "_lint",
        "lint_chains": "_lint",
        "proxy_config": "_mapping",
        "proxy_yaml": "_mapping",
        "router_kwargs": "_mapping",
    },
)
