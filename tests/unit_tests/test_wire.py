"""The public wire seam: its names, what it loads, and how it reads one attempt."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import time
from typing import Any

import pytest

import langchain_openrouter_fallback as pkg
from langchain_openrouter_fallback import wire
from langchain_openrouter_fallback.wire import (
    AttemptFailure,
    AttemptReader,
    ErrorKind,
    Progress,
    SSEDecoder,
    SSEEvent,
)


def _loaded(code: str) -> list[str]:
    """Run ``code`` in a fresh interpreter; return every module it left in sys.modules."""
    probe = f"{code}\nimport sys, json\nprint(json.dumps(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=False
    )
    assert 0 == result.returncode, result.stderr
    return list(json.loads(result.stdout.splitlines()[-1]))


def test_wire_all_lists_each_name_once_and_every_name_exists():
    """``wire.__all__`` names each public name once, and the module hangs off the package."""
    assert len(set(wire.__all__)) == len(wire.__all__)
    for name in wire.__all__:
        assert getattr(wire, name) is not None
    assert "wire" in pkg.__all__
    assert wire is pkg.wire


def test_wire_loads_neither_langchain_nor_litellm():
    """The seam runs downward: importing it loads no LangChain face and no litellm."""
    loaded = _loaded("import langchain_openrouter_fallback.wire")
    heavy = [m for m in loaded if m.split(".")[0] in ("langchain_core", "litellm", "openai")]
    assert [] == heavy
    face = {
        "langchain_openrouter_fallback.chat_models",
        "langchain_openrouter_fallback._face.convert",
    }
    assert set() == face & set(loaded)


def _reader(**limits: Any) -> AttemptReader:
    return AttemptReader(Progress(deadline=time.monotonic() + 60, **limits))


def _event(body: Any) -> SSEEvent:
    return SSEEvent(data=json.dumps(body))


def _chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> SSEEvent:
    choice = {"index": 0, "delta": delta, "finish_reason": finish}
    return _event({"id": "gen-1", "model": "m/x", "choices": [choice], **extra})


@pytest.mark.parametrize(
    "body",
    [None, [], {"id": "x", "choices": None}, {"id": "x", "choices": []}],
    ids=["null", "list", "choices-null", "choices-empty"],
)
def test_a_body_that_is_no_completion_is_malformed_whole_or_answering_a_stream(body):
    """The same body is ``malformed`` read whole and read as a stream's only event."""
    with pytest.raises(AttemptFailure) as whole:
        _reader().read_body(body)
    with pytest.raises(AttemptFailure) as streamed:
        _reader().feed(SSEEvent(data=json.dumps(body), whole=True))
    assert (ErrorKind.MALFORMED, ErrorKind.MALFORMED) == (whole.value.kind, streamed.value.kind)


def test_a_failed_body_keeps_its_cost():
    """A 200 with ``finish_reason: error`` and ``usage.cost``: the failure raises, cost stays."""
    body = {
        "model": "m/x",
        "provider": "P",
        "choices": [{"finish_reason": "error", "message": {"content": ""}}],
        "error": {"code": 503, "message": "died"},
        "usage": {"cost": 0.04},
    }
    reader = _reader()
    with pytest.raises(AttemptFailure) as failure:
        reader.read_body(body)
    assert (ErrorKind.SERVER, 0.04, "m/x") == (
        failure.value.kind,
        reader.cost,
        reader.meta["model"],
    )


def test_an_inband_error_after_usage_keeps_the_cost_of_the_stream():
    """An error chunk carrying usage raises ``server``; its cost is the attempt's."""
    reader = _reader()
    with pytest.raises(AttemptFailure) as failure:
        reader.feed(_chunk({}, error={"code": 502, "message": "x"}, usage={"cost": 0.01}))
    assert (ErrorKind.SERVER, 502, 0.01) == (
        failure.value.kind,
        failure.value.status_code,
        reader.cost,
    )


def test_keepalives_are_not_output_and_a_stream_without_finish_is_cut():
    """Comments move no clock; ending before ``finish_reason`` is a ``network`` failure."""
    reader = _reader(first_token=1.0)
    decoder = SSEDecoder()
    assert decoder.feed(": OPENROUTER PROCESSING") == SSEEvent(comment="OPENROUTER PROCESSING")
    assert reader.feed(SSEEvent(comment="OPENROUTER PROCESSING")) is None
    assert reader.progress.first_token_at is None
    checked = reader.feed(_chunk({"reasoning": "hm"}))
    assert checked is not None
    assert checked.output
    assert reader.progress.first_token_at is not None
    with pytest.raises(AttemptFailure) as failure:
        reader.end()
    assert ErrorKind.NETWORK == failure.value.kind


def test_a_finished_stream_ends_cleanly_and_names_who_served():
    """``finish_reason`` plus usage: complete; who served and the cost are kept."""
    reader = _reader()
    reader.feed(_chunk({"content": "hi"}))
    reader.feed(_chunk({}, "stop", usage={"cost": 0.002}, provider="P"))
    reader.end()
    assert (True, "stop", 0.002, "P") == (
        reader.complete,
        reader.finish_reason,
        reader.cost,
        reader.meta["provider"],
    )


@pytest.mark.parametrize("limit", ["first_token", "stall", "total"])
def test_a_timeout_names_the_limit_that_fired(limit):
    """The limit is a typed field of the failure, not text to search."""
    progress = Progress(deadline=math.inf, first_token=1.0, stall=1.0)
    progress.expired = limit
    failure = progress.timeout_failure()
    assert (ErrorKind.TIMEOUT, limit) == (failure.kind, failure.limit)
