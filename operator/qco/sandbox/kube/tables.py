"""Server-side `Table` responses, so `kubectl get` shows CRDs' additionalPrinterColumns."""

from __future__ import annotations

import datetime
import json
import re
from typing import Any

from qco.sandbox.kube.resources import ResourceType

_NAME_COLUMN = {
    "name": "Name",
    "type": "string",
    "format": "name",
    "priority": 0,
    "description": "Name must be unique within a namespace.",
}
_AGE_COLUMN = {
    "name": "Age",
    "type": "date",
    "jsonPath": ".metadata.creationTimestamp",
    "priority": 0,
    "description": "CreationTimestamp is a timestamp representing the server time when this object "
    "was created.",
}
# Columns kubectl users expect for the built-ins we serve (as the API server's printers define them).
_BUILTIN_COLUMNS: dict[str, list[dict[str, Any]]] = {
    "namespaces": [{"name": "Status", "type": "string", "jsonPath": ".status.phase"}],
    "secrets": [
        {"name": "Type", "type": "string", "jsonPath": ".type"},
        {"name": "Data", "type": "integer", "jsonPath": ".data", "count": True},
    ],
    "configmaps": [{"name": "Data", "type": "integer", "jsonPath": ".data", "count": True}],
    "leases": [{"name": "Holder", "type": "string", "jsonPath": ".spec.holderIdentity"}],
    "customresourcedefinitions": [
        {"name": "Created At", "type": "date", "jsonPath": ".metadata.creationTimestamp", "raw": True}
    ],
}
_FILTER_RE = re.compile(r"""^\?\(@\.([\w.]+)\s*==\s*["']([^"']*)["']\)$""")


def wants_table(accept: str) -> bool:
    """Whether the client asked for `as=Table` (kubectl get does, with a JSON fallback)."""
    return "as=Table" in accept


def _tokens(path: str) -> list[str]:
    path = path.strip()
    if path.startswith("{") and path.endswith("}"):
        path = path[1:-1]
    tokens: list[str] = []
    for match in re.finditer(r"\[([^\]]*)\]|\.([^.\[]+)", path):
        tokens.append(match.group(1) if match.group(1) is not None else "." + match.group(2))
    return tokens


def jsonpath(obj: Any, path: str) -> list[Any]:
    """Evaluate the JSONPath subset printer columns use: `.a.b`, `[0]`, `[*]`, `[?(@.type=="Ready")]`."""
    current = [obj]
    for token in _tokens(path):
        following: list[Any] = []
        for value in current:
            if token.startswith("."):
                if isinstance(value, dict) and token[1:] in value:
                    following.append(value[token[1:]])
            elif token == "*":
                following += (
                    value
                    if isinstance(value, list)
                    else list(value.values())
                    if isinstance(value, dict)
                    else []
                )
            elif m := _FILTER_RE.match(token):
                field, expected = m.group(1), m.group(2)
                for element in value if isinstance(value, list) else []:
                    found = jsonpath(element, "." + field)
                    if found and str(found[0]) == expected:
                        following.append(element)
            elif token.lstrip("-").isdigit() and isinstance(value, list):
                index = int(token)
                if -len(value) <= index < len(value):
                    following.append(value[index])
        current = following
    return current


def _age(timestamp: str) -> str:
    """Humanised age as kubectl prints it (`5s`, `3m`, `2h`, `4d`)."""
    try:
        then = datetime.datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.UTC)
    except ValueError:
        return timestamp
    seconds = max(0, int((datetime.datetime.now(datetime.UTC) - then).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size * 2 or (unit == "m" and seconds >= 120):
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def columns_for(rt: ResourceType) -> list[dict[str, Any]]:
    """Column definitions: Name, then the CRD's printer columns (or the built-in's), then Age."""
    if rt.printer_columns:
        return [dict(_NAME_COLUMN), *[dict(c) for c in rt.printer_columns]]
    age = [] if rt.plural == "customresourcedefinitions" else [dict(_AGE_COLUMN)]  # it has "Created At"
    return [dict(_NAME_COLUMN), *_BUILTIN_COLUMNS.get(rt.plural, []), *age]


def _cell(obj: dict[str, Any], column: dict[str, Any]) -> Any:
    if column.get("format") == "name" and "jsonPath" not in column:
        return obj.get("metadata", {}).get("name")
    found = jsonpath(obj, column.get("jsonPath", ""))
    if column.get("count"):
        return len(found[0]) if found and isinstance(found[0], dict) else 0
    if not found or found[0] is None:
        return None
    value = found[0]
    if column.get("type") == "date" and isinstance(value, str) and not column.get("raw"):
        return _age(value)
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    return value


def _definitions(columns: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "name": c["name"],
            "type": c.get("type", "string"),
            "format": c.get("format", ""),
            "description": c.get("description", ""),
            "priority": c.get("priority", 0),
        }
        for c in columns
    ]


def table(
    rt: ResourceType, objects: list[dict[str, Any]], resource_version: str, include_object: str = "Metadata"
) -> dict[str, Any]:
    """A `meta.k8s.io/v1` Table of the objects, as kubectl's server-side printing expects."""
    columns = columns_for(rt)
    rows = []
    for obj in objects:
        row: dict[str, Any] = {"cells": [_cell(obj, c) for c in columns]}
        if include_object == "Object":
            row["object"] = obj
        elif include_object != "None":
            row["object"] = {
                "kind": "PartialObjectMetadata",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": obj.get("metadata", {}),
            }
        rows.append(row)
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": resource_version},
        "columnDefinitions": _definitions(columns),
        "rows": rows,
    }
