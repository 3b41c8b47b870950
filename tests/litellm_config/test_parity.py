"""The same faults through ChatOpenRouterFallback and through the generated Router pick the same link.

Differences by design are asserted too (and listed in the README): a malformed request, a bad key
or an empty balance raise at once in the chat model, because every link shares the request and the
key; LiteLLM falls back on them.
"""

from __future__ import annotations

import logging

import pytest

import litellm_config
from langchain_openrouter_fallback import ChatOpenRouterFallback, UnrecoverableError
from tests.conftest import KEY
from tests.litellm_config.conftest import chain

pytestmark = [
    pytest.mark.litellm,
    pytest.mark.filterwarnings("ignore:.* using the `ReadOnly` qualifier:UserWarning"),
]

P, S, T = "openai/gpt-4o-mini", "anthropic/claude-haiku-4.5", "google/gemini-2.5-flash"
LINKS = [
    {"model": P, "label": "primary", "timeout": 2},
    {"model": S, "label": "secondary", "timeout": 5},
    {"model": T, "label": "last", "timeout": 5},
]

SAME = {
    "503": [{"model": P, "error": 503}],
    "500": [{"model": P, "error": 500}],
    "502 (legacy metadata)": [{"model": P, "error": {"status": 502, "metadata_style": "legacy"}}],
    "529": [{"model": P, "error": 529}],
    "429 + Retry-After": [{"model": P, "error": {"status": 429, "retry_after": 1}}],
    "408": [{"model": P, "error": 408}],
    "524": [{"model": P, "error": 524}],
    "404 no endpoints": [{"model": P, "error": 404}],
    "403 moderation": [{"model": P, "error": 403}],
    "400 context length": [{"model": P, "error": "context_length"}],
    "hang (timeout 2 s)": [{"model": P, "hang": True}],
    "200 with error body": [{"model": P, "error_200": True}],
    "TCP reset": [{"model": P, "reset": True}],
    "two links down": [{"model": P, "error": 503}, {"model": S, "error": 502}],
}
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
    """Chat model and Router agree on which link serves."""
    emu.set_scenario({"faults": SAME[case]})
    llm, router = both(quiet, emu)
    ours = llm.invoke("hi").response_metadata["fallback"]["served_by"]
    assert ours == router_label(router)


@pytest.mark.parametrize("case", list(DIFFERENT))
def test_differences_by_design(quiet, emu, case):
    """Request/key/credit errors raise at once in the chat model; the Router falls back."""
    emu.set_scenario({"faults": [{"model": P, "error": DIFFERENT[case]}]})
    llm, router = both(quiet, emu)
    with pytest.raises(UnrecoverableError):
        llm.invoke("hi")
    assert "secondary" == router_label(router)
