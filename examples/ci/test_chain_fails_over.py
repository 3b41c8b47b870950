"""Prove in CI that our fallback chain fails over: no API key, no network, real HTTP.

Put this file next to your chain file (``chains.yaml``), then::

    pip install "langchain-openrouter-fallback[emulator,litellm]" pytest
    pytest test_chain_fails_over.py

The fixtures come from the package's pytest plugin. Without the ``litellm`` extra the proxy
drills are skipped (and say why). Docs: "Test your chain in CI" (docs/testing-in-ci.md).
"""

from collections.abc import Callable
from pathlib import Path

import pytest
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import Runnable

from langchain_openrouter_fallback import ChatOpenRouterFallback, FallbackChain
from langchain_openrouter_fallback.emulator import Emulator
from langchain_openrouter_fallback.testing import FaultCase, LiteLLMProxy, fault_matrix, faults

CHAIN_FILE = Path(__file__).with_name("chains.yaml")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every test taking ``case`` runs once per cell of the chain's fault matrix.

    Every link but the last x every fault family x invoke/stream. Drills cap each link's
    limits at 2 s, so a hanging link costs 2 s here, not its production timeout.
    """
    if "case" in metafunc.fixturenames:
        metafunc.parametrize("case", fault_matrix(CHAIN_FILE, time_limit=2), ids=str)


def build_app(base_url: str) -> Runnable[dict[str, str], str]:
    """The application under test: a prompt, the fallback chat model, a parser."""
    llm = ChatOpenRouterFallback(chain=CHAIN_FILE, base_url=base_url, api_key="not-a-real-key")
    prompt = ChatPromptTemplate.from_messages(
        [("system", "You answer support questions."), ("user", "{question}")]
    )
    return prompt | llm | StrOutputParser()


def test_the_app_answers_when_the_primary_is_down(openrouter_emulator: Emulator) -> None:
    """The primary answers 503: the app still answers, from the second link."""
    links = [link.model for link in FallbackChain.from_file(CHAIN_FILE).models]
    openrouter_emulator.set_scenario(faults.status(links[0], 503))

    answer = build_app(openrouter_emulator.base_url).invoke({"question": "Where is my order?"})

    assert answer
    assert links[:2] == [entry.body["model"] for entry in openrouter_emulator.log]


def test_every_link_but_the_last_can_fail(case: FaultCase, openrouter_emulator: Emulator) -> None:
    """Failing this link this way still gets an answer from a later link."""
    case.drill(openrouter_emulator)


def test_the_same_through_the_litellm_proxy(
    case: FaultCase, openrouter_litellm_proxy: Callable[..., LiteLLMProxy]
) -> None:
    """The same promise from the LiteLLM proxy config generated from the chain."""
    case.drill(openrouter_litellm_proxy(case.chain))
