"""No key-shaped string in anything we commit for others to read or replay.

Scanned: ``cassettes/``, ``notebooks/``, ``examples/`` and generated configs
(``tests/litellm_config/snapshots/``) for key-shaped strings; every tracked file for keys in
OpenRouter's real format.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCANNED = ["cassettes", "notebooks", "examples", "tests/litellm_config/snapshots"]
KEY_SHAPED = re.compile(r"sk-or-(?:v\d+-)?[A-Za-z0-9][A-Za-z0-9_-]{31,}")
"""``sk-or-`` plus a realistic length (real keys: ``sk-or-v1-`` + 64 hex characters)."""
REAL_KEY = re.compile(r"sk-or-v\d+-[0-9a-f]{64}")
BEARER = re.compile(r"Bearer\s+([^\s'\",}\]\\]+)")
PLACEHOLDERS = re.compile(r"<[A-Z_ -]+>|\{[^}]*|\$\{?\w+\}?|os\.environ/\w+|\*+|REDACTED|%s")
"""Values a ``Bearer`` may carry in committed files: placeholders and templates."""


def problems(text: str) -> list[str]:
    """Key-shaped strings and non-placeholder bearer tokens in ``text``."""
    found = [f"key-shaped {m.group(0)[:12]}..." for m in KEY_SHAPED.finditer(text)]
    for match in BEARER.finditer(text):
        value = match.group(1)
        if not PLACEHOLDERS.fullmatch(value):
            found.append(f"Bearer {value[:6]}...")
    return found


def scanned_files() -> list[Path]:
    files: list[Path] = []
    for folder in SCANNED:
        files += [p for p in sorted((ROOT / folder).rglob("*")) if p.is_file()]
    return files


@pytest.mark.parametrize(
    "text",
    [
        "Authorization: Bearer sk-or-v1-" + "a1b2c3d4" * 8,
        '"Authorization": ["Bearer abcdef123456"]',
        "api_key: sk-or-v1-" + "0123456789abcdef" * 2,
        "key = 'sk-or-AbCdEfGhIjKlMnOpQrStUvWxYz012345'",
    ],
)
def test_scan_flags_keys(text: str) -> None:
    """Realistic keys and bearer tokens are flagged."""
    assert problems(text)


@pytest.mark.parametrize(
    "text",
    [
        "Authorization:\n- Bearer <REDACTED>",
        'headers["Authorization"] = f"Bearer {key}"',
        "api_key: os.environ/OPENROUTER_API_KEY",
        "Bearer $OPENROUTER_API_KEY",
        "the sk-or-v1- prefix",
    ],
)
def test_scan_allows_placeholders(text: str) -> None:
    """Placeholders, templates and the bare prefix are not keys."""
    assert [] == problems(text)


def test_committed_artifacts_hold_no_keys() -> None:
    """Cassettes, notebooks, examples and generated configs are clean."""
    files = scanned_files()
    assert any(p.suffix == ".yaml" for p in files)
    found = {
        str(p.relative_to(ROOT)): hits
        for p in files
        if (hits := problems(p.read_text(encoding="utf-8", errors="replace")))
    }
    assert {} == found


def test_no_real_format_key_in_tracked_files() -> None:
    """No tracked file (test fixtures included) holds a key in OpenRouter's real format."""
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    found = [
        name
        for name in listed
        if (ROOT / name).is_file()
        and REAL_KEY.search((ROOT / name).read_text(encoding="utf-8", errors="replace"))
    ]
    assert [] == found
