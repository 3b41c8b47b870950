"""The same faults through ChatOpenRouterFallback and through the generated Router pick the same link.

Differences by design are asserted too: a malformed request, a bad key or an empty balance raise
at once in the chat model, because every link shares the request and the key; LiteLLM falls back
on them. The "Same faults, same link" table of ``docs/litellm.md`` is rendered from these cases
(``UPDATE_DOCS=1`` rewrites it), so every row is an outcome a test asserts.
"""

from __future__ import annotations

import logging

import pytest

import litellm_config
from langchain_openrouter_fallback import ChatOpenRouterFallback, UnrecoverableError
from tests.conftest import KEY
from tests.docs.pages import DOCS, generated_block
from tests.litellm_config.conftest import chain, models_called

pytestmark = pytest.mark.litellm

P, S, T = "openai/gpt-4o-mini", "anthropic/claude-haiku-4.5", "google/gemini-2.5-flash"
LINKS = [
    {"model": P, "label": "primary", "timeout": 2},
    {"model": S, "label": "secondary", "timeout": 5},
    {"model": T, "label": "last", "timeout": 5},
]

# Scenario -> (primary faults, the link that serves: the docs' "Same faults, same link" table).
SAME: dict[str, tuple[list[dict[str, object]], str]] = {
    "503": ([{"model": P, "error": 503}], "secondary"),
    "500": ([{"model": P, "error": 500}], "secondary"),
    "502 (legacy metadata)": (
        [{"model": P, "error": {"status": 502, "metadata_style": "legacy"}}],
        "secondary",
    ),
    "529": ([{"model": P, "error": 529}], "secondary"),
    "429 with `Retry-After: 1`": (
        [{"model": P, "error": {"status": 429, "retry_after": 1}}],
        "secondary",
    ),
    "408": ([{"model": P, "error": 408}], "secondary"),
    "524": ([{"model": P, "error": 524}], "secondary"),
    "404 no endpoints": ([{"model": P, "error": 404}], "secondary"),
    "403 moderation": ([{"model": P, "error": 403}], "secondary"),
    "400 context length": ([{"model": P, "error": "context_length"}], "secondary"),
    "hang past `timeout` (2 s)": ([{"model": P, "hang": True}], "secondary"),
    "200 with a 502 `error` body": ([{"model": P, "error_200": True}], "secondary"),
    "TCP reset": ([{"model": P, "reset": True}], "secondary"),
    "primary 503 and secondary 502": (
        [{"model": P, "error": 503}, {"model": S, "error": 502}],
        "last",
    ),
}
RETRIED_ONCE = {"429 with `Retry-After: 1`"}
"""The docs: "secondary (after one retry)": both runtimes send the primary exactly two requests."""
RETRIED_BY_CHAT_MODEL = {"500", "502 (legacy metadata)", "200 with a 502 `error` body", "TCP reset"}
"""The docs: the chat model's default quick retry (500/502/504, reset before any byte) cannot be
expressed in LiteLLM's retry policy (the linter says why): the chat model sends the primary two
requests, the Router one."""
DIFFERENT = {"400 bad request": 400, "401 bad key": 401, "402 no credits": 402}


@pytest.fixture(scope="module")
def quiet(litellm):
    litellm.suppress_debug_info = True
    for name in ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    return litellm


def both(litellm, emu):
    the_chain = chain(models=LINKS, breaker={"enabled": False})
    llm = ChatOpenRouterFallback(chain=the_chain, api_key=KEY, base_url=emu.base_url)
    router = litellm.Router(**litellm_config.router_kwargs(the_chain, api_base=emu.base_url))
    return llm, router


def router_label(router) -> str:
    response = router.completion(model="c", messages=[{"role": "user", "content": "hi"}])
    return response._hidden_params["model_id"].removeprefix("c/")


@pytest.mark.parametrize("case", list(SAME))
def test_same_link_serves(quiet, emu, case):
    """Chat model and Router both serve from the link the docs' table names."""
    faults, expected = SAME[case]
    emu.set_scenario({"faults": faults})
    llm, router = both(quiet, emu)
    assert expected == llm.invoke("hi").response_metadata["fallback"]["served_by"]
    ours = models_called(emu)
    emu.clear_log()
    assert expected == router_label(router)
    theirs = models_called(emu)
    if case in RETRIED_ONCE:
        assert [P, P] == [m for m in ours if m == P]
        assert [P, P] == [m for m in theirs if m == P]
    elif case in RETRIED_BY_CHAT_MODEL:
        assert ([P, P], [P]) == ([m for m in ours if m == P], [m for m in theirs if m == P])
    elif case != "primary 503 and secondary 502":
        assert ([P], [P]) == ([m for m in ours if m == P], [m for m in theirs if m == P])


@pytest.mark.parametrize("case", list(DIFFERENT))
def test_differences_by_design(quiet, emu, case):
    """Request/key/credit errors raise at once in the chat model; the Router falls back."""
    emu.set_scenario({"faults": [{"model": P, "error": DIFFERENT[case]}]})
    llm, router = both(quiet, emu)
    with pytest.raises(UnrecoverableError):
        llm.invoke("hi")
    assert "secondary" == router_label(router)


def outcome(case: str) -> tuple[str, str]:
    """What the docs' table says of a case: (chat model, Router), as the tests above assert."""
    if case in DIFFERENT:
        return "**raises at once** (`UnrecoverableError`)", "falls back to secondary"
    served = SAME[case][1]
    if case in RETRIED_BY_CHAT_MODEL:
        return (
            f"{served} after one quick retry (2 primary requests)",
            f"{served} (1 primary request)",
        )
    if case in RETRIED_ONCE:
        return f"{served} (after one retry)", f"{served} (after one retry)"
    return served, served


def table() -> str:
    """The docs' "Same faults, same link" table: cases with the same outcomes share a row."""
    rows: dict[tuple[str, str], list[str]] = {}
    for case in [*SAME, *DIFFERENT]:
        rows.setdefault(outcome(case), []).append(case)
    lines = ["| primary fault | chat model | Router (generated config) |", "|---|---|---|"]
    lines += [
        f"| {', '.join(cases)} | {ours} | {theirs} |" for (ours, theirs), cases in rows.items()
    ]
    return "\n".join(lines) + "\n"


def test_docs_same_link_table_is_what_the_tests_assert():
    """``UPDATE_DOCS=1`` rewrites the table from SAME and DIFFERENT."""
    assert table() == generated_block(DOCS / "litellm.md", "same-link-parity", table())
