"""Stream consumers learn of each failed attempt when it happens, before the answer's content."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import AIMessageChunk

from tests.telemetry.conftest import PRIMARY, SECONDARY, chain, model

FAILOVER = {"faults": [{"model": PRIMARY, "error": 503}, {"model": SECONDARY, "error": 429}]}
LIVE = "fallback_attempts"


def attempts_of(chunk: AIMessageChunk) -> list[tuple[str, str, str | None]]:
    return [
        (a["label"], a["outcome"], a["error_kind"]) for a in chunk.response_metadata.get(LIVE, [])
    ]


def story(chunks: list[AIMessageChunk]) -> list[Any]:
    """Each chunk as its live attempts, or ``"text"`` for content (runs of text collapsed)."""
    told: list[Any] = []
    for chunk in chunks:
        if chunk.response_metadata.get(LIVE):
            assert "" == chunk.content  # a live attempt never carries text
            told.extend(attempts_of(chunk))
        elif chunk.content and told[-1:] != ["text"]:
            told.append("text")
    return told


EXPECTED = [("primary", "error", "server"), ("secondary", "error", "rate_limit"), "text"]


def test_stream_tells_each_failed_attempt_before_content(emu):
    """`stream`: a content-free chunk per failed attempt, then the text, unchanged."""
    emu.set_scenario(FAILOVER)
    chunks = list(model(emu, chain("live-stream")).stream("hi"))
    assert EXPECTED == story(chunks)
    full = chunks[0]
    for chunk in chunks[1:]:
        full += chunk
    assert full.content == "".join(str(c.content) for c in chunks if c.content)
    assert "third" == full.response_metadata["fallback"]["served_by"]
    # Added up, the live attempts are the failed ones of the final record, in order.
    assert full.response_metadata["fallback"]["attempts"][:2] == full.response_metadata[LIVE]


async def test_astream_tells_each_failed_attempt_before_content(emu):
    """`astream`: the same story."""
    emu.set_scenario(FAILOVER)
    chunks = [c async for c in model(emu, chain("live-astream")).astream("hi")]
    assert EXPECTED == story(chunks)


async def test_astream_events_shows_the_failed_attempt_before_the_first_content(emu):
    """`astream_events` (even around `ainvoke`): failed attempts arrive as stream events first."""
    emu.set_scenario(FAILOVER)
    llm = model(emu, chain("live-events"))
    chunks = [
        event["data"]["chunk"]
        async for event in llm.astream_events("hi", version="v2")
        if event["event"] == "on_chat_model_stream"
    ]
    assert EXPECTED == story(chunks)


async def test_langgraph_messages_mode_shows_the_failed_attempt_first(emu):
    """LangGraph `stream_mode="messages"` around a node that calls `ainvoke`: the same story."""
    graphs = pytest.importorskip(
        "langgraph.graph"
    )  # in the dev lock (via langchain), not the lanes'
    emu.set_scenario(FAILOVER)
    llm = model(emu, chain("live-graph"))

    async def call(state: dict[str, Any]) -> dict[str, Any]:
        return {"messages": [await llm.ainvoke(state["messages"])]}

    graph = graphs.StateGraph(graphs.MessagesState).add_node("call", call)
    graph = graph.add_edge(graphs.START, "call").add_edge("call", graphs.END).compile()
    chunks = [
        message
        async for message, _ in graph.astream(
            {"messages": [("user", "hi")]}, stream_mode="messages"
        )
        if isinstance(message, AIMessageChunk)
    ]
    assert EXPECTED == story(chunks)


def test_invoke_result_is_unchanged(emu):
    """A whole answer gets no live chunks: its attempts are on the message as before."""
    emu.set_scenario(FAILOVER)
    message = model(emu, chain("live-invoke")).invoke("hi")
    assert LIVE not in message.response_metadata
    assert 3 == len(message.response_metadata["fallback"]["attempts"])
