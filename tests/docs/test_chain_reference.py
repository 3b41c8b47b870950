"""The chain file reference is rendered from the JSON Schema: every object and field, none typed."""

from __future__ import annotations

import importlib.util
import re
from types import ModuleType

from langchain_openrouter_fallback._definition.schema import document_schema
from tests.docs.pages import DOCS


def _hook() -> ModuleType:
    """The MkDocs hook, loaded from its path as MkDocs loads it."""
    path = DOCS / "_hooks" / "chain_reference.py"
    spec = importlib.util.spec_from_file_location("chain_reference", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


HOOK = _hook()
PAGE = (DOCS / "reference" / "chain-file.md").read_text(encoding="utf-8")


def _fields(spec: dict) -> dict[str, dict]:
    if "properties" in spec:
        return spec["properties"]
    return next((f["properties"] for f in spec.get("anyOf", []) if "properties" in f), {})


def test_the_page_is_generated_not_typed():
    """The reference page holds only the marker; the build puts the tables in its place."""
    assert HOOK.MARKER in PAGE
    assert "| `models` |" not in PAGE
    rendered = HOOK.on_page_markdown(PAGE)
    assert HOOK.MARKER not in rendered
    assert "| `models` |" in rendered


def test_every_object_and_field_of_the_schema_has_a_row():
    """A field added to the models appears on the site without anyone writing it down."""
    schema = document_schema()
    text = HOOK.render(schema)
    for name, spec in schema["$defs"].items():
        assert f"## `{name}` {{#{name.lower()}}}" in text
        for field in _fields(spec):
            assert re.search(rf"^\| `{field}` \|", text, re.MULTILINE), (name, field)


def test_rows_say_type_default_and_description():
    """One row as a reader sees it: constraints, default and the field's own docstring."""
    text = HOOK.render(document_schema())
    row = next(line for line in text.splitlines() if line.startswith("| `cooldown` |"))
    assert "| `cooldown` | number, > 0, <= 3600 | `30.0` | Seconds the circuit stays open" in row
    assert "[Link](#link)" in next(line for line in text.splitlines() if "| `models` |" in line)
    assert "Also written as string" in text  # a link as a plain model id
