"""The LiteLLM plugin that makes a generated proxy keep the chain's stream promises.

Generated configs load it by import path (``litellm --config`` needs nothing else)::

    litellm_settings:
      callbacks: [litellm_config.proxy_plugin.handler]

In-process, ``litellm.callbacks.append(litellm_config.proxy_plugin.handler)`` does the same
for a ``litellm.Router`` (async calls).

Why this hook: ``CustomLogger.async_pre_call_deployment_hook`` runs inside
``litellm.acompletion`` once per attempt (first try, retries and every fallback hop), after
the Router picked the deployment and before the request is sent. For a deployment whose
``model_info`` carries the link's limits it supplies the HTTP client, whose transport is a
:class:`~litellm_config._guard.GuardTransport`. The proxy's hooks that see the response
(``async_post_call_streaming_iterator_hook``, ``async_post_call_success_hook``) run outside
the Router, where raising can no longer fall back. The guard reads a stream up to its first
content before LiteLLM gets the response, so a failure before content is raised by the
request (LiteLLM's ``Timeout``, ``APIConnectionError`` or ``APIError``) and the Router's
fallback loop moves on to the next link, whichever link failed. A ``MidStreamFallbackError``
raised from the stream instead would fall back from the first link only:
``Router._acompletion_streaming_iterator`` looks up fallbacks for the model group of the
deployment whose stream raised, and a fallback link's group has none, so the error reached
the client. The proxy sends nothing, headers included, before the Router yields its first
chunk, so the client never sees the failed link. A failure after content is raised from the
stream as LiteLLM's own error type, which the proxy sends as an error event.

This module imports litellm; nothing else in ``litellm_config`` imports this module.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import httpx

import litellm_config._compat  # noqa: F401  refuses an untested LiteLLM before importing it

# isort: split
from litellm.exceptions import APIConnectionError, APIError, Timeout
from litellm.integrations.custom_logger import CustomLogger
from litellm.llms.custom_httpx.http_handler import AsyncHTTPHandler
from litellm.types.utils import CallTypes

from langchain_openrouter_fallback.wire import ErrorKind
from litellm_config._guard import GuardTransport
from litellm_config._limits import LinkLimits

if TYPE_CHECKING:
    from langchain_openrouter_fallback.wire import AttemptFailure

__all__ = ["FallbackGuard", "handler"]

_PROVIDER = "openrouter"
_SERVER_ERROR = 502


def _litellm_error(failure: AttemptFailure, link: str) -> Exception:
    """LiteLLM's exception for a failure the guard saw (what the client is told)."""
    message = f"{link}: {failure.message}"
    if failure.kind == ErrorKind.TIMEOUT:
        return Timeout(message=message, model=link, llm_provider=_PROVIDER)
    if failure.kind == ErrorKind.NETWORK:
        return APIConnectionError(message=message, llm_provider=_PROVIDER, model=link)
    status = failure.status_code or _SERVER_ERROR
    return APIError(status_code=status, message=message, llm_provider=_PROVIDER, model=link)


class _Failures:
    """The :class:`~litellm_config._guard.StreamFailureHook` of one link."""

    def __init__(self, link: str) -> None:
        self._link = link

    def __call__(self, failure: AttemptFailure) -> Exception:
        return _litellm_error(failure, self._link)


def _guarded_client(link: str, limits: LinkLimits) -> AsyncHTTPHandler:
    """LiteLLM's async HTTP handler whose client sends through the guard.

    The guard reads through httpx's own transport, not LiteLLM's default aiohttp one:
    aiohttp's stream reader raises a connection error as soon as it is set and drops the
    bytes it still buffers, so a stream cut right after its first words would lose them
    and fall back as if nothing had been said, which the client may already be reading.
    """
    handler = AsyncHTTPHandler()
    defaults = handler.client
    inner = httpx.AsyncClient(headers=defaults.headers, timeout=defaults.timeout)

    async def send(request: httpx.Request) -> httpx.Response:
        return await inner.send(request, stream=True, follow_redirects=True)

    transport = GuardTransport(send, limits=limits, on_failure=_Failures(link), link=link)
    handler.client = httpx.AsyncClient(
        transport=transport, headers=defaults.headers, timeout=defaults.timeout
    )
    return handler


class FallbackGuard(CustomLogger):
    """Gives every attempt of a generated link a client that enforces the link's limits."""

    def __init__(self) -> None:
        """Start with no clients; one is made per link and event loop on first use."""
        super().__init__()
        self._clients: dict[tuple[str, LinkLimits], tuple[Any, AsyncHTTPHandler]] = {}

    def _client(self, link: str, limits: LinkLimits) -> AsyncHTTPHandler:
        loop = asyncio.get_running_loop()
        cached = self._clients.get((link, limits))
        if cached is None or cached[0] is not loop:
            cached = (loop, _guarded_client(link, limits))
            self._clients[link, limits] = cached
        return cached[1]

    async def async_pre_call_deployment_hook(
        self, kwargs: dict[str, Any], call_type: CallTypes | None
    ) -> dict[str, Any] | None:
        """Chat completions to a generated link get its guarded client."""
        info = kwargs.get("model_info")
        limits = LinkLimits.from_model_info(info)
        if limits is None or call_type != CallTypes.acompletion:
            return None
        link = str((info or {}).get("id") or kwargs.get("model"))
        kwargs["client"] = self._client(link, limits)
        return kwargs


handler = FallbackGuard()
"""The instance ``litellm_settings.callbacks`` names."""
