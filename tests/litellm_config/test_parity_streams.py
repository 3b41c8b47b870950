"""The same stream faults through ChatOpenRouterFallback and through the real proxy.

Both run against the independent stand-in (``tests/standin``), with the same chain (the primary
has ``first_token_timeout: 1``, ``stall_timeout: 2``, ``timeout: 4``). Each scenario asserts
what the client saw in each runtime against ``EXPECTED``; the stream parity table of
``docs/litellm.md`` is rendered from ``EXPECTED`` and checked here too, so every row is an outcome
a test observed. ``UPDATE_DOCS=1`` rewrites the table.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

import pytest

from langchain_openrouter_fallback import ChatOpenRouterFallback, StreamInterruptedError
from tests.conftest import KEY
from tests.docs.pages import DOCS, generated_block
from tests.litellm_config.conftest import P, S, answer_of, ask, stream_chain
from tests.standin import error, keepalive_only, stream

if TYPE_CHECKING:
    from collections.abc import Callable

    from tests.standin import Reply, StandIn

pytestmark = [pytest.mark.litellm, pytest.mark.timeout(300)]

CUT = "cut after `hello `"
SCENARIOS: dict[str, tuple[Callable[[], list[Reply]], str]] = {
    "503": (lambda: [error(503)], "c"),
    "429 with `Retry-After: 1`, twice": (lambda: [error(429, retry_after=1)] * 2, "c"),
    "cut before any content": (lambda: [stream(["hello ", "world"], cut_after=0)], "c"),
    "keep-alives only (`first_token_timeout: 1`)": (lambda: [keepalive_only(30)], "c"),
    "in-band error before any content": (
        lambda: [stream(inband_error={"code": 502, "message": "died"}, error_after=0)],
        "c",
    ),
    CUT: (lambda: [stream(["hello ", "world"], cut_after=1)], "c"),
    "`hello world` and `[DONE]` without a `finish_reason`": (
        lambda: [stream(["hello ", "world"], finish=False)],
        "c",
    ),
    "silence after `hello ` (`stall_timeout: 2`)": (
        lambda: [replace(stream(["hello "], finish=False, done=False), hold=30)],
        "c",
    ),
    "in-band error after `hello `": (
        lambda: [stream(["hello ", "world"], inband_error={"code": 502, "message": "died"})],
        "c",
    ),
    f"{CUT}, `stream_recovery: buffer`": (lambda: [stream(["hello ", "world"], cut_after=1)], "b"),
    f"{CUT}, `stream_recovery: continue`": (
        lambda: [stream(["hello ", "world"], cut_after=1)],
        "k",
    ),
}
"""Scenario -> (the primary's scripted replies, the chain that runs it: its stream_recovery)."""

SECONDARY = "secondary"
TWICE = " (2 primary requests)"
ERROR_HELLO = "`hello `, then an error"
EXPECTED: dict[str, tuple[str, str]] = {
    "503": (SECONDARY, SECONDARY),
    "429 with `Retry-After: 1`, twice": (f"{SECONDARY}{TWICE}", f"{SECONDARY}{TWICE}"),
    "cut before any content": (SECONDARY, SECONDARY),
    "keep-alives only (`first_token_timeout: 1`)": (SECONDARY, SECONDARY),
    "in-band error before any content": (f"primary{TWICE}", SECONDARY),
    CUT: (ERROR_HELLO, ERROR_HELLO),
    "`hello world` and `[DONE]` without a `finish_reason`": (
        "`hello world`, then an error",
        "`hello world`, then an error",
    ),
    "silence after `hello ` (`stall_timeout: 2`)": (ERROR_HELLO, ERROR_HELLO),
    "in-band error after `hello `": (ERROR_HELLO, ERROR_HELLO),
    f"{CUT}, `stream_recovery: buffer`": (SECONDARY, SECONDARY),
    f"{CUT}, `stream_recovery: continue`": ("`hello ` + the secondary's continuation", ERROR_HELLO),
}
"""Scenario -> (what a ``ChatOpenRouterFallback.stream`` caller saw, what a proxy client saw)."""


MODELS = {"primary": P, "secondary": S}


def describe(text: str, served: str | None, *, failed: bool) -> str:
    """One outcome as the table shows it, from what the client received."""
    if failed:
        return f"`{text}`, then an error"
    if served in MODELS and text == answer_of(MODELS[served]):
        return served
    if served is not None and text.startswith("hello") and text.endswith(answer_of(S)):
        return f"`hello ` + the {served}'s continuation"
    return f"{served}: `{text}`"


def through_chat_model(server: StandIn, chain_name: str) -> str:
    llm = ChatOpenRouterFallback(
        chain=stream_chain(chain_name), api_key=KEY, base_url=server.base_url
    )
    pieces: list[str] = []
    last: Any = None
    try:
        for chunk in llm.stream("hi"):
            pieces.append(str(chunk.content))
            last = chunk
    except StreamInterruptedError as exc:
        return describe(exc.partial_text, None, failed=True)
    served = last.response_metadata["fallback"]["served_by"]
    return describe("".join(pieces), served, failed=False)


def through_proxy(client: Any, chain_name: str) -> str:
    got = ask(client, stream=True, chain=chain_name)
    served = (got.link or "").removeprefix(f"{chain_name}/")
    return describe(got.text, served, failed=got.error is not None)


@pytest.mark.parametrize("case", list(SCENARIOS))
def test_same_stream_fault_same_outcome(client, standin, case):
    """Each runtime shows the client what EXPECTED (and the docs' table) says, and asks the
    primary as often as it says (once unless noted)."""
    replies, chain_name = SCENARIOS[case]
    standin.script(P, *replies())
    ours = through_chat_model(standin, chain_name) + _retried(standin)
    standin.clear()
    standin.script(P, *replies())
    theirs = through_proxy(client, chain_name) + _retried(standin)
    assert EXPECTED[case] == (ours, theirs)


def _retried(server: StandIn) -> str:
    """The note an outcome gets when the primary was asked twice (once otherwise)."""
    asked = server.models_seen().count(P)
    assert asked in {1, 2}, server.models_seen()
    return TWICE if asked == 2 else ""


def table() -> str:
    """The docs' stream parity table, rendered from EXPECTED."""
    rows = ["| primary fault (stream) | chat model `.stream()` | proxy client |", "|---|---|---|"]
    rows += [f"| {case} | {ours} | {theirs} |" for case, (ours, theirs) in EXPECTED.items()]
    return "\n".join(rows) + "\n"


def test_docs_stream_table_is_what_the_tests_assert():
    """``UPDATE_DOCS=1`` rewrites the table from EXPECTED."""
    assert table() == generated_block(DOCS / "litellm.md", "stream-parity", table())
