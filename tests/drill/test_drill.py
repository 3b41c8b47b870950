"""``openrouter-fallback drill``: tables, JSON, exit codes, faults against the emulator."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from langchain_openrouter_fallback import FallbackChain
from langchain_openrouter_fallback._cli.drill import (
    LIVE_INVALID_MODEL,
    FaultSpec,
    emulator_scenario,
    live_chain,
    percentile,
)
from langchain_openrouter_fallback._cli.main import main
from tests.conftest import EXAMPLE_CHAINS

DEFAULT = str(EXAMPLE_CHAINS / "default.yaml")
ALL_DOWN = [
    "--fail",
    "primary=503",
    "--fail",
    "secondary=503",
    "--fail",
    "budget-fallback=502",
    "--fail",
    "last-resort=429",
]


@pytest.mark.parametrize("path", sorted(EXAMPLE_CHAINS.glob("*.*")), ids=lambda p: p.name)
def test_drill_prints_a_table_per_chain(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Every example file drills with its primary failing, and every request is answered."""
    assert 0 == main(["drill", str(path), "-n", "3", "--fail", "primary=503"])
    out = capsys.readouterr()
    assert ["link", "model", "attempts", "served", "skipped"] == out.out.splitlines()[1].split()[:5]
    assert "answered 3/3" in out.out
    assert "3/3" in out.err  # the progress bar


def test_default_chain_fails_over_to_secondary(capsys: pytest.CaptureFixture[str]) -> None:
    """Primary 503: the secondary serves everything; the breaker then skips the primary."""
    assert 0 == main(["drill", DEFAULT, "-n", "6", "--fail", "primary=503", "--json"])
    report = json.loads(capsys.readouterr().out)
    links = {row["label"]: row for row in report["links"]}
    assert (6, 0) == (report["answered"], report["unanswered"])
    assert 6 == links["secondary"]["served"]
    assert 0 == links["primary"]["served"]
    assert {"server": links["primary"]["attempts"]} == links["primary"]["errors"]
    assert 6 == links["primary"]["attempts"] + links["primary"]["skipped"]
    assert links["secondary"]["p50_ms"] is not None


def test_unanswered_requests_exit_non_zero(capsys: pytest.CaptureFixture[str]) -> None:
    """Every link down: exit code 1 and the table says nothing was answered."""
    assert 1 == main(["drill", DEFAULT, "-n", "2", *ALL_DOWN])
    out = capsys.readouterr().out
    assert "answered 0/2" in out
    assert "rate_limit" in out


def test_stream_cut_and_hang(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A hanging primary times out and a cut secondary interrupts after content: unanswered."""
    chain = tmp_path / "tight.yaml"
    chain.write_text(
        "name: tight\nbreaker: {enabled: false}\nmodels:\n"
        "  - {model: openai/gpt-4o-mini, label: primary, timeout: 0.3}\n"
        "  - {model: anthropic/claude-haiku-4.5, label: secondary, timeout: 2}\n"
        "  - {model: google/gemini-2.5-flash, label: third, timeout: 2}\n",
        encoding="utf-8",
    )
    code = main(["drill", str(chain), "-n", "2", "--stream", "--hang", "primary",
                 "--fail", "secondary=cut", "--json"])  # fmt: skip
    report = json.loads(capsys.readouterr().out)
    links = {row["label"]: row for row in report["links"]}
    assert 1 == code
    assert {"timeout": 2} == links["primary"]["errors"]
    assert {"interrupted": 2} == links["secondary"]["errors"]
    assert ["StreamInterruptedError"] * 2 == [r["error"] for r in report["results"]]


def test_scenario_file_and_keepalive(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``--scenario`` starts from a file; keep-alives alone never count as a first token."""
    scenario = tmp_path / "s.yaml"
    scenario.write_text("faults:\n  - {model: openai/gpt-4o-mini, error: 502}\n", encoding="utf-8")
    chain = tmp_path / "c.yaml"
    chain.write_text(
        "name: c\nbreaker: {enabled: false}\nmodels:\n"
        "  - {model: anthropic/claude-haiku-4.5, label: primary, first_token_timeout: 0.3}\n"
        "  - {model: openai/gpt-4o-mini, label: secondary}\n"
        "  - {model: google/gemini-2.5-flash, label: third}\n",
        encoding="utf-8",
    )
    code = main(["drill", str(chain), "-n", "1", "--stream", "--scenario", str(scenario),
                 "--fail", "primary=keepalive", "--json"])  # fmt: skip
    report = json.loads(capsys.readouterr().out)
    assert 0 == code
    # A 502 gets the default quick retry on the same link before the chain moves on.
    expected = [("primary", "timeout"), ("secondary", "server"), ("secondary", "server")]
    assert [*expected, ("third", None)] == [
        (a["label"], a["error_kind"]) for a in report["results"][0]["attempts"]
    ]


def test_bad_fault_and_unknown_label_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    """Usage errors are reported on stderr with exit code 2."""
    assert 2 == main(["drill", DEFAULT, "--fail", "primary=explode"])
    assert 2 == main(["drill", DEFAULT, "--fail", "nobody=503"])
    err = capsys.readouterr().err
    assert "bad fault" in err
    assert "no link 'nobody'" in err


def test_live_drill_swaps_in_an_invalid_model(capsys: pytest.CaptureFixture[str]) -> None:
    """``--live`` fails a link with an invalid model id; it needs a key and status faults only."""
    chain = FallbackChain.from_file(DEFAULT)
    live = live_chain(chain, [FaultSpec("primary", "503")])
    assert [LIVE_INVALID_MODEL, "openai/gpt-4o"] == [link.model for link in live.models[:2]]
    with pytest.raises(ValueError, match="cannot be injected live"):
        live_chain(chain, [FaultSpec("primary", "hang")])
    assert 2 == main(["drill", DEFAULT, "--live", "-n", "1"])
    assert "needs OPENROUTER_API_KEY" in capsys.readouterr().err


def test__emulator_scenario_and_percentile() -> None:
    """Faults map to emulator entries ahead of the file's; nearest-rank percentiles."""
    chain = FallbackChain.from_file(DEFAULT)
    faults = [FaultSpec.parse("secondary=flap"), FaultSpec.parse("primary=503")]
    scenario = emulator_scenario(chain, faults, {"seed": 1, "faults": [{"error": 500}]})
    assert {
        "seed": 1,
        "faults": [
            {"model": "openai/gpt-4o", "flap": {"down": 1, "up": 1}, "error": 503},
            {"model": "anthropic/claude-sonnet-4.5", "error": 503},
            {"error": 500},
        ],
    } == scenario
    assert (None, 2.0, 10.0) == (
        percentile([], 50),
        percentile([3, 1, 2, 10], 50),
        percentile(list(range(11)), 95),
    )


def test_fail_needs_an_effect(capsys: pytest.CaptureFixture[str]) -> None:
    """``--fail primary`` is a usage error naming the flag, not a silent 503."""
    assert 2 == main(["drill", DEFAULT, "-n", "1", "--fail", "primary"])
    err = capsys.readouterr().err
    assert err.startswith(
        "error: --fail primary: bad fault: expected LABEL=EFFECT (e.g. primary=503)"
    )
    with pytest.raises(ValueError, match="--fail primary:"):
        FaultSpec.parse("primary")


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (
            ["--fail", "nobody=503"],
            "error: --fail nobody=503: chain 'default' has no link 'nobody'",
        ),
        (["--hang", "nobody"], "error: --hang nobody: chain 'default' has no link 'nobody'"),
        (["--fail", "primary=explode"], "error: --fail primary=explode: bad fault"),
    ],
)
def test_fault_errors_name_their_flag(
    argv: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A fault that cannot apply says which option asked for it."""
    assert 2 == main(["drill", DEFAULT, "-n", "1", *argv])
    assert capsys.readouterr().err.startswith(expected)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("faults:\n  - model: x\n    bogus: 1\n", "faults.0.bogus (line 3): unknown field"),
        ("faults: 3\n", "faults (line 1): Input should be a valid list"),
        ("- 1\n", "the document must be a mapping"),
    ],
)
def test_scenario_errors_name_the_file(
    tmp_path: Path, text: str, reason: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--scenario FILE`` problems are one line naming FILE (not ``<scenario>``), exit 2."""
    path = tmp_path / "scenario.yaml"
    path.write_text(text)
    assert 2 == main(["drill", DEFAULT, "-n", "1", "--scenario", str(path)])
    err = capsys.readouterr().err
    assert err.startswith(f"error: {path}: invalid scenario: {reason}")
    assert 1 == len(err.splitlines())


ACCEPTING = {
    "name": "checked",
    "accept": ["non_empty", "no_refusal", "complete", "schema"],
    "stream_recovery": "buffer",
    "models": [
        {"model": "openai/gpt-4o-mini", "label": "primary"},
        {"model": "openai/gpt-4.1-mini", "label": "secondary"},
    ],
}


@pytest.mark.parametrize(
    ("effect", "check"),
    [
        ("empty", "non_empty"),
        ("refusal", "no_refusal"),
        ("filter", "no_refusal"),
        ("length", "complete"),
        ("prose", "schema"),
    ],
)
@pytest.mark.parametrize("stream", [False, True], ids=["invoke", "stream"])
def test_drill_scripts_each_rejection(effect, check, stream, tmp_path, capsys):
    """``--fail primary=EFFECT`` sends an unusable answer; the chain's check turns it down."""
    path = tmp_path / "checked.json"
    path.write_text(json.dumps(ACCEPTING))
    args = ["drill", str(path), "-n", "2", "--fail", f"primary={effect}", "--json"]
    assert 0 == main([*args, "--stream"] if stream else args)
    report = json.loads(capsys.readouterr().out)
    links = {row["label"]: row for row in report["links"]}
    assert (2, 2) == (report["answered"], links["secondary"]["served"])
    assert {"rejected": 2} == links["primary"]["errors"]
    first = report["results"][0]["attempts"][0]
    assert check == first["rejected_by"]
    assert [] == report["notes"]


def test_drill_says_when_the_chain_does_not_check_the_scripted_answer(tmp_path, capsys):
    """An unusable answer for a chain without the matching check is served, and the drill says so."""
    path = tmp_path / "plain.json"
    path.write_text(json.dumps({**ACCEPTING, "accept": []}))
    assert 0 == main(["drill", str(path), "-n", "1", "--fail", "primary=empty"])
    out = capsys.readouterr().out
    assert "note: --fail primary=empty: the chain's accept has no non_empty check" in out
