"""`x-kubernetes-list-type` checks: no duplicate keys in `map` lists, no duplicate items in `set` lists.

The API server reports each repeated item once, at its second occurrence, as
`field[i]: Duplicate value: <value>` with the value printed by Go's `%#v`/`%q` (what clients
match on), reason `FieldValueDuplicate`.
"""

from __future__ import annotations

import json
from typing import Any

from qco.sandbox.kube.schema import Cause, Path, child, item, render


def _go_value(value: Any) -> str:
    """A value as Go's field.Error prints it: strings quoted, maps as `map[string]interface {}{...}`."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        inner = ", ".join(f"{json.dumps(k)}:{_go_inner(v)}" for k, v in sorted(value.items()))
        return "map[string]interface {}{" + inner + "}"
    if isinstance(value, list):
        return "[]interface {}{" + ", ".join(_go_inner(v) for v in value) + "}"
    return json.dumps(value)


def _go_inner(value: Any) -> str:
    # Inside a composite, Go's %#v prints strings quoted and numbers bare, as JSON does.
    return _go_value(value) if isinstance(value, dict | list) else json.dumps(value, ensure_ascii=False)


def _duplicate(path: Path, index: int, value: Any) -> Cause:
    return {
        "reason": "FieldValueDuplicate",
        "message": f"Duplicate value: {_go_value(value)}",
        "field": render(item(path, index)),
    }


def _check_list(value: list[Any], schema: dict[str, Any], path: Path) -> list[Cause]:
    list_type = schema.get("x-kubernetes-list-type")
    keys = schema.get("x-kubernetes-list-map-keys") or []
    counts: dict[str, int] = {}
    causes = []
    for index, element in enumerate(value):
        if list_type == "map" and isinstance(element, dict):
            shown: Any = {k: element[k] for k in keys if k in element}
        elif list_type == "set":
            shown = element
        else:
            continue
        seen = json.dumps(shown, sort_keys=True)
        counts[seen] = counts.get(seen, 0) + 1
        if counts[seen] == 2:
            causes.append(_duplicate(path, index, shown))
    return causes


def validate(value: Any, schema: dict[str, Any], path: Path = ()) -> list[Cause]:
    """Duplicates in every `map` and `set` list of `value`, walking the schema."""
    causes: list[Cause] = []
    if isinstance(value, dict):
        props = schema.get("properties") or {}
        additional = schema.get("additionalProperties")
        for key, sub in value.items():
            if key in props:
                causes += validate(sub, props[key], child(path, key))
            elif isinstance(additional, dict):
                causes += validate(sub, additional, item(path, key))
    elif isinstance(value, list):
        causes += _check_list(value, schema, path)
        items = schema.get("items")
        if isinstance(items, dict):
            for index, element in enumerate(value):
                causes += validate(element, items, item(path, index))
    return causes
