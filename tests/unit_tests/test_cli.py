"""The ``openrouter-fallback`` command: validate, payloads, schema, catalog refresh."""

from __future__ import annotations

import json
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler

import pytest

from langchain_openrouter_fallback import load_catalog
from langchain_openrouter_fallback._cli.main import main
from tests.conftest import EXAMPLE_CHAINS, serve_get


def test_validate_prints_a_table_per_chain(capsys):
    """``validate`` shows every chain of a file with each link's capabilities."""
    assert 0 == main(["validate", str(EXAMPLE_CHAINS / "capabilities.yaml")])
    out = capsys.readouterr().out
    for name in ("tool_calling", "vision", "long_context", "budget"):
        assert f"chain {name}" in out
    assert "json_schema" in out


@pytest.mark.parametrize(
    ("recovery", "line"),
    [
        ("buffer", "  accept: non_empty, no_refusal, complete, schema"),
        (
            "raise",
            (
                "  accept: non_empty, no_refusal, complete, schema (streams with stream_recovery "
                "raise show content as it arrives: complete, schema run on invoke and buffered "
                "streams only)"
            ),
        ),
    ],
)
def test_validate_lists_each_chains_checks(recovery, line, tmp_path, capsys):
    """``validate`` names the ``accept`` checks, and those a streaming mode cannot run."""
    path = tmp_path / "c.yaml"
    path.write_text(
        f"name: a\nstream_recovery: {recovery}\n"
        "accept: [non_empty, no_refusal, complete, schema, non_empty]\n"
        "models: [openai/gpt-4o-mini]\n"
    )
    assert 0 == main(["validate", str(path)])
    out = capsys.readouterr().out.splitlines()
    assert [line] == [text for text in out if text.startswith("  accept:")]


def test_validate_refuses_an_unknown_check(tmp_path, capsys):
    """A misspelt check names the file, the field and the checks there are."""
    path = tmp_path / "c.yaml"
    path.write_text("accept: [nonempty]\nmodels: [openai/gpt-4o-mini]\n")
    assert 2 == main(["validate", str(path)])
    err = capsys.readouterr().err
    assert str(path) in err
    assert "accept.0" in err
    assert "'non_empty', 'no_refusal', 'complete' or 'schema'" in err


def test_validate_warns_about_weak_fallbacks(tmp_path, capsys):
    """Unknown ids, smaller fallback windows and shared pinned providers are flagged."""
    path = tmp_path / "c.yaml"
    path.write_text(
        "name: w\nmodels:\n"
        "  - {model: google/gemini-2.5-pro, label: big, provider: {only: [google-vertex]}}\n"
        "  - {model: qwen/qwen3-8b, label: small}\n"
        "  - {model: acme/unknown-model, label: mystery}\n"
        "  - {model: google/gemini-2.5-flash, label: same, provider: {only: [google-vertex]}}\n"
    )
    assert 1 == main(["validate", "--strict", str(path)])
    out = capsys.readouterr().out
    assert "unknown model id 'acme/unknown-model'" in out
    assert "small: context window 32000 is smaller than the primary's 1048576" in out
    assert "big and same can only be served by the same provider" in out


def test_invalid_file_is_a_one_line_error(tmp_path, capsys):
    """A broken chain file exits 2 with the validation paragraph, no traceback."""
    path = tmp_path / "bad.yaml"
    path.write_text("models: [bad]\n")
    assert 2 == main(["validate", str(path)])
    err = capsys.readouterr().err
    assert "bad.yaml: invalid chain: models.0.model (line 1)" in err
    assert "Traceback" not in err


def test_payloads_prints_request_bodies(capsys):
    """``payloads`` prints the server-side bodies as JSON."""
    assert 0 == main(["payloads", str(EXAMPLE_CHAINS / "server-side.yaml")])
    printed = json.loads(capsys.readouterr().out)
    assert "server-side" == printed["chain"]
    assert 3 == len(printed["payloads"][0]["models"])


def test_schema_is_json_schema(capsys):
    """``schema`` prints a JSON Schema that describes the chain fields."""
    assert 0 == main(["schema"])
    schema = json.loads(capsys.readouterr().out)
    chain = schema["$defs"]["FallbackChain"]
    assert {"models", "mode", "deadline", "stream_recovery"} <= set(chain["properties"])


@pytest.fixture
def models_server() -> Iterator[tuple[str, list[dict[str, str]]]]:
    """A local HTTP server answering /api/v1/models with a two-model catalog."""
    seen: list[dict[str, str]] = []
    payload = json.dumps({"data": load_catalog().raw_models[:2]}).encode()

    def answer(request: BaseHTTPRequestHandler) -> bytes:
        seen.append({"path": request.path, "auth": request.headers.get("Authorization", "")})
        return payload

    with serve_get(answer) as base_url:
        yield base_url, seen


def test_catalog_refresh_replaces_the_snapshot(models_server, monkeypatch, capsys):
    """``catalog refresh`` fetches /models, writes the user cache, and the catalog uses it."""
    base_url, seen = models_server
    monkeypatch.setenv("OPENROUTER_API_KEY", "sk-or-v1-test-refresh")
    assert 0 == main(["catalog", "refresh", "--base-url", base_url])
    assert "wrote 2 models" in capsys.readouterr().out
    assert [{"path": "/api/v1/models", "auth": "Bearer sk-or-v1-test-refresh"}] == seen
    assert 2 == len(load_catalog())
