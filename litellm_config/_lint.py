"""What a generated LiteLLM config cannot reproduce of a chain, as one warning per finding.

Two families: behaviour LiteLLM has no equivalent for (the proxy will act differently from
``ChatOpenRouterFallback``), and chain settings the generated config cannot carry (LiteLLM
would silently ignore them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from langchain_openrouter_fallback._catalog import load_catalog
from langchain_openrouter_fallback._chain import RetryPolicy
from langchain_openrouter_fallback._errors import ErrorKind
from langchain_openrouter_fallback._payload import group_links
from litellm_config._policies import UNMAPPED_RETRY_KINDS

if TYPE_CHECKING:
    from collections.abc import Callable

    from langchain_openrouter_fallback._chain import FallbackChain

__all__ = ["lint"]

_DEFAULT_RETRY = RetryPolicy()


def _streams(chain: FallbackChain) -> list[str]:
    found: list[str] = []
    stalls = [link.label for link in chain.models if link.stall_timeout is not None]
    if stalls:
        found.append(
            f"stall_timeout on {', '.join(stalls)}: LiteLLM has no limit on silence between "
            "stream chunks once a stream has started"
        )
    if any(link.first_token_timeout is not None for link in chain.models):
        found.append(
            "first_token_timeout becomes LiteLLM's stream_timeout, an HTTP read timeout: "
            "OpenRouter's keep-alive comments reset it, so a provider that only sends "
            "keep-alives is not cut off"
        )
    if chain.stream_recovery != "raise":
        found.append(
            f"stream_recovery: {chain.stream_recovery} is not reproducible: LiteLLM does not "
            "restart or continue a stream that fails after content was sent"
        )
    return found


def _routing(chain: FallbackChain) -> list[str]:
    found: list[str] = []
    if chain.requires.capabilities:
        caps = ", ".join(sorted(chain.requires.capabilities))
        found.append(
            f"requires [{caps}]: LiteLLM's pre-call checks skip links only by context window, "
            "not by capability (the chain's links were validated when it loaded)"
        )
    if chain.hedge is not None:
        found.append("hedge: LiteLLM never races a second link; hedging is dropped")
    rated = [p for p in (chain.breaker, *(link.breaker for link in chain.models)) if p and p.rate]
    if rated:
        found.append(
            "breaker.rate: LiteLLM cools a deployment down after allowed_fails failures, "
            "not on a failure rate over a window; only the consecutive-failure limit carries over"
        )
    if chain.fallback_on is not None:
        found.append(
            "fallback_on narrows which errors fall back; LiteLLM falls back on every error "
            "once retries are spent (auth and bad-request errors included)"
        )
    if chain.deadline is not None:
        found.append(
            f"deadline {chain.deadline:g}s caps each attempt (timeout); LiteLLM does not shrink "
            "later attempts to the time left, so a request can take longer in total"
        )
    unknown = [link.label for link in chain.models if load_catalog().get(link.model) is None]
    if unknown:
        found.append(
            f"{', '.join(unknown)} not in the catalog: no max_input_tokens, so pre-call checks "
            "cannot skip them for long prompts"
        )
    return found


def _retries(chain: FallbackChain) -> list[str]:
    found: list[str] = []
    policies = [chain.retry, *(link.retry for link in chain.models if link.retry)]
    if any(ErrorKind.RATE_LIMIT in p.on and p.max_retries for p in policies):
        found.append(
            "Retry-After: LiteLLM waits what a 429 asks (up to 60 s) before retrying; the "
            "chain's check that moves on when the wait exceeds max_wait or the deadline "
            "is not reproduced"
        )
    if any(
        p.jitter != _DEFAULT_RETRY.jitter or p.max_wait != _DEFAULT_RETRY.max_wait for p in policies
    ):
        found.append("retry jitter / max_wait have no LiteLLM setting and are ignored")
    unmapped = sorted({k for p in policies if p.max_retries for k in p.on & UNMAPPED_RETRY_KINDS})
    if unmapped:
        found.append(
            f"retry on {', '.join(unmapped)}: LiteLLM has no matching exception type; "
            "those errors are not retried"
        )
    return found


def _ignored(chain: FallbackChain) -> list[str]:
    found: list[str] = []
    prefill = [link.label for link in chain.models if link.prefill is not None]
    if prefill:
        found.append(f"prefill on {', '.join(prefill)} is ignored by LiteLLM")
    no_timeout = [link.label for link in chain.models if link.timeout is None]
    if no_timeout and chain.deadline is None:
        found.append(
            f"{', '.join(no_timeout)} have no timeout and the chain no deadline: LiteLLM's "
            "default request timeout (600 s) applies"
        )
    if chain.mode == "server":
        found.extend(_server_group_losses(chain))
    return found


def _server_group_losses(chain: FallbackChain) -> list[str]:
    lost: list[str] = []
    for group in group_links(chain):
        for link in group[1:]:
            fields = ("timeout", "first_token_timeout", "stall_timeout", "retry", "breaker")
            differs = [f for f in fields if getattr(link, f) != getattr(group[0], f)]
            if differs:
                lost.append(
                    f"{link.label}: {', '.join(differs)} ignored; it is served inside "
                    f"{group[0].label}'s request (server mode), which uses {group[0].label}'s"
                )
    return lost


_CHECKS: tuple[Callable[[FallbackChain], list[str]], ...] = (
    _streams,
    _routing,
    _retries,
    _ignored,
)


def lint(chain: FallbackChain) -> list[str]:
    """Warnings about what the LiteLLM config generated for ``chain`` cannot reproduce.

    Returns:
        One sentence per finding, in a stable order; empty when LiteLLM behaves the same.
    """
    return [warning for check in _CHECKS for warning in check(chain)]
