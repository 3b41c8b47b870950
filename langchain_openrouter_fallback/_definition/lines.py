"""Field path -> line number in the source text, so errors can say where to look.

YAML and JSON (JSON is YAML) are composed into nodes that carry their line; TOML is scanned
for table headers and ``key =`` lines. Nothing is computed until an error asks for a line.
"""

from __future__ import annotations

import re
from functools import cache
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

__all__ = ["line_finder", "no_lines"]

_TOML_TABLE = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?")
_TOML_KEY = re.compile(r"^\s*([A-Za-z0-9_\-\"'.]+?)\s*=")


def no_lines(_path: Sequence[str | int]) -> int | None:
    """No line information (a document given as data, not text)."""
    return None


def _yaml_finder(text: str, loader: Any) -> Callable[[Sequence[str | int]], int | None]:
    @cache
    def root() -> yaml.Node | None:
        try:
            return yaml.compose(text, Loader=loader)
        except yaml.YAMLError:
            return None

    def find(path: Sequence[str | int]) -> int | None:
        node, line = root(), None
        for key in path:
            if isinstance(node, yaml.MappingNode):
                match = [v for k, v in node.value if getattr(k, "value", None) == str(key)]
                node = match[0] if match else None
            elif isinstance(node, yaml.SequenceNode) and isinstance(key, int):
                node = node.value[key] if 0 <= key < len(node.value) else None
            else:
                node = None
            if node is None:
                break
            line = node.start_mark.line + 1
        return line

    return find


def _toml_key(raw: str) -> list[str]:
    return [part.strip().strip("\"'") for part in raw.split(".")]


def _toml_index(lines: list[str]) -> dict[tuple[str | int, ...], int]:
    """Where each table and ``key =`` of a TOML text starts (1-based lines)."""
    where: dict[tuple[str | int, ...], int] = {}
    counts: dict[tuple[str | int, ...], int] = {}
    table: tuple[str | int, ...] = ()
    for number, line in enumerate(lines, 1):
        header = _TOML_TABLE.match(line)
        if header:
            table = tuple(_toml_key(header.group(2)))
            if header.group(1) == "[[":  # an array of tables: one more element
                counts[table] = counts.get(table, -1) + 1
                where.setdefault(table, number)
                table = (*table, counts[table])
            where.setdefault(table, number)
            continue
        key = _TOML_KEY.match(line)
        if key:
            where.setdefault((*table, *_toml_key(key.group(1))), number)
    return where


def _toml_finder(text: str) -> Callable[[Sequence[str | int]], int | None]:
    lines = text.splitlines()
    index = cache(lambda: _toml_index(lines))

    def find(path: Sequence[str | int]) -> int | None:
        known = index()
        for end in range(len(path), 0, -1):
            line = known.get(tuple(path[:end]))
            if line is None:
                continue
            # Deeper keys inside an inline table or array: the next `key =` after it.
            last = path[-1]
            if end < len(path) and isinstance(last, str):
                pattern = re.compile(rf"(^|[{{,\s]){re.escape(last)}\s*=")
                for number in range(line, len(lines) + 1):
                    if pattern.search(lines[number - 1]):
                        return number
            return line
        return None

    return find


def line_finder(
    text: str, fmt: str, yaml_loader: Any
) -> Callable[[Sequence[str | int]], int | None]:
    """A finder for ``text`` in ``fmt`` (``yaml``, ``json`` or ``toml``)."""
    if fmt == "toml":
        return _toml_finder(text)
    return _yaml_finder(text, yaml_loader)
