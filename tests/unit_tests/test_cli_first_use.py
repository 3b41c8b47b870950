"""The command line as a new user meets it: one-line errors, hints, limits, the schema."""

from __future__ import annotations

import json
import socket
import typing
from importlib.metadata import version
from pathlib import Path

import jsonschema
import pytest
import yaml

from langchain_openrouter_fallback._cli.drill import STREAM_RECOVERY_MODES
from langchain_openrouter_fallback._cli.main import main
from langchain_openrouter_fallback._definition.chain import MAX_LINKS, StreamRecovery
from langchain_openrouter_fallback._definition.loader import (
    MAX_FILE_BYTES,
    load_chains,
    load_document,
)
from tests.conftest import EXAMPLE_CHAINS, serve_get

EXAMPLES = sorted(EXAMPLE_CHAINS.glob("*.*"))


def _one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert 1 == len(err.strip().splitlines()), err
    return err


def _schema(capsys: pytest.CaptureFixture[str]) -> jsonschema.Draft202012Validator:
    assert 0 == main(["schema"])
    schema = json.loads(capsys.readouterr().out)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_version(capsys):
    """``--version`` prints the installed version."""
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert 0 == exit_info.value.code
    assert f"openrouter-fallback {version('langchain-openrouter-fallback')}\n" == (
        capsys.readouterr().out
    )


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_schema_accepts_every_shipped_example(path: Path, capsys):
    """A standard JSON Schema validator accepts each example file the loader accepts."""
    validator = _schema(capsys)
    data, _ = load_document(path)
    assert load_chains(path)
    assert [] == [e.message for e in validator.iter_errors(data)]


@pytest.mark.parametrize(
    ("document", "accepted"),
    [
        ({"models": ["openai/gpt-4o", {"model": "openai/gpt-4o-mini", "label": "m"}]}, True),
        ({"chains": {"a": {"models": ["openai/gpt-4o"]}, "b": {"models": ["x/y"]}}}, True),
        ({"models": ["openai/gpt-4o"], "hedge": 1.5, "requires": ["tools"]}, True),
        ({"models": ["openai/gpt-4o"], "requires": ["tools", {"min_context": 1000}]}, True),
        ({"models": [{"model": "openai/gpt-4o", "timout": 3}]}, False),
        ({"models": []}, False),
        ({"models": ["not a model id"]}, False),
        ({"chains": {"a": {"models": ["openai/gpt-4o"]}}, "models": ["x/y"]}, False),
        ({"models": ["openai/gpt-4o"] * (MAX_LINKS + 1)}, False),
    ],
)
def test_schema_and_loader_agree(document, accepted, tmp_path, capsys):
    """Shorthands the loader accepts pass the schema; shapes it refuses fail it."""
    validator = _schema(capsys)
    path = tmp_path / "chain.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    loader_ok = main(["validate", str(path)]) == 0
    capsys.readouterr()
    assert (accepted, accepted) == (loader_ok, validator.is_valid(document))


def test_drill_scenario_missing_is_one_line(capsys):
    """``drill --scenario missing.yaml``: the file named, exit 2, no traceback."""
    code = main(["drill", str(EXAMPLE_CHAINS / "default.yaml"), "--scenario", "missing.yaml"])
    assert 2 == code
    assert "error: missing.yaml: cannot read: No such file or directory" in _one_line_error(capsys)


def test_emulate_port_in_use_is_one_line(capsys):
    """``emulate --port <busy>``: the port named, exit 2, no traceback."""
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert 2 == main(["emulate", "--port", str(port)])
    assert f"cannot listen on 127.0.0.1:{port}: " in _one_line_error(capsys)


def test_a_huge_file_is_refused_before_parsing(tmp_path, capsys):
    """200,000 links in 10 MB: refused by size, with the limit named."""
    path = tmp_path / "huge.yaml"
    path.write_text("models:\n" + "  - openai/gpt-4o-mini-2024-07-18-x\n" * 200_000)
    assert path.stat().st_size > MAX_FILE_BYTES
    assert 2 == main(["validate", str(path)])
    err = _one_line_error(capsys)
    assert f"over the {MAX_FILE_BYTES:,}-byte limit" in err


def test_too_many_links_are_refused_before_validation(tmp_path, capsys):
    """A small file with more links than the cap: refused with the cap, not 1000 errors."""
    path = tmp_path / "many.yaml"
    path.write_text("chains:\n  big:\n    models:\n" + "      - bad id\n" * 1000)
    assert 2 == main(["validate", str(path)])
    err = _one_line_error(capsys)
    assert f"chains.big.models: 1,000 links is over the limit of {MAX_LINKS} per chain" in err


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("typo.yaml", "models:\n  - model: openai/gpt-4o\n    timout: 3\n",
         "models.0.timout (line 3): unknown field; did you mean `timeout`?"),
        ("typo.toml", 'name = "t"\n\n[[models]]\nmodel = "openai/gpt-4o"\ntimout = 3\n',
         "models.0.timout (line 5): unknown field; did you mean `timeout`?"),
        ("inline.toml", 'models = [\n  {model = "openai/gpt-4o"},\n  {model = "x/y", lable = "b"},\n]\n',
         "models.1.lable (line 3): unknown field; did you mean `label`?"),
        ("nested.yaml", "models: [openai/gpt-4o]\nretry: {max_retrys: 2}\n",
         "retry.max_retrys (line 2): unknown field; did you mean `max_retries`?"),
        ("empty.yaml", "", "the file is empty: a chain file needs at least `models:`"),
        ("list.json", "[1, 2]", "the document is a list; a chain file is a mapping"),
        ("dup.yaml", "models:\n  - openai/gpt-4o\n  - x/y\n  - openai/gpt-4o\n",
         "models.2.label (line 4): duplicate label 'openai/gpt-4o' (models.0 has it"),
        ("bad.toml", 'models = [\n  {model = "x/y" label = "b"},\n]\n', "(at line 2, column"),
    ],
)  # fmt: skip
def test_errors_say_what_and_where(name, text, expected, tmp_path, capsys):
    """Typos get a suggestion, TOML a line, an empty file a sentence, a duplicate its line."""
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    assert 2 == main(["validate", str(path)])
    assert expected in _one_line_error(capsys)


def test_unlisted_variant_is_warned_and_unpriced(tmp_path, capsys):
    """``openai/gpt-4o:free`` is not in the catalog: a warning, and no paid price shown."""
    path = tmp_path / "free.yaml"
    path.write_text("models: [openai/gpt-4o:free, openai/gpt-4o:nitro]\n", encoding="utf-8")
    assert 1 == main(["validate", "--strict", str(path)])
    out = capsys.readouterr().out
    rows = {line.split()[0]: line.split() for line in out.splitlines()[2:4]}
    assert "?" == rows["openai/gpt-4o:free"][3]
    assert "2.50" == rows["openai/gpt-4o:nitro"][3]  # a routing shortcut: the model's price
    assert "the catalog lists no 'openai/gpt-4o:free'" in out
    assert "catalog lists no 'openai/gpt-4o:nitro'" not in out


def test_tables_fit_long_labels_and_count_links(tmp_path, capsys):
    """A 40-character label keeps the columns aligned; one link is "1 link"."""
    label = "a-label-much-longer-than-twenty-four-chars"
    path = tmp_path / "one.yaml"
    path.write_text(f"models:\n  - {{model: openai/gpt-4o, label: {label}}}\n")
    assert 0 == main(["validate", str(path)])
    title, header, row = capsys.readouterr().out.splitlines()[:3]
    assert "chain default (client, 1 link)" == title
    assert header.index("model") == row.index("openai/gpt-4o")
    assert header.index("capabilities") == row.index("json_mode")


@pytest.mark.parametrize("count", ["0", "-3", "many"])
def test_drill_refuses_a_non_positive_request_count(count, capsys):
    """``drill -n 0`` / ``-n -3`` are usage errors (exit 2), not "answered 0/0"."""
    with pytest.raises(SystemExit) as exit_info:
        main(["drill", str(EXAMPLE_CHAINS / "default.yaml"), "-n", count])
    assert 2 == exit_info.value.code
    assert "expected a whole number of requests >= 1" in _one_line_error(capsys)


def test_drill_stream_recovery_modes_are_the_chains():
    """``--stream-recovery`` offers exactly the chain's ``stream_recovery`` values."""
    assert typing.get_args(StreamRecovery) == STREAM_RECOVERY_MODES


def test_drill_stream_recovery_buffer_answers_a_cut_stream(capsys):
    """A cut primary stream: ``raise`` leaves it unanswered, ``buffer`` restarts it unseen."""
    chain = str(EXAMPLE_CHAINS / "default.yaml")
    args = ["drill", chain, "-n", "2", "--fail", "primary=cut", "--json"]
    assert 1 == main([*args, "--stream-recovery", "raise"])
    raised = json.loads(capsys.readouterr().out)
    assert 0 == main([*args, "--stream-recovery", "buffer"])
    buffered = json.loads(capsys.readouterr().out)
    assert (True, 0, 2) == (raised["stream"], raised["answered"], buffered["answered"])
    assert {"secondary"} == {r["served_by"] for r in buffered["results"]}


def test_drill_progress_in_a_log_is_one_line_per_step(capsys):
    """Not a terminal: progress lines, never carriage-return frames."""
    assert 0 == main(["drill", str(EXAMPLE_CHAINS / "default.yaml"), "-n", "20"])
    err = capsys.readouterr().err
    assert "\r" not in err
    assert ["2/20", "4/20", "6/20"] == [line.split()[0] for line in err.splitlines()[:3]]
    assert "20/20" in err.splitlines()[-1]


def test_catalog_refresh_failures_name_the_url(capsys):
    """A refused connection or a non-JSON answer: one line with the URL that failed."""
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    base = f"http://127.0.0.1:{port}/api/v1"
    assert 2 == main(["catalog", "refresh", "--base-url", base, "--output", "unused.json"])
    assert f"catalog refresh: GET {base}/models failed: " in _one_line_error(capsys)
    with serve_get(lambda _request: b"<html>not json</html>") as url:
        assert 2 == main(["catalog", "refresh", "--base-url", url, "--output", "unused.json"])
    assert f"GET {url}/models failed: JSONDecodeError" in _one_line_error(capsys)


def test_example_yaml_is_plain_yaml():
    """The examples parse with any YAML parser (what editors and the schema see)."""
    for path in EXAMPLES:
        if path.suffix == ".yaml":
            assert isinstance(yaml.safe_load(path.read_text(encoding="utf-8")), dict)
