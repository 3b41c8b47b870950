"""The pytest plugin and ``langchain_openrouter_fallback.testing``: fixtures, faults, matrix.

The plugin is active in this suite too (the package is installed), so its fixtures are used
here directly; what needs a fresh interpreter or a fresh pytest runs in a subprocess.
"""

from __future__ import annotations

import json
import subprocess
import sys

import httpx
import pytest

from langchain_openrouter_fallback import FallbackChain, testing
from langchain_openrouter_fallback.emulator import Emulator, load_scenario
from langchain_openrouter_fallback.testing import FAMILIES, FaultCase, fault_matrix, faults
from langchain_openrouter_fallback.testing._matrix import capped

HEAVY = ("httpx", "langchain_core", "pydantic", "yaml", "uvicorn", "starlette", "litellm",
         "openai", "langchain_openrouter_fallback.emulator")  # fmt: skip


def chain(*labels: str, mode: str = "client", **extra: object) -> FallbackChain:
    models = ["openai/gpt-4o-mini", "anthropic/claude-haiku-4.5", "google/gemini-2.5-flash"]
    links = [
        {"model": model, "label": label, "timeout": 5, "first_token_timeout": 2}
        for model, label in zip(models, labels, strict=False)
    ]
    return FallbackChain.model_validate({"name": "app", "mode": mode, "models": links, **extra})


def test_the_plugin_module_imports_nothing_heavy(tmp_path):
    """Importing the plugin (what pytest does at start-up) loads no server, LangChain or httpx."""
    code = (
        "import json, sys\n"
        "import langchain_openrouter_fallback.testing._plugin\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=tmp_path)  # fmt: skip
    loaded = json.loads(out.stdout)
    assert [] == [m for m in loaded if m.split(".")[0] in HEAVY or m.startswith(HEAVY[-1])]
    assert "pytest" in loaded


_SEEN: dict[str, Emulator] = {}


def test_openrouter_emulator_is_running_for_the_test(openrouter_emulator):
    """Real HTTP on 127.0.0.1: a completion is answered and logged."""
    _SEEN["function"] = openrouter_emulator
    assert openrouter_emulator.base_url.startswith("http://127.0.0.1:")
    response = httpx.post(
        f"{openrouter_emulator.base_url}/chat/completions",
        json={"model": "openai/gpt-4o", "messages": [{"role": "user", "content": "hi"}]},
        headers={"Authorization": "Bearer any"},
        timeout=30,
    )
    assert 200 == response.status_code
    assert [200] == [entry.status for entry in openrouter_emulator.log]


def test_openrouter_emulator_is_a_new_one_per_test(
    openrouter_emulator, openrouter_emulator_session
):
    """The previous test's emulator was stopped; this one is fresh; the session one differs."""
    previous = _SEEN["function"]
    assert previous is not openrouter_emulator
    assert previous.port is None  # stopped
    assert [] == openrouter_emulator.log
    assert openrouter_emulator_session is not openrouter_emulator
    _SEEN["session"] = openrouter_emulator_session


def test_openrouter_emulator_session_is_shared(openrouter_emulator_session):
    """Every test of the session gets the same running emulator."""
    assert _SEEN["session"] is openrouter_emulator_session
    assert openrouter_emulator_session.port is not None


@pytest.mark.parametrize(
    ("helper", "effect"),
    [
        (lambda m: faults.status(m, 429, retry_after=2), "error"),
        (faults.hang, "hang"),
        (faults.keepalives_only, "slow_first_token"),
        (faults.reset, "reset"),
        (faults.cut_before_content, "cut_after"),
        (faults.cut_after_content, "cut_after"),
        (faults.inband_error, "error_200"),
        (lambda m: faults.inband_error(m, after_chunks=2), "midstream_error"),
        (faults.malformed, "choices_null"),
        (lambda m: faults.malformed(m, after_chunks=1), "malformed_chunk"),
        (faults.reasoning_then_break, "cut_after"),
        (faults.unusable_answer, "answer"),
        (lambda m: faults.unusable_answer(m, refusal="I can't."), "answer"),
    ],
)
def test_each_helper_is_one_valid_fault_on_that_model(helper, effect):
    """Each helper's document is a valid scenario with one fault, on the model named."""
    scenario = load_scenario(helper("openai/gpt-4o"))
    assert [("openai/gpt-4o", effect)] == [(f.model, f.effect) for f in scenario.faults]


def test_reasoning_then_break_cuts_between_reasoning_and_content():
    """The cut comes after the reasoning chunks and before the first content chunk."""
    scenario = load_scenario(faults.reasoning_then_break("openai/gpt-4o", chunks=2))
    assert 2 == scenario.faults[0].cut_after
    assert scenario.models["openai/gpt-4o"].scripted.reasoning
    assert scenario.stream.chunks > 2  # the reasoning splits into more chunks than are sent


def test_scenario_combines_faults_in_order():
    """``scenario`` keeps every fault in order, merges models and applies settings last."""
    combined = faults.scenario(
        faults.status("a/one", 503), faults.reasoning_then_break("b/two"), seed=7
    )
    assert ["a/one", "b/two"] == [f["model"] for f in combined["faults"]]
    assert {"b/two"} == set(combined["models"])
    assert 7 == combined["seed"]
    load_scenario(combined)


def test_matrix_covers_every_link_but_the_last():
    """Three links: primary and secondary, each with every family, per method it can hit."""
    cases = fault_matrix(chain("primary", "secondary", "last"))
    assert {"primary", "secondary"} == {case.label for case in cases}
    per_link = {(c.fault, c.method) for c in cases if c.label == "secondary"}
    assert ("cut-before-content", "stream") in per_link
    assert ("malformed", "invoke") in per_link
    assert ("cut-before-content", "invoke") not in per_link  # a whole body has no chunks
    expected = 3 * 2 + sum(len(family.methods) for family in FAMILIES.values())
    assert expected == len(per_link)
    assert "app-secondary-hang-stream" in {str(c) for c in cases}


def test_matrix_sends_the_request_past_earlier_links():
    """Earlier links answer 503, so the request reaches the failing link."""
    (case,) = fault_matrix(chain("primary", "secondary", "last"), faults=["hang"],
                           methods=["invoke"], statuses=()) [1:]  # fmt: skip
    assert "secondary" == case.label
    effects = [(f.model, f.effect) for f in load_scenario(case.scenario).faults]
    assert [("openai/gpt-4o-mini", "error"), ("anthropic/claude-haiku-4.5", "hang")] == effects


def test_a_single_link_chain_still_gets_the_primarys_cases():
    """Nothing to fall back to: the primary's cases exist (and fail when drilled)."""
    cases = fault_matrix(chain("only"))
    assert {"only"} == {case.label for case in cases}


def test_server_mode_gets_status_faults_only():
    """OpenRouter moves to the next model on errors only: server chains drill statuses."""
    cases = fault_matrix(chain("a", "b", "c", mode="server"), statuses=(503,))
    assert {"status-503"} == {case.fault for case in cases}


def test_unknown_family_is_refused():
    """A typo in ``faults`` is an error naming the known families."""
    with pytest.raises(ValueError, match="unknown fault families \\['hnag'\\]"):
        fault_matrix(chain("a", "b"), faults=["hnag"])


def test_time_limit_caps_every_limit():
    """``time_limit`` lowers limits (never raises them) and gives a timeout to links without."""
    loose = FallbackChain.model_validate(
        {"name": "x", "models": [
            {"model": "openai/gpt-4o", "timeout": 30, "first_token_timeout": 10},
            {"model": "openai/gpt-4o-mini", "stall_timeout": 0.5},
        ]}
    )  # fmt: skip
    first, second = capped(loose, 2).models
    assert (2, 2, None) == (first.timeout, first.first_token_timeout, first.stall_timeout)
    assert (2, None, 0.5) == (second.timeout, second.first_token_timeout, second.stall_timeout)
    assert {2} == {c.chain.models[0].timeout for c in fault_matrix(loose, time_limit=2)}


def test_drill_passes_when_a_later_link_answers(openrouter_emulator):
    """A 503 primary: the secondary answers, and the drill says what the emulator saw."""
    (case,) = fault_matrix(chain("primary", "secondary"), faults=["status-503"],
                           methods=["stream"])  # fmt: skip
    observed = case.drill(openrouter_emulator)
    assert "anthropic/claude-haiku-4.5" == observed.served_model
    assert {"openai/gpt-4o-mini", "anthropic/claude-haiku-4.5"} == observed.tried


def test_drill_failure_names_fault_link_and_attempts(openrouter_emulator):
    """One link, 503: the assertion names the fault, the link and shows the attempt table."""
    (case,) = fault_matrix(chain("only"), faults=["status-503"], methods=["invoke"])
    with pytest.raises(AssertionError) as failure:
        case.drill(openrouter_emulator)
    message = str(failure.value)
    assert message.startswith("fault 'status-503' on link 'only' (openai/gpt-4o-mini), invoke")
    assert "expected: an answer from a later link (none)" in message
    assert "no answer from any later link (FallbacksExhaustedError)" in message
    assert "link  model" in message  # the drill's table
    assert "only (openai/gpt-4o-mini): error [server 503]" in message  # the attempt list


def test_drill_fails_when_the_failing_link_serves(openrouter_emulator):
    """A case whose fault never fires for the link's answer: served by the link itself."""
    base = chain("primary", "secondary")
    case = FaultCase(base, 0, "nothing", "invoke", {"faults": []})
    with pytest.raises(AssertionError, match="did not come from a link after 'primary'"):
        case.drill(openrouter_emulator)


def test_drill_fails_when_the_request_never_reaches_the_link(openrouter_emulator):
    """Failing the secondary while the primary answers proves nothing: the drill says so."""
    base = chain("primary", "secondary", "last")
    case = FaultCase(base, 1, "hang", "invoke", faults.hang(base.models[1].model))
    with pytest.raises(AssertionError, match="never reached link 'secondary'"):
        case.drill(openrouter_emulator)


def test_a_loud_interruption_keeps_the_promise_only_without_buffer(openrouter_emulator):
    """Cut after content: ``raise`` ends loudly (passes); ``buffer`` must answer (and does)."""
    for recovery, answered in (("raise", 0), ("buffer", 1)):
        base = chain("primary", "secondary", stream_recovery=recovery)
        (case,) = fault_matrix(base, faults=["cut-after-content"])
        observed = case.drill(openrouter_emulator)
        assert answered == observed.report.answered


def test_the_testing_namespace_exports_what_it_lists():
    """``__all__`` is sorted and every name in it resolves (names load on first access)."""
    assert sorted(testing.__all__) == testing.__all__
    for name in testing.__all__:
        assert getattr(testing, name) is not None
    assert faults is testing.faults
