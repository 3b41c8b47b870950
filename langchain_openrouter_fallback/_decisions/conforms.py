"""Does a JSON value conform to a JSON Schema? The subset structured outputs use.

Enough for the ``schema`` answer check (``accept``) without a ``jsonschema`` dependency:
``type``, ``properties``, ``required``, ``additionalProperties``, ``items``, ``enum``,
``const``, ``anyOf``/``oneOf``/``allOf``, local ``$ref`` (``#/$defs/...``,
``#/definitions/...``) and the numeric, length and size bounds. Keywords outside the
subset are not checked (an answer is never rejected for what this cannot read).
"""

from __future__ import annotations

import operator
from typing import Any

__all__ = ["first_violation"]

_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "boolean": (bool,),
    "null": (type(None),),
}
_BOUNDS = (
    ("minimum", operator.ge, "below minimum"),
    ("maximum", operator.le, "above maximum"),
    ("exclusiveMinimum", operator.gt, "not above exclusiveMinimum"),
    ("exclusiveMaximum", operator.lt, "not below exclusiveMaximum"),
)
_SIZES: dict[type, tuple[str, str]] = {
    str: ("minLength", "maxLength"),
    list: ("minItems", "maxItems"),
}
_MAX_REFS = 64


def _is(value: Any, name: str) -> bool:
    if name == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if name == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if name == "boolean":
        return isinstance(value, bool)
    return isinstance(value, _TYPES.get(name, object))


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    for _ in range(_MAX_REFS):
        ref = schema.get("$ref")
        if not isinstance(ref, str) or not ref.startswith("#/"):
            return schema
        target: Any = root
        for part in ref[2:].split("/"):
            target = target.get(part, {}) if isinstance(target, dict) else {}
        schema = target if isinstance(target, dict) else {}
    return schema


def first_violation(value: Any, schema: Any, *, root: Any = None, path: str = "$") -> str | None:
    """The first place ``value`` breaks ``schema``, as ``"$.a[0]: reason"``; ``None`` if it fits."""
    if not isinstance(schema, dict):
        return None  # `true`, or nothing readable: anything fits
    root = schema if root is None else root
    schema = _resolve(schema, root)
    found = _own_violation(value, schema, root, path)
    if found is not None:
        return found
    if isinstance(value, dict):
        return _object_violation(value, schema, root, path)
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            if found := first_violation(item, schema["items"], root=root, path=f"{path}[{i}]"):
                return found
    return None


def _own_violation(value: Any, schema: dict[str, Any], root: Any, path: str) -> str | None:
    for check in (_type, _choices, _combined, _bounds):
        if (found := check(value, schema, root, path)) is not None:
            return found
    return None


def _type(value: Any, schema: dict[str, Any], _root: Any, path: str) -> str | None:
    types = schema.get("type")
    names = [types] if isinstance(types, str) else types if isinstance(types, list) else []
    if names and not any(_is(value, name) for name in names):
        return f"{path}: expected {' or '.join(map(str, names))}, got {type(value).__name__}"
    return None


def _choices(value: Any, schema: dict[str, Any], _root: Any, path: str) -> str | None:
    if "enum" in schema and value not in schema["enum"]:
        return f"{path}: {value!r} is not one of {schema['enum']!r}"
    if "const" in schema and value != schema["const"]:
        return f"{path}: expected {schema['const']!r}"
    return None


def _combined(value: Any, schema: dict[str, Any], root: Any, path: str) -> str | None:
    for key in ("anyOf", "oneOf"):
        options = schema.get(key)
        if (
            isinstance(options, list)
            and options
            and all(first_violation(value, option, root=root, path=path) for option in options)
        ):
            return f"{path}: matches none of {key}"
    for option in schema.get("allOf") or []:
        if found := first_violation(value, option, root=root, path=path):
            return found
    return None


def _bounds(value: Any, schema: dict[str, Any], _root: Any, path: str) -> str | None:
    if _is(value, "number"):
        for key, holds, reason in _BOUNDS:
            bound: Any = schema.get(key)
            if _is(bound, "number") and not holds(value, bound):
                return f"{path}: {value!r} is {reason} {bound!r}"
    sizes = _SIZES.get(type(value))
    if sizes is None:
        return None
    low, high = sizes
    if len(value) < schema.get(low, 0):
        return f"{path}: shorter than {low} {schema[low]}"
    if high in schema and len(value) > schema[high]:
        return f"{path}: longer than {high} {schema[high]}"
    return None


def _object_violation(
    value: dict[str, Any], schema: dict[str, Any], root: Any, path: str
) -> str | None:
    for name in schema.get("required") or []:
        if name not in value:
            return f"{path}: missing required property {name!r}"
    properties = schema.get("properties") or {}
    extra = schema.get("additionalProperties", True)
    for name, item in value.items():
        where = f"{path}.{name}"
        if name in properties:
            found = first_violation(item, properties[name], root=root, path=where)
        elif extra is False:
            found = f"{where}: property not allowed (additionalProperties: false)"
        else:
            found = first_violation(item, extra, root=root, path=where)
        if found:
            return found
    return None
