"""Our client accepts an in-band error in both shapes: the wire's (integer code) and the docs'."""

from __future__ import annotations

import pytest

from langchain_openrouter_fallback import ChatOpenRouterFallback, UnrecoverableError
from tests.conftest import KEY

PRIMARY, SECONDARY = "openai/gpt-4o-mini", "anthropic/claude-haiku-4.5"


async def collect(llm: ChatOpenRouterFallback, method: str) -> list:
    if method == "stream":
        return list(llm.stream("hi"))
    return [c async for c in llm.astream("hi")]


@pytest.mark.parametrize("finish_reason", [None, "error"], ids=["finish-null", "finish-error"])
@pytest.mark.parametrize("code", [502, "server_error"], ids=["int-code-wire", "string-code-docs"])
@pytest.mark.parametrize("method", ["stream", "astream"])
async def test_in_band_error_before_content_falls_back(emu, code, finish_reason, method):
    spec = {"after": 0, "code": code, "finish_reason": finish_reason}
    emu.set_scenario({"faults": [{"model": PRIMARY, "midstream_error": spec}]})
    llm = ChatOpenRouterFallback(models=[PRIMARY, SECONDARY], api_key=KEY, base_url=emu.base_url)
    final = (await collect(llm, method))[-1].response_metadata["fallback"]
    assert SECONDARY == final["served_by"]
    first = final["attempts"][0]
    assert ("server", PRIMARY) == (first["error_kind"], first["model"])


@pytest.mark.parametrize("method", ["stream", "astream"])
async def test_recorded_in_band_400_is_read_by_its_code(emu, method):
    """The recorded minimax error (code 400, finish null) is classified by its integer code."""
    spec = {"after": 0, "code": 400, "message": "Token limit reached", "finish_reason": None}
    emu.set_scenario({"faults": [{"model": PRIMARY, "midstream_error": spec}]})
    llm = ChatOpenRouterFallback(models=[PRIMARY, SECONDARY], api_key=KEY, base_url=emu.base_url)
    with pytest.raises(UnrecoverableError, match=r"invalid_request 400\] Token limit reached"):
        await collect(llm, method)
