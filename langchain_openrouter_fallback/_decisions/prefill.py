"""Assistant prefill: which links can continue a partial answer, and the continuation request.

``stream_recovery: continue`` asks the next link to continue the text the consumer already
received, sent as a final ``assistant`` message. Only links known to accept that are used:
``Link.prefill`` when set, otherwise :data:`VENDOR_DEFAULTS` by vendor (``False`` when a
vendor documents no support).

Sources for the defaults:

- OpenRouter's API reference (https://openrouter.ai/docs/api-reference/overview) describes
  assistant prefill (ending ``messages`` with an ``assistant`` message) for models that allow
  it; it does not promise every model continues (many just start a new answer). (Wording
  paraphrased; the exact section could not be re-read when this was written.) Models that
  refuse answer 400 "This model does not support assistant message prefill. The
  conversation must end with a user message." (reported in
  Opencode-DCP/opencode-dynamic-context-pruning#463 for Claude Opus 4 via a gateway).
- Anthropic's "Prefill Claude's response"
  (https://docs.claude.com/en/docs/prefill-claudes-response): Claude continues from where
  the assistant message leaves off; the prefill "cannot end with trailing whitespace"; it
  is not available with extended thinking. Anthropic's Claude 4.6 migration notes: prefilling
  assistant messages returns a 400 on Claude 4.6 models, hence the version cut-off below.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Sequence

    from langchain_openrouter_fallback._definition.chain import Link

__all__ = [
    "VENDOR_DEFAULTS",
    "accepts_prefill",
    "continuation_body",
    "rejects_prefill",
    "split_prefill",
]

VENDOR_DEFAULTS: dict[str, bool] = {"anthropic": True}
"""Vendors (the part of a model id before ``/``) documented to continue an assistant prefill."""
_NO_PREFILL_FROM = (4, 6)
"""Claude versions from which Anthropic rejects an assistant prefill with a 400."""
_CLAUDE_VERSION = re.compile(r"claude-(?:[a-z]+-)?(\d+)(?:[.-](\d{1,2})(?!\d))?")


def _claude_accepts(model: str) -> bool:
    if model.endswith(":thinking"):
        return False  # extended thinking: no prefill (Anthropic docs)
    match = _CLAUDE_VERSION.search(model)
    if match is None:
        return True
    version = (int(match.group(1)), int(match.group(2) or 0))
    return version < _NO_PREFILL_FROM


def accepts_prefill(link: Link) -> bool:
    """Whether ``link`` may be asked to continue an assistant prefill."""
    if link.prefill is not None:
        return link.prefill
    vendor = link.model.partition("/")[0]
    if not VENDOR_DEFAULTS.get(vendor, False):
        return False
    return _claude_accepts(link.model) if vendor == "anthropic" else True


def rejects_prefill(link: Link) -> bool:
    """Whether ``link`` is documented to answer a trailing assistant message with a 400.

    Narrower than ``not accepts_prefill``: most models take such a message (they just may not
    continue it); Claude from 4.6 and extended thinking refuse it. ``Link.prefill`` wins.
    """
    if link.prefill is not None:
        return not link.prefill
    return link.model.partition("/")[0] == "anthropic" and not _claude_accepts(link.model)


def split_prefill(shown: str) -> tuple[str, str]:
    """The prefill to send for ``shown`` text, and the trailing whitespace held back.

    Anthropic rejects a prefill ending in whitespace, so it is cut off and the continuation's
    leading whitespace is matched against it instead (see :func:`continuation_body`).
    """
    prefill = shown.rstrip()
    return prefill, shown[len(prefill) :]


def continuation_body(body: dict[str, Any], prefill: str) -> dict[str, Any]:
    """``body`` asking the model to continue ``prefill`` (unchanged when it is empty)."""
    if not prefill:
        return body
    messages: Sequence[Any] = body.get("messages") or []
    return {**body, "messages": [*messages, {"role": "assistant", "content": prefill}]}
