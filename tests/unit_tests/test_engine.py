"""The run engine, driven by hand with no I/O: it returns every decision as an action.

What a driver would do is spelled out here step by step: ask :meth:`ChainRun.next`, report
what the attempt did, ask again. Hedging and ``stream_recovery`` are decisions the run
returns (``Cancel``, ``Show``, ``Finish``, ``Raise``), never callbacks into a driver.
"""

from __future__ import annotations

from typing import Any

import pytest

from langchain_openrouter_fallback import FallbackChain, StreamInterruptedError
from langchain_openrouter_fallback._decisions.health import default_registry
from langchain_openrouter_fallback._decisions.plan import plan
from langchain_openrouter_fallback._decisions.run import (
    Cancel,
    ChainRun,
    Finish,
    Listen,
    Output,
    Raise,
    Show,
    Try,
)
from langchain_openrouter_fallback._definition.catalog import load_catalog
from langchain_openrouter_fallback._definition.chain import HedgePolicy
from langchain_openrouter_fallback.wire import AttemptFailure, AttemptReader, ErrorKind, SSEEvent

CUT = AttemptFailure(ErrorKind.NETWORK, "connection reset")


def new_run(*, streaming: bool = True, **fields: Any) -> ChainRun[AttemptReader]:
    chain = FallbackChain.model_validate(
        {
            "name": "engine",
            "models": [
                {"model": "openai/gpt-4o-mini", "label": "a"},
                {"model": "anthropic/claude-haiku-4.5", "label": "b"},
            ],
            "breaker": {"enabled": False},
            **fields,
        }
    )
    catalog = load_catalog()
    steps = plan(chain, [{"role": "user", "content": "hi"}], {}, catalog)
    return ChainRun(
        chain,
        steps,
        registry=default_registry(),
        catalog=catalog,
        endpoint="http://127.0.0.1:9/api/v1",
        reader=AttemptReader,
        streaming=streaming,
    )


def start(run: ChainRun[AttemptReader]) -> Try[AttemptReader]:
    action = run.next()
    assert isinstance(action, Try)
    return action


def text(value: str) -> Output:
    return Output(value, text=value)


def outcomes(run: ChainRun[AttemptReader]) -> list[tuple[str, str, str | None]]:
    return [(a.label, a.outcome, a.error_kind or a.error) for a in run.attempts]


def test_a_break_after_content_is_raised_with_what_the_consumer_saw():
    """``raise``: output is shown at once; a failure after it ends the run."""
    run = new_run()
    first = start(run)
    assert first.body["stream"] is True
    run.output(first, Output("r", reasoning="thinking "))
    run.output(first, text("Hel"))
    shown = [run.next(), run.next()]
    assert [["r"], ["Hel"]] == [[o.item for o in s.outputs] for s in shown if isinstance(s, Show)]
    run.failed(first, CUT)
    action = run.next()
    assert isinstance(action, Raise)
    assert isinstance(action.error, StreamInterruptedError)
    assert "thinking Hel" == action.error.partial_text
    assert [("a", "error", "interrupted")] == outcomes(run)


def test_the_first_hedge_to_produce_wins_and_the_run_cancels_the_other():
    """A due hedge is a ``Try`` beside the running one; the first output cancels the rest."""
    run = new_run()
    # A hedge due at once (validation asks for more than 0 s; a driver would wait instead).
    run.chain = run.chain.model_copy(update={"hedge": HedgePolicy.model_construct(after=0.0)})
    primary, hedge = start(run), start(run)
    assert (Listen(None), "b") == (run.next(), hedge.step.label)
    run.output(hedge, text("hi"))
    cancel, show = run.next(), run.next()
    assert isinstance(cancel, Cancel)
    assert [primary] == cancel.tries
    assert isinstance(show, Show)
    run.output(primary, text("late"))  # a loser's late news changes nothing
    run.finished(hedge)
    finish = run.next()
    assert isinstance(finish, Finish)
    assert (hedge, "b") == (finish.tried, finish.attempt.label)
    assert [("a", "cancelled", "lost the hedge to b"), ("b", "ok", None)] == outcomes(run)


def test_a_hedge_not_yet_due_is_a_bounded_listen():
    """While the primary is young, the driver is told how long it may wait for news."""
    run = new_run(hedge={"after": 30})
    start(run)
    action = run.next()
    assert isinstance(action, Listen)
    assert action.timeout is not None
    assert 0 < action.timeout <= 30


def test_continue_asks_the_next_link_to_continue_what_was_shown():
    """``continue``: the next try carries the shown text as a prefill; repeats are not shown."""
    run = new_run(stream_recovery="continue")
    first = start(run)
    run.output(first, text("Hello "))
    run.next()
    run.failed(first, CUT)
    second = start(run)
    assert "continued" == second.recovered
    assert {"role": "assistant", "content": "Hello"} == second.body["messages"][-1]
    run.output(second, text(" world"))
    show = run.next()
    assert isinstance(show, Show)
    assert ["world"] == [o.text for o in show.outputs]
    run.finished(second)
    finish = run.next()
    assert isinstance(finish, Finish)
    assert [6, 5] == [a.contributed_chars for a in run.attempts]


@pytest.mark.parametrize("streaming", [True, False])
def test_held_output_is_released_only_by_the_attempt_that_finishes(streaming):
    """``buffer`` streams and whole answers: nothing shows until an attempt completes."""
    run = new_run(streaming=streaming, stream_recovery="buffer")
    first = start(run)
    first.reader.feed(SSEEvent(data='{"choices": [{"delta": {"content": "lost"}}]}'))
    run.output(first, text("lost"))
    run.failed(first, CUT)
    second = start(run)
    assert ("buffered" if streaming else None) == second.recovered
    run.output(second, text("kept"))
    run.finished(second)
    finish = run.next()
    assert isinstance(finish, Finish)
    assert ["kept"] == [o.item for o in finish.outputs]
    assert [("a", "error", "network"), ("b", "ok", None)] == outcomes(run)


def test_a_request_that_ends_early_cancels_what_still_runs():
    """The consumer left: the run records the running attempt and hands it back to stop."""
    run = new_run()
    first = start(run)
    assert [first] == run.close()
    assert [("a", "cancelled", "request ended")] == outcomes(run)
