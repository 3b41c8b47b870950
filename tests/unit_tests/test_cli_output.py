"""What the command line prints for several files, closed pipes, bad URLs, wide labels, money."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from langchain_openrouter_fallback import ChatOpenRouterFallback, FallbacksExhaustedError
from langchain_openrouter_fallback._cli.main import main
from langchain_openrouter_fallback._cli.table import display_width, table
from langchain_openrouter_fallback._decisions.money import usd
from tests.conftest import EXAMPLE_CHAINS

DEFAULT = str(EXAMPLE_CHAINS / "default.yaml")
SERVER = str(EXAMPLE_CHAINS / "server-side.yaml")
SEVERAL = str(EXAMPLE_CHAINS / "capabilities.yaml")  # four chains in one file


def test_payloads_of_several_files_is_one_json_document(capsys):
    """Two files (five chains) print one JSON array that ``json.loads`` reads whole."""
    assert 0 == main(["payloads", DEFAULT, SEVERAL])
    printed = json.loads(capsys.readouterr().out)
    assert ["default", "tool_calling", "vision", "long_context", "budget"] == [
        doc["chain"] for doc in printed
    ]
    assert 0 == main(["payloads", SERVER])
    assert "server-side" == json.loads(capsys.readouterr().out)["chain"]


def test_payloads_jsonl_prints_a_compact_object_per_line(capsys):
    """``--jsonl``: one chain per line, each line a JSON object."""
    assert 0 == main(["payloads", "--jsonl", DEFAULT, SERVER])
    lines = capsys.readouterr().out.splitlines()
    assert ["default", "server-side"] == [json.loads(line)["chain"] for line in lines]


def test_validate_checks_every_file_and_fails_if_any_failed(tmp_path, capsys):
    """A missing file in the middle is reported; the files after it are still checked."""
    missing = tmp_path / "missing.yaml"
    bad = tmp_path / "bad.yaml"
    bad.write_text("models: [bad]\n")
    assert 2 == main(["validate", DEFAULT, str(missing), SERVER, str(bad)])
    captured = capsys.readouterr()
    assert "chain default" in captured.out
    assert "chain server-side" in captured.out
    assert [
        f"error: {missing}: cannot read: No such file or directory",
        (
            f"error: {bad}: invalid chain: models.0.model (line 1): 'bad' is not an "
            "OpenRouter model id (expected vendor/name[:variant])"
        ),
        "2 of 4 files failed",
    ] == captured.err.splitlines()


def test_a_closed_pipe_ends_quietly():
    """``validate ... | head`` whose reader has gone: no ``Broken pipe`` error, exit 141."""
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before anything is written
    try:
        result = subprocess.run(
            [sys.executable, "-m", "langchain_openrouter_fallback._cli.main", "validate", SEVERAL],
            stdout=write_end, stderr=subprocess.PIPE, text=True, check=False, timeout=60,
        )  # fmt: skip
    finally:
        os.close(write_end)
    assert "" == result.stderr
    assert 141 == result.returncode


@pytest.mark.parametrize(
    "argv",
    [
        ["litellm", DEFAULT, "--api-base", "not-a-url"],
        ["litellm", DEFAULT, "--api-base", "ftp://example.com/api/v1"],
        ["catalog", "refresh", "--base-url", "not-a-url"],
    ],
    ids=["litellm-no-scheme", "litellm-ftp", "catalog-refresh"],
)
def test_endpoint_options_must_be_http_urls(tmp_path, capsys, argv):
    """``litellm --api-base`` is validated like ``catalog refresh --base-url``: one line, exit 2."""
    out = tmp_path / "config.yaml"
    with pytest.raises(SystemExit) as exited:
        main([*argv, "-o" if argv[0] == "litellm" else "--output", str(out)])
    assert 2 == exited.value.code
    err = capsys.readouterr().err
    assert f"{argv[-1]} is not an http(s) URL" in err
    assert 1 == len(err.splitlines())
    assert not out.exists()


def test_display_width_counts_terminal_columns():
    """Wide characters and emoji take two columns; combining marks and joiners none."""
    assert (7, 4, 2, 1, 2) == (
        display_width("primary"),
        display_width("主要"),
        display_width("🚀"),
        display_width("e\u0301"),
        display_width("👩\u200d"),
    )


def test_tables_align_wide_labels(tmp_path, capsys):
    """``validate`` lines up the model column under its header whatever the labels' script."""
    path = tmp_path / "wide.yaml"
    path.write_text(
        "name: wide\nmodels:\n"
        "  - {model: openai/gpt-4o, label: 主要模型🚀}\n"
        "  - {model: openai/gpt-4o-mini, label: café-de\u0301faut}\n"
        "  - {model: anthropic/claude-haiku-4.5, label: plain}\n",
        encoding="utf-8",
    )
    assert 0 == main(["validate", str(path)])
    header, *rows = capsys.readouterr().out.splitlines()[1:5]

    def column(line: str, text: str) -> int:
        return display_width(line[: line.index(text)])

    for row, model in zip(
        rows, ["openai/gpt-4o ", "openai/gpt-4o-mini", "anthropic/"], strict=True
    ):
        assert column(header, "model") == column(row, model), rows
    lines = table([("a", "b", "c"), ("🚀🚀", "x", "y"), ("z", "文字", "w")], "<><")
    assert ["  a        b  c", "  🚀🚀     x  y", "  z     文字  w"] == lines


@pytest.mark.parametrize(
    ("amount", "shown"),
    [
        (1e-07, "$0.0000001"),
        (0.000123456, "$0.000123"),
        (0.05, "$0.05"),
        (0.3, "$0.30"),
        (12.3, "$12.30"),
        (1234567.891, "$1,234,567.89"),
        (0, "$0.00"),
    ],
)
def test_usd_scales_to_the_amount(amount, shown):
    """Three significant digits, at least two decimals, never ``1e-07`` or ``$0.0000``."""
    assert shown == usd(amount)


def test_max_cost_message_shows_a_tiny_ceiling(emu):
    """``max_cost=1e-7`` skips every link, and says so in amounts a reader can compare."""
    llm = ChatOpenRouterFallback(models=["openai/gpt-4o-mini"], api_key="k", base_url=emu.base_url)
    with pytest.raises(FallbacksExhaustedError) as caught:
        llm.invoke("hello", max_cost=1e-7, max_tokens=100)
    (skipped,) = caught.value.attempts
    assert "exceeds the $0.0000001 left of max_cost $0.0000001" in skipped.error
    assert "$0.0000 " not in skipped.error
    assert "1e-07" not in skipped.error
