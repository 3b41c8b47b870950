"""MkDocs hook: the chain file reference, rendered from the JSON Schema at build time.

A page holding ``<!-- chain-file-reference -->`` gets, in its place, one section per object of
``openrouter-fallback schema`` (``document_schema()``, built from the pydantic models and their
attribute docstrings): every field with its type, constraints, default and description. Nothing
in the reference is typed by hand, so it cannot drift from what the loader accepts.
"""

from __future__ import annotations

import json
import re
from typing import Any

MARKER = "<!-- chain-file-reference -->"

# The objects a reader meets first come first; any other definition follows alphabetically.
FIRST = ["FallbackChain", "Link", "RetryPolicy", "BreakerPolicy", "HedgePolicy", "Requirements"]
FIRST += ["ProviderPreferences", "ProviderSort", "Percentiles", "MaxPrice", "ErrorKind"]
_NULL = {"type": "null"}
_ROLE = re.compile(r":[a-z]+:`~?([^`]+)`")  # Sphinx roles in docstrings -> code spans


def on_page_markdown(markdown: str, **_: Any) -> str:
    """Replace the marker with the rendered reference (other pages pass through)."""
    if MARKER not in markdown:
        return markdown
    from langchain_openrouter_fallback._definition.schema import document_schema  # noqa: PLC0415

    return markdown.replace(MARKER, render(document_schema()))


def render(schema: dict[str, Any]) -> str:
    """Markdown sections for every definition of a chain-file schema."""
    defs: dict[str, Any] = schema["$defs"]
    names = [n for n in FIRST if n in defs] + sorted(set(defs) - set(FIRST))
    return "\n".join(_section(name, defs[name]) for name in names)


def anchor(name: str) -> str:
    """The heading id of a definition's section."""
    return name.lower()


def _section(name: str, spec: dict[str, Any]) -> str:
    lines = [f"## `{name}` {{#{anchor(name)}}}", "", _prose(spec.get("description", "")), ""]
    if "enum" in spec:
        lines += ["One of: " + ", ".join(f"`{v}`" for v in spec["enum"]) + ".", ""]
        return "\n".join(lines)
    body, shorthands = _object_and_shorthands(spec)
    lines += [f"Also written as {_type(s)}: {s['description'].removeprefix('shorthand: ')}."
              for s in shorthands]  # fmt: skip
    required = set(body.get("required", []))
    lines += ["", "| field | type | default | description |", "|---|---|---|---|"]
    for field, prop in body.get("properties", {}).items():
        default = "**required**" if field in required else _default(prop)
        cells = [f"`{field}`", _type(prop), default, _prose(prop.get("description", ""))]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join([*lines, ""])


def _object_and_shorthands(spec: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A definition's object form, and the short forms a document may use instead."""
    if "properties" in spec:
        return spec, []
    forms = spec.get("anyOf", [])
    body = next(f for f in forms if "properties" in f)
    return body, [f for f in forms if f is not body]


def _prose(text: str) -> str:
    return _ROLE.sub(r"`\1`", text)


def _default(prop: dict[str, Any]) -> str:
    if "default" not in prop:  # a default factory: an empty mapping, or the object's defaults
        return "its defaults" if "$ref" in prop else "`{}`"
    if prop["default"] is None:
        return "unset"
    return f"`{json.dumps(prop['default'])}`"


def _type(prop: dict[str, Any]) -> str:
    """A schema node as a short phrase: ``number > 0``, ``list of [Link](#link)``."""
    if "$ref" in prop:
        name = prop["$ref"].rsplit("/", 1)[-1]
        return f"[{name}](#{anchor(name)})"
    if "anyOf" in prop:
        forms = [_type(f) for f in prop["anyOf"] if f != _NULL]
        return " or ".join(forms)
    if "enum" in prop:
        return " \\| ".join(f"`{v}`" for v in prop["enum"])
    return _constrained(_kind(prop), prop)


def _kind(prop: dict[str, Any]) -> str:
    """A typed node without its bounds: ``list of string``, ``mapping``, ``number``."""
    kind = prop.get("type", "any")
    if kind == "array":
        word = "set" if prop.get("uniqueItems") else "list"
        return f"{word} of {_type(prop.get('items', {}))}"
    if kind == "object":
        values = prop.get("additionalProperties")
        if isinstance(values, dict):
            return f"mapping of name to {_type(values)}"
        return "mapping" if values is not False else "object"
    return str(kind)


_BOUNDS = {
    "exclusiveMinimum": "> {}",
    "minimum": ">= {}",
    "maximum": "<= {}",
    "minLength": "at least {} character(s)",
    "minItems": "at least {} item(s)",
    "maxItems": "at most {} items",
    "minProperties": "at least {} entry(ies)",
    "pattern": "matching `{}`",
}


def _constrained(phrase: str, prop: dict[str, Any]) -> str:
    bounds = [text.format(prop[key]) for key, text in _BOUNDS.items() if key in prop]
    return ", ".join([phrase, *bounds])


def _cell(text: str) -> str:
    """Table-safe text: one line, pipes escaped (unless already escaped)."""
    one_line = " ".join(text.split())
    return one_line.replace("\\|", "\0").replace("|", "\\|").replace("\0", "\\|")
