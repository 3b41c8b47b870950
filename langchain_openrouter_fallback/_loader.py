"""Read chain (and scenario) documents from YAML, TOML or JSON with errors users can act on.

Every failure becomes one :class:`ChainValidationError` paragraph naming the file, the
field path, the reason and, for YAML, the line.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from langchain_openrouter_fallback._chain import FallbackChain
from langchain_openrouter_fallback._errors import ChainValidationError

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

__all__ = ["ChainYamlLoader", "load_chain", "load_chains", "load_document", "validate_document"]

Model = TypeVar("Model", bound=BaseModel)
_SUFFIXES = {".yaml": "yaml", ".yml": "yaml", ".toml": "toml", ".json": "json"}
_MAX_ERRORS = 5
_BOOL_TAG = "tag:yaml.org,2002:bool"


class ChainYamlLoader(yaml.SafeLoader):
    """PyYAML's safe loader with YAML 1.2 booleans: only ``true``/``false``.

    YAML 1.1 also reads ``on``/``off``/``yes``/``no`` as booleans, which turns the natural
    ``retry: {on: [server]}`` into a ``True`` key. Here they stay strings; boolean fields
    still accept them as values (pydantic reads ``"yes"``/``"off"`` as booleans).
    """


ChainYamlLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != _BOOL_TAG]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
ChainYamlLoader.add_implicit_resolver(
    _BOOL_TAG, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def _yaml_line_finder(text: str) -> Callable[[Sequence[str | int]], int | None]:
    try:
        root = yaml.compose(text, Loader=ChainYamlLoader)
    except yaml.YAMLError:
        root = None

    def find(path: Sequence[str | int]) -> int | None:
        node, line = root, None
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


def _no_lines(_path: Sequence[str | int]) -> int | None:
    return None


def _parse(text: str, fmt: str, source: str) -> Any:
    try:
        if fmt == "yaml":
            return yaml.load(text, Loader=ChainYamlLoader)  # noqa: S506 - a SafeLoader
        if fmt == "toml":
            return tomllib.loads(text)
        return json.loads(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        msg = f"{source}: malformed YAML{where}: {exc.problem or exc}"
    except (yaml.YAMLError, tomllib.TOMLDecodeError, json.JSONDecodeError, ValueError) as exc:
        msg = f"{source}: malformed {fmt.upper()}: {exc}"
    raise ChainValidationError(msg, source=source)


def load_document(path: str | Path) -> tuple[Any, Callable[[Sequence[str | int]], int | None]]:
    """Parse a file by its suffix; return the data and a field-path -> line finder."""
    file = Path(path)
    fmt = _SUFFIXES.get(file.suffix.lower())
    if fmt is None:
        msg = f"{file}: unsupported file type {file.suffix!r} (use .yaml, .yml, .toml or .json)"
        raise ChainValidationError(msg, source=str(file))
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        msg = f"{file}: cannot read: {exc}"
        raise ChainValidationError(msg, source=str(file)) from None
    data = _parse(text, fmt, str(file))
    return data, (_yaml_line_finder(text) if fmt == "yaml" else _no_lines)


def validate_document(
    model: type[Model],
    data: Any,
    *,
    source: str,
    prefix: Sequence[str | int] = (),
    find_line: Callable[[Sequence[str | int]], int | None] = _no_lines,
    what: str = "chain",
) -> Model:
    """Validate ``data`` into ``model``; wrap failures in one readable paragraph."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems: dict[str, str] = {}
        for err in exc.errors():
            path = [*prefix, *(p for p in err["loc"] if not _is_union_tag(p))]
            field = ".".join(str(p) for p in path) or "(document)"
            line = find_line(path)
            at = f" (line {line})" if line else ""
            key = f"{field}{at}"
            # A union reports one error per member; say the first, not all of them.
            problems.setdefault(key, f"{key}: {_reason(err)}")
        problems_list = list(problems.values())[:_MAX_ERRORS]
        more = len(problems) - len(problems_list)
        tail = f"; and {more} more" if more > 0 else ""
        msg = f"{source}: invalid {what}: " + "; ".join(problems_list) + tail
        raise ChainValidationError(msg, source=source, errors=problems_list) from None


def _is_union_tag(part: str | int) -> bool:
    # pydantic names union members in the location (``literal['a','b']``, ``ProviderSort``).
    return isinstance(part, str) and (
        part[:1].isupper() or "[" in part or part.startswith(("function-", "lax-", "json-"))
    )


def _reason(err: Any) -> str:
    message = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        return "unknown field (not accepted here)"
    if err["type"] == "missing":
        return "required field is missing"
    return message


def _chain_entries(data: Any, source: str) -> list[tuple[list[str | int], dict[str, Any]]]:
    if not isinstance(data, dict):
        msg = f"{source}: invalid chain: the document must be a mapping, got {type(data).__name__}"
        raise ChainValidationError(msg, source=source)
    if "chains" not in data:
        return [([], data)]
    chains = data["chains"]
    extra = sorted(set(data) - {"chains"})
    if extra or not isinstance(chains, dict) or not chains:
        why = f"unknown top-level keys {extra}" if extra else "must map chain names to chains"
        msg = f"{source}: invalid chain file: chains: {why}"
        raise ChainValidationError(msg, source=source)
    entries: list[tuple[list[str | int], dict[str, Any]]] = []
    for name, body in chains.items():
        if not isinstance(body, dict):
            msg = f"{source}: invalid chain: chains.{name}: must be a mapping"
            raise ChainValidationError(msg, source=source)
        entries.append((["chains", str(name)], {"name": str(name), **body}))
    return entries


def load_chains(path: str | Path) -> dict[str, FallbackChain]:
    """All chains in a file, by name, validated and checked against their ``requires``."""
    source = str(path)
    data, find_line = load_document(path)
    chains: dict[str, FallbackChain] = {}
    for prefix, body in _chain_entries(data, source):
        chain = validate_document(
            FallbackChain, body, source=source, prefix=prefix, find_line=find_line
        )
        if chain.name in chains:
            msg = f"{source}: invalid chain file: two chains are named {chain.name!r}"
            raise ChainValidationError(msg, source=source)
        chains[chain.name] = chain
    return chains


def load_chain(path: str | Path, *, name: str | None = None) -> FallbackChain:
    """One chain from a file; ``name`` picks it when the file holds several."""
    chains = load_chains(path)
    if name is not None:
        if name not in chains:
            msg = f"{path}: no chain named {name!r} (found: {', '.join(chains)})"
            raise ChainValidationError(msg, source=str(path))
        return chains[name]
    if len(chains) > 1:
        msg = f"{path}: holds several chains ({', '.join(chains)}); pass name=... to pick one"
        raise ChainValidationError(msg, source=str(path))
    return next(iter(chains.values()))
