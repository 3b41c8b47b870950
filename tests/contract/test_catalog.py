"""Catalog freshness: ``catalog refresh`` stores /models verbatim; the emulator serves what it is given.

No field is invented to satisfy the SDK: the bundled January-2026 snapshot lacks fields the
current SDK requires, and ``models.list()`` against it fails in the SDK's documented way.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest
from openrouter import OpenRouter, errors

from langchain_openrouter_fallback import load_catalog
from langchain_openrouter_fallback._cli.main import main
from langchain_openrouter_fallback._definition.catalog import Catalog
from langchain_openrouter_fallback.emulator import Emulator
from tests.conftest import KEY, serve_get

# A /models response as a newer OpenRouter sends it: extra top-level keys, keys our parser
# does not read, non-ASCII text and the server's own formatting. Stored byte for byte.
_ITEM = {**load_catalog().raw_models[0], "links": {"details": "/api/v1/models/x/endpoints"}}
BODY = (
    '{\n  "data": [' + json.dumps(_ITEM, ensure_ascii=False, indent=1) + "],\n"
    '  "total_count": 1, "links": {"next": null}, "note": "caf\u00e9"\n}\n'
).encode()


@pytest.fixture
def live_models() -> Iterator[str]:
    """A local stand-in for OpenRouter's /models answering with :data:`BODY`."""
    with serve_get(lambda _request: BODY) as base_url:
        yield base_url


def test_refresh_stores_the_response_verbatim(live_models, tmp_path, capsys):
    out = tmp_path / "models.json"
    assert 0 == main(["catalog", "refresh", "--base-url", live_models, "--output", str(out)])
    assert "wrote 1 models" in capsys.readouterr().out
    assert BODY == out.read_bytes()


def test_emulator_serves_the_catalog_it_is_given(tmp_path):
    path = tmp_path / "models.json"
    path.write_bytes(BODY)
    with Emulator(catalog=path) as emu:
        served = httpx.get(
            f"{emu.base_url}/models", headers={"Authorization": f"Bearer {KEY}"}
        ).json()
    assert json.loads(BODY) == served


def test_emulate_command_serves_a_catalog_file(tmp_path):
    """``openrouter-fallback emulate --catalog FILE`` (a real process) serves that file."""
    path = tmp_path / "models.json"
    path.write_bytes(BODY)
    cmd = [
        sys.executable,
        "-m",
        "langchain_openrouter_fallback._cli.main",
        "emulate",
        "--port",
        "0",
    ]
    with subprocess.Popen(
        [*cmd, "--catalog", str(path)], stdout=subprocess.PIPE, text=True
    ) as proc:
        try:
            line = proc.stdout.readline()
            base_url = line.rsplit(" ", 1)[-1].strip()
            served = httpx.get(
                f"{base_url}/models", headers={"Authorization": f"Bearer {KEY}"}
            ).json()
        finally:
            proc.terminate()
    assert json.loads(BODY) == served


def test_emulate_with_a_bad_catalog_is_one_line(tmp_path, capsys):
    path = tmp_path / "models.json"
    path.write_text('{"models": []}')
    assert 2 == main(["emulate", "--port", "0", "--catalog", str(path)])
    err = capsys.readouterr().err
    assert 1 == len(err.strip().splitlines())
    assert str(path) in err
    assert "`data` list" in err


def test_sdk_lists_models_from_the_emulator_only_if_the_catalog_is_current():
    """The bundled snapshot (2026-01-29) predates fields the current SDK requires.

    Nothing is invented to fill them: the SDK raises its ``ResponseValidationError`` naming
    the missing fields, until a refreshed catalog (``catalog refresh``) is served.
    """
    with (
        Emulator(catalog=Catalog.bundled()) as emu,
        OpenRouter(api_key=KEY, server_url=emu.base_url, retry_config=None) as sdk,
        pytest.raises(errors.ResponseValidationError) as raised,
    ):
        sdk.models.list()
    missing = {
        str(e["loc"][-1])
        for e in raised.value.cause.errors()
        if e["type"] == "missing" and e["loc"][:2] == ("body", "data")
    }
    assert {"links", "supported_voices"} <= missing


def test_catalog_document_round_trip():
    catalog = Catalog.from_document(json.loads(BODY), source="test")
    assert 1 == len(catalog)
    assert json.loads(BODY) == catalog.document
    with pytest.raises(ValueError, match="test: not a /models response"):
        Catalog.from_document([], source="test")
