"""Read chain (and scenario) documents from YAML, TOML or JSON with errors users can act on.

Every failure becomes one :class:`ChainValidationError` paragraph naming the file, the
field path, the reason and the line. Absurd documents are refused before they are parsed
or validated in full: a file over :data:`MAX_FILE_BYTES`, lists and mappings nested deeper
than :data:`MAX_DEPTH`, a chain over ``MAX_LINKS`` links.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, get_args

import yaml
from pydantic import BaseModel, ValidationError

from langchain_openrouter_fallback._definition.chain import MAX_LINKS, FallbackChain
from langchain_openrouter_fallback._definition.lines import line_finder, no_lines
from langchain_openrouter_fallback._errors import ChainValidationError

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

__all__ = [
    "MAX_DEPTH",
    "MAX_FILE_BYTES",
    "ChainYamlLoader",
    "load_chain",
    "load_chains",
    "load_document",
    "parse_text",
    "validate_document",
]

Model = TypeVar("Model", bound=BaseModel)
_SUFFIXES = {".yaml": "yaml", ".yml": "yaml", ".toml": "toml", ".json": "json"}
_MAX_ERRORS = 5
MAX_FILE_BYTES = 256 * 1024
"""Largest chain (or scenario) file read; real ones are a few kilobytes."""
MAX_DEPTH = 64
"""Deepest nesting of lists and mappings in a chain (or scenario) file; real ones need ~8.

Deeper documents exhaust the parsers' recursion (libyaml's composer crashes the process)."""
_BOOL_TAG = "tag:yaml.org,2002:bool"
_OPENS = (yaml.SequenceStartEvent, yaml.MappingStartEvent)
_CLOSES = (yaml.SequenceEndEvent, yaml.MappingEndEvent)


class ChainYamlLoader(yaml.SafeLoader):
    """PyYAML's safe loader with YAML 1.2 booleans: only ``true``/``false``.

    YAML 1.1 also reads ``on``/``off``/``yes``/``no`` as booleans, which turns the natural
    ``retry: {on: [server]}`` into a ``True`` key. Here they stay strings; boolean fields
    still accept them as values (pydantic reads ``"yes"``/``"off"`` as booleans).
    """


_YAML_1_2_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")


def _yaml_1_2_booleans(loader: type[yaml.SafeLoader]) -> None:
    loader.yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag != _BOOL_TAG]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    loader.add_implicit_resolver(_BOOL_TAG, _YAML_1_2_BOOL, list("tTfF"))


_yaml_1_2_booleans(ChainYamlLoader)
_LOADER: Any = ChainYamlLoader
if yaml.__with_libyaml__:  # the same resolution, parsed by libyaml (several times faster)

    class _CChainYamlLoader(yaml.CSafeLoader):
        """:class:`ChainYamlLoader` on libyaml's parser."""

    _yaml_1_2_booleans(_CChainYamlLoader)  # type: ignore[arg-type]
    _LOADER = _CChainYamlLoader


def _yaml_too_deep(text: str) -> bool:
    """Whether the YAML nests deeper than :data:`MAX_DEPTH` (events only: nothing is built)."""
    depth = 0
    for event in yaml.parse(text, Loader=_LOADER):
        if isinstance(event, _OPENS):
            depth += 1
            if depth > MAX_DEPTH:
                return True
        elif isinstance(event, _CLOSES):
            depth -= 1
    return False


def _data_too_deep(data: Any) -> bool:
    """Whether parsed data nests deeper than :data:`MAX_DEPTH`.

    Level by level, each list or mapping once: YAML aliases can share (or loop back to) a
    node, and TOML dotted keys nest without brackets.
    """
    level = {id(data): data} if isinstance(data, dict | list) else {}
    for _ in range(MAX_DEPTH):
        below: dict[int, Any] = {}
        for value in level.values():
            for child in value.values() if isinstance(value, dict) else value:
                if isinstance(child, dict | list):
                    below[id(child)] = child
        level = below
    return bool(level)


def _too_deep(source: str) -> ChainValidationError:
    msg = f"{source}: refused: lists and mappings nested more than {MAX_DEPTH} levels deep"
    return ChainValidationError(msg, source=source)


def parse_text(text: str, fmt: str, source: str) -> Any:
    """Parse ``text`` as ``yaml``, ``toml`` or ``json``; refuse nesting over :data:`MAX_DEPTH`."""
    data = _parse_text(text, fmt, source)
    if _data_too_deep(data):
        raise _too_deep(source)
    return data


def _parse_text(text: str, fmt: str, source: str) -> Any:
    try:
        if fmt == "yaml":
            if _yaml_too_deep(text):
                raise _too_deep(source)
            return yaml.load(text, Loader=_LOADER)  # noqa: S506 - a SafeLoader
        if fmt == "toml":
            return tomllib.loads(text)
        return json.loads(text)
    except ChainValidationError:
        raise  # too deep: already one line
    except RecursionError:
        raise _too_deep(source) from None
    except yaml.MarkedYAMLError as exc:
        if "nesting depth" in str(exc.problem):
            # libyaml 0.2.5+ has its own limit (1000), which its scanner's read-ahead can hit
            # before our event count reaches MAX_DEPTH: the same refusal either way.
            raise _too_deep(source) from None
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
        size = file.stat().st_size
        if size > MAX_FILE_BYTES:
            msg = (
                f"{file}: refused: {size:,} bytes is over the {MAX_FILE_BYTES:,}-byte limit "
                "for a chain file"
            )
            raise ChainValidationError(msg, source=str(file))
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        msg = f"{file}: cannot read: {reason}"
        raise ChainValidationError(msg, source=str(file)) from None
    data = parse_text(text, fmt, str(file))
    return data, line_finder(text, fmt, _LOADER)


def validate_document(
    model: type[Model],
    data: Any,
    *,
    source: str,
    prefix: Sequence[str | int] = (),
    find_line: Callable[[Sequence[str | int]], int | None] = no_lines,
    what: str = "chain",
) -> Model:
    """Validate ``data`` into ``model``; wrap failures in one readable paragraph."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems: dict[str, str] = {}
        for err in exc.errors():
            loc = [p for p in err["loc"] if not _is_union_tag(p)]
            if err["type"] == "duplicate_label":  # point at the duplicate, not at `models`
                loc += [err["ctx"]["index"], "label"]
            path = [*prefix, *loc]
            field = ".".join(str(p) for p in path) or "(document)"
            line = find_line(path)
            at = f" (line {line})" if line else ""
            key = f"{field}{at}"
            # A union reports one error per member; say the first, not all of them.
            problems.setdefault(key, f"{key}: {_reason(err, model, loc)}")
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


def _reason(err: Any, model: type[BaseModel], loc: Sequence[str | int]) -> str:
    message = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        guess = _closest_field(model, loc)
        return (
            f"unknown field; did you mean `{guess}`?"
            if guess
            else "unknown field (not accepted here)"
        )
    if err["type"] == "missing":
        return "required field is missing"
    return message


def _closest_field(model: type[BaseModel], loc: Sequence[str | int]) -> str | None:
    """The field name an unknown key was probably meant to be (``timout`` -> ``timeout``)."""
    import difflib  # noqa: PLC0415 - only a mistyped key needs it

    current: Any = model
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        field = current.model_fields.get(part) if _is_model(current) else None
        current = _model_in(field.annotation) if field is not None else None
    if not loc or not _is_model(current) or not isinstance(loc[-1], str):
        return None
    names = [info.alias or name for name, info in current.model_fields.items()]
    found = difflib.get_close_matches(loc[-1], names, n=1, cutoff=0.6)
    return found[0] if found else None


def _is_model(value: Any) -> bool:
    return isinstance(value, type) and issubclass(value, BaseModel)


def _model_in(annotation: Any) -> Any:
    """The pydantic model inside ``X | None``, ``list[X]``, ``dict[str, X]``... if any."""
    if _is_model(annotation):
        return annotation
    for arg in get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _not_a_mapping(data: Any, source: str) -> ChainValidationError:
    if data is None:
        msg = (
            f"{source}: the file is empty: a chain file needs at least `models:` "
            "(a list of model ids), or `chains:` mapping names to chains"
        )
    else:
        kinds: dict[type, str] = {list: "a list", str: "a single value"}
        kind = kinds.get(type(data), f"a {type(data).__name__}")
        msg = (
            f"{source}: invalid chain file: the document is {kind}; a chain file is a "
            "mapping with `models:` (or `chains:` mapping names to chains)"
        )
    return ChainValidationError(msg, source=source)


def _check_size(body: dict[str, Any], prefix: list[str | int], source: str) -> None:
    """Refuse a chain with too many links before validating any of them."""
    links = body.get("models")
    if isinstance(links, list) and len(links) > MAX_LINKS:
        where = ".".join(map(str, [*prefix, "models"]))
        msg = (
            f"{source}: invalid chain: {where}: {len(links):,} links is over the limit of "
            f"{MAX_LINKS} per chain"
        )
        raise ChainValidationError(msg, source=source)


def _chain_entries(data: Any, source: str) -> list[tuple[list[str | int], dict[str, Any]]]:
    if not isinstance(data, dict):
        raise _not_a_mapping(data, source)
    if "chains" not in data:
        _check_size(data, [], source)
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
        _check_size(body, ["chains", str(name)], source)
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
