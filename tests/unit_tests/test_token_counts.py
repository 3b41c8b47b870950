"""``get_num_tokens*``: the package's own 4-characters-per-token estimate, no tokenizer."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from langchain_core.tools import tool

from langchain_openrouter_fallback import ChatOpenRouterFallback, FallbacksExhaustedError

MESSAGES = [SystemMessage("s" * 40), HumanMessage("h" * 400), AIMessage("a" * 41)]


@tool
def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}"


def _llm(base_url: str = "http://127.0.0.1:9/api/v1") -> ChatOpenRouterFallback:
    return ChatOpenRouterFallback(models=["openai/gpt-4o-mini"], api_key="k", base_url=base_url)


def test_get_num_tokens_is_characters_over_four():
    """400 characters are 100 tokens; nothing asks for ``transformers``."""
    assert (100, 0, 2) == (
        _llm().get_num_tokens("x" * 400),
        _llm().get_num_tokens(""),
        _llm().get_num_tokens("¿qué tal?"),
    )


def test_counting_loads_no_tokenizer():
    """Counting tokens imports neither ``transformers`` nor ``tiktoken``."""
    code = (
        "import sys\n"
        "from langchain_openrouter_fallback import ChatOpenRouterFallback\n"
        "llm = ChatOpenRouterFallback(models=['openai/gpt-4o-mini'], api_key='k')\n"
        "print(llm.get_num_tokens('hello world'), llm.get_num_tokens_from_messages(['hi']))\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('transformers', 'tiktoken')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=60
    )
    assert 0 == result.returncode, result.stderr[-2000:]
    assert ["2 4", "[]"] == result.stdout.splitlines()


def test_messages_count_as_max_cost_counts_them(emu):
    """The count for messages (and tools) is the one ``max_cost`` reports when it skips."""
    llm = _llm(emu.base_url)
    expected = 40 // 4 + 400 // 4 + 41 // 4 + 3 * 4
    assert expected == llm.get_num_tokens_from_messages(MESSAGES)
    with_tools = llm.get_num_tokens_from_messages(MESSAGES, tools=[get_weather])
    assert with_tools > expected
    for runnable, count in ((llm, expected), (llm.bind_tools([get_weather]), with_tools)):
        with pytest.raises(FallbacksExhaustedError) as caught:
            runnable.invoke(MESSAGES, max_cost=1e-9)
        (skipped,) = caught.value.attempts
        assert f"~{count} prompt tokens" in skipped.error
        assert re.search(r"^worst case \$", skipped.error)
