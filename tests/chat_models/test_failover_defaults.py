"""Issue 11: keys, circuit identity, retry defaults and constructor limits, through the emulator."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from langchain_openrouter_fallback import ChatOpenRouterFallback, ErrorKind, UnrecoverableError
from tests.chat_models.conftest import KEY

PRIMARY, SECONDARY = "openai/gpt-4o-mini", "anthropic/claude-haiku-4.5"


def completions(emu) -> list[str]:
    return [entry.body["model"] for entry in emu.log if entry.path.endswith("/completions")]


def call(llm: ChatOpenRouterFallback, method: str) -> Any:
    if method == "invoke":
        return llm.invoke("hi")
    if method == "ainvoke":
        return asyncio.run(llm.ainvoke("hi"))
    if method == "stream":
        return list(llm.stream("hi"))

    async def drain() -> list[Any]:
        return [chunk async for chunk in llm.astream("hi")]

    return asyncio.run(drain())


METHODS = ["invoke", "ainvoke", "stream", "astream"]


# -- item 6: a missing key is named before anything is sent -------------------------------


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("key", ["", "   ", None], ids=["empty", "blank", "unset"])
def test_missing_key_is_named_before_any_request(emu, method, key):
    """No key (or an empty one) raises an auth error naming both ways to pass it; nothing sent."""
    kwargs = {} if key is None else {"api_key": key}
    llm = ChatOpenRouterFallback(models=[PRIMARY, SECONDARY], base_url=emu.base_url, **kwargs)
    with pytest.raises(UnrecoverableError) as info:
        call(llm, method)
    assert ErrorKind.AUTH == info.value.kind
    assert "OPENROUTER_API_KEY" in str(info.value)
    assert "api_key" in str(info.value)
    assert [] == info.value.attempts
    assert [] == emu.log


def test_key_from_environment_is_enough(emu, monkeypatch):
    """The environment variable alone serves (the check reads the resolved key)."""
    monkeypatch.setenv("OPENROUTER_API_KEY", KEY)
    llm = ChatOpenRouterFallback(models=[PRIMARY], base_url=emu.base_url)
    assert PRIMARY == llm.invoke("hi").response_metadata["model_name"]
