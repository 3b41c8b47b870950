"""Convert the real recordings in ``tests/data/recordings/`` into VCR cassettes.

Run from the repository root (the output is committed next to the other cassettes)::

    python -m tests.cassettes.convert_recordings

Each cassette keeps where it came from under a top-level ``origin`` key (VCR ignores keys
other than ``interactions`` and ``version``). Request bodies are written as compact JSON, the
way httpx sends them; responses keep the raw text the source stored. Authorization headers
are a redacted placeholder: the sources had already filtered their keys.
"""

from __future__ import annotations

import json
import sys
from http import HTTPStatus
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
RECORDINGS = ROOT / "tests" / "data" / "recordings"
OUTPUT = ROOT / "cassettes" / "recordings"
BASE = "https://openrouter.ai"
REDACTED = "Bearer <REDACTED>"


def _request(request: dict[str, Any]) -> dict[str, Any]:
    body = request["body"]
    text = (
        body
        if isinstance(body, str) or body is None
        else json.dumps(body, separators=(",", ":"), ensure_ascii=False)
    )
    return {
        "method": request["method"],
        "uri": BASE + request["path"],
        "body": text,
        "headers": {"Authorization": [REDACTED], "Content-Type": ["application/json"]},
    }


def _response(response: dict[str, Any]) -> dict[str, Any]:
    status = int(response["status"])
    body = response["body"]
    text = body if isinstance(body, str) else json.dumps(body)
    return {
        "status": {"code": status, "message": HTTPStatus(status).phrase},
        "headers": {"Content-Type": [response["content_type"]]},
        "body": {"string": text},
    }


def convert(path: Path) -> dict[str, Any]:
    """One recording -> one cassette document (with ``origin`` metadata)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return {
        "origin": {
            "kind": "public recording",
            **data["source"],
            "note": data.get("note"),
            "converted_from": str(path.relative_to(ROOT)),
        },
        "version": 1,
        "interactions": [
            {"request": _request(i["request"]), "response": _response(i["response"])}
            for i in data["interactions"]
        ],
    }


def main() -> int:
    """Write ``cassettes/recordings/<name>.yaml`` for every recording."""
    OUTPUT.mkdir(parents=True, exist_ok=True)
    for path in sorted(RECORDINGS.glob("*.json")):
        out = OUTPUT / f"{path.stem}.yaml"
        out.write_text(
            yaml.safe_dump(convert(path), sort_keys=False, allow_unicode=True, width=100),
            encoding="utf-8",
        )
        sys.stdout.write(f"wrote {out.relative_to(ROOT)}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
