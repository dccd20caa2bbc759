"""Structural schema handling for custom resources: pruning, defaulting and validation.

Messages and field paths follow the API server's (`spec.vectors[dense].size: Invalid value: ...`),
because tests and users read them.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

Cause = dict[str, str]
Path = tuple[str, ...]
_ROOT_KEEP = ("apiVersion", "kind", "metadata")


def child(path: Path, key: str) -> Path:
    """The path of an object property."""
    return (*path, f".{key}" if path else key)


def item(path: Path, index: int | str) -> Path:
    """The path of an array item (`[0]`) or a map entry (`[key]`)."""
    return (*path, f"[{index}]")


def render(path: Path) -> str:
    """`spec.vectors[dense].size` from path segments."""
    return "".join(path)


def json_type(value: Any) -> str:
    """The JSON type name the API server quotes in messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _quote(value: Any) -> str:
    return json.dumps(value) if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


# --- pruning ---------------------------------------------------------------------------------------


def prune(value: Any, schema: dict[str, Any], path: Path = (), root: bool = False) -> list[str]:
    """Drop fields the schema does not declare (in place); return their paths for field validation."""
    dropped: list[str] = []
    if isinstance(value, dict):
        props = schema.get("properties")
        additional = schema.get("additionalProperties")
        preserve = schema.get("x-kubernetes-preserve-unknown-fields") is True
        embedded = root or schema.get("x-kubernetes-embedded-resource") is True
        for key in list(value):
            if embedded and key in _ROOT_KEEP:
                continue
            if props is not None and key in props:
                dropped += prune(value[key], props[key], child(path, key))
            elif isinstance(additional, dict):
                dropped += prune(value[key], additional, item(path, key))
            elif additional is True or preserve:
                continue
            else:
                dropped.append(render(child(path, key)))
                del value[key]
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for index, element in enumerate(value):
            dropped += prune(element, schema["items"], item(path, index))
    return dropped


# --- defaulting ------------------------------------------------------------------------------------


def apply_defaults(value: Any, schema: dict[str, Any]) -> None:
    """Fill in `default`s of absent properties (in place), then recurse into what is present."""
    if isinstance(value, dict):
        props = schema.get("properties") or {}
        for key, sub in props.items():
            absent = key not in value or (value[key] is None and not sub.get("nullable"))
            if absent and "default" in sub:
                value[key] = copy.deepcopy(sub["default"])
            if key in value:
                apply_defaults(value[key], sub)
        additional = schema.get("additionalProperties")
        if isinstance(additional, dict):
            for key in list(value):
                if key not in props:
                    apply_defaults(value[key], additional)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for element in value:
            apply_defaults(element, schema["items"])


# --- validation ------------------------------------------------------------------------------------


def _cause(reason: str, path: Path, message: str) -> Cause:
    return {"reason": reason, "message": message, "field": render(path)}


def _type_ok(value: Any, expected: str) -> bool:
    if expected == "object":
        return isinstance(value, dict)
    if expected == "array":
        return isinstance(value, list)
    if expected == "string":
        return isinstance(value, str)
    if expected == "boolean":
        return isinstance(value, bool)
    if expected == "integer":
        return (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, float) and value.is_integer()
        )
    if expected == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    return True


def validate(value: Any, schema: dict[str, Any], path: Path = (), root: bool = False) -> list[Cause]:
    """Every violation of `schema` in `value`, as API-server causes (reason, message, field)."""
    where = render(path)
    if value is None:
        if schema.get("nullable") or not schema.get("type"):
            return []
        return [
            _cause(
                "FieldValueTypeInvalid",
                path,
                f'Invalid value: "null": {where} in body must be of type {schema["type"]}: "null"',
            )
        ]
    if schema.get("x-kubernetes-int-or-string"):
        if not (isinstance(value, str) or _type_ok(value, "integer")):
            return [
                _cause(
                    "FieldValueTypeInvalid",
                    path,
                    f'Invalid value: "{json_type(value)}": {where} in body '
                    f'must be of type integer-or-string: "{json_type(value)}"',
                )
            ]
    elif schema.get("type") and not _type_ok(value, schema["type"]):
        return [
            _cause(
                "FieldValueTypeInvalid",
                path,
                f'Invalid value: "{json_type(value)}": {where} in body '
                f'must be of type {schema["type"]}: "{json_type(value)}"',
            )
        ]

    causes: list[Cause] = []
    if "enum" in schema and value not in schema["enum"]:
        supported = ", ".join(_quote(v) for v in schema["enum"])
        causes.append(
            _cause(
                "FieldValueNotSupported",
                path,
                f"Unsupported value: {_quote(value)}: supported values: {supported}",
            )
        )
    causes += _validate_bounds(value, schema, path)
    for sub in schema.get("allOf") or []:
        causes += validate(value, sub, path)
    for keyword, needed in (("anyOf", "at least one"), ("oneOf", "only one")):
        options = schema.get(keyword)
        if options:
            passing = sum(1 for sub in options if not validate(value, sub, path))
            if passing == 0 or (keyword == "oneOf" and passing > 1):
                causes.append(
                    _cause(
                        "FieldValueInvalid",
                        path,
                        f"Invalid value: {_quote(value)}: {where} in body "
                        f"must validate {needed} schema ({keyword})",
                    )
                )
    if isinstance(value, dict):
        causes += _validate_object(value, schema, path, root)
    elif isinstance(value, list):
        items = schema.get("items")
        if isinstance(items, dict):
            for index, element in enumerate(value):
                causes += validate(element, items, item(path, index))
    return causes


def _validate_bounds(value: Any, schema: dict[str, Any], path: Path) -> list[Cause]:
    where, causes = render(path), []
    shown = _quote(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        if "minimum" in schema:
            exclusive = schema.get("exclusiveMinimum") is True
            if value < schema["minimum"] or (exclusive and value == schema["minimum"]):
                relation = "greater than" if exclusive else "greater than or equal to"
                causes.append(
                    _cause(
                        "FieldValueInvalid",
                        path,
                        f"Invalid value: {shown}: {where} in body "
                        f"should be {relation} {_quote(schema['minimum'])}",
                    )
                )
        if "maximum" in schema:
            exclusive = schema.get("exclusiveMaximum") is True
            if value > schema["maximum"] or (exclusive and value == schema["maximum"]):
                relation = "less than" if exclusive else "less than or equal to"
                causes.append(
                    _cause(
                        "FieldValueInvalid",
                        path,
                        f"Invalid value: {shown}: {where} in body "
                        f"should be {relation} {_quote(schema['maximum'])}",
                    )
                )
    if isinstance(value, str):
        if "minLength" in schema and len(value) < schema["minLength"]:
            causes.append(
                _cause(
                    "FieldValueInvalid",
                    path,
                    f"Invalid value: {shown}: {where} in body "
                    f"should be at least {schema['minLength']} chars long",
                )
            )
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            causes.append(
                _cause(
                    "FieldValueTooLong", path, f"Too long: may not be more than {schema['maxLength']} bytes"
                )
            )
        if "pattern" in schema and not re.search(schema["pattern"], value):
            causes.append(
                _cause(
                    "FieldValueInvalid",
                    path,
                    f"Invalid value: {shown}: {where} in body should match '{schema['pattern']}'",
                )
            )
    if isinstance(value, list):
        if "minItems" in schema and len(value) < schema["minItems"]:
            causes.append(
                _cause(
                    "FieldValueInvalid",
                    path,
                    f"Invalid value: {len(value)}: {where} in body "
                    f"should have at least {schema['minItems']} items",
                )
            )
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            causes.append(
                _cause(
                    "FieldValueTooMany",
                    path,
                    f"Too many: {len(value)}: must have at most {schema['maxItems']} items",
                )
            )
        if schema.get("uniqueItems") and len({json.dumps(v, sort_keys=True) for v in value}) != len(value):
            causes.append(
                _cause(
                    "FieldValueDuplicate",
                    path,
                    f"Duplicate value: {where} in body shouldn't contain duplicates",
                )
            )
    if isinstance(value, dict):
        if "minProperties" in schema and len(value) < schema["minProperties"]:
            causes.append(
                _cause(
                    "FieldValueInvalid",
                    path,
                    f"Invalid value: {len(value)}: {where} in body "
                    f"should have at least {schema['minProperties']} properties",
                )
            )
        if "maxProperties" in schema and len(value) > schema["maxProperties"]:
            causes.append(
                _cause(
                    "FieldValueTooMany",
                    path,
                    f"Too many: {len(value)}: must have at most {schema['maxProperties']} items",
                )
            )
    return causes


def _validate_object(value: dict[str, Any], schema: dict[str, Any], path: Path, root: bool) -> list[Cause]:
    causes: list[Cause] = []
    props = schema.get("properties") or {}
    for name in schema.get("required") or []:
        if name not in value:
            causes.append(_cause("FieldValueRequired", child(path, name), "Required value"))
    for key, sub_value in value.items():
        if root and key in _ROOT_KEEP:
            continue
        if key in props:
            causes += validate(sub_value, props[key], child(path, key))
        elif isinstance(schema.get("additionalProperties"), dict):
            causes += validate(sub_value, schema["additionalProperties"], item(path, key))
    return causes
