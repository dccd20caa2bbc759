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
    try:  # RFC 3339 times, and MicroTime (`eventTime`) with its fraction of a second
        then = datetime.datetime.fromisoformat(timestamp)
    except ValueError:
        return timestamp
    if then.tzinfo is None:
        then = then.replace(tzinfo=datetime.UTC)
    return human_duration(int((datetime.datetime.now(datetime.UTC) - then).total_seconds()))


def human_duration(seconds: int) -> str:
    """apimachinery's HumanDuration: `45s`, `3m20s`, `25m`, `5h10m`, `30h`, `3d4h`, `400d`, `3y20d`."""
    if seconds < -1:
        return "<invalid>"
    if seconds < 120:
        return f"{max(seconds, 0)}s"
    minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86400
    if minutes < 10:
        return f"{minutes}m{seconds % 60}s" if seconds % 60 else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return f"{days}d{hours % 24}h" if hours % 24 else f"{days}d"
    if hours < 24 * 365 * 2:
        return f"{days}d"
    if hours < 24 * 365 * 8:
        return f"{days // 365}y{days % 365}d" if days % 365 else f"{days // 365}y"
    return f"{days // 365}y"


def _event_column(name: str, description: str, priority: int = 0, **extra: Any) -> dict[str, Any]:
    return {"name": name, "type": "string", "priority": priority, "description": description, **extra}


# The API server's columns for core/v1 Events; the server prints them all ("wide") and kubectl
# hides priority-1 columns unless `-o wide`.
_EVENT_COLUMNS = [
    _event_column("Last Seen", "The time at which the most recent occurrence of this event was recorded."),
    _event_column("Type", "Type of this event (Normal, Warning), new types could be added in the future"),
    _event_column(
        "Reason",
        "This should be a short, machine understandable string that gives the reason "
        "for the transition into the object's current status.",
    ),
    _event_column("Object", "The object that this event is about."),
    _event_column("Subobject", "The field of the object the event is about.", 1),
    _event_column("Source", "The component reporting this event.", 1),
    _event_column("Message", "A human-readable description of the status of this operation."),
    _event_column("First Seen", "The time at which the event was first recorded.", 1),
    _event_column("Count", "The number of times this event has occurred.", 1),
    _event_column("Name", "Name must be unique within a namespace.", 1, format="name"),
]


def _event_cells(event: dict[str, Any]) -> list[Any]:
    """One Event row, computed as the API server's event printer does."""
    involved = event.get("involvedObject") or {}
    first = event.get("firstTimestamp") or event.get("eventTime") or ""
    last = event.get("lastTimestamp") or first
    count = event.get("count") or 1
    series = event.get("series") or {}
    if series:
        last, count = series.get("lastObservedTime") or last, series.get("count") or count
    first_seen = _age(first) if first else "<unknown>"
    last_seen = _age(last) if last else "<unknown>"
    if count > 1:
        last_seen = f"{last_seen} (x{count} over {first_seen})"
    kind = str(involved.get("kind", "")).lower()
    target = f"{kind}/{involved['name']}" if involved.get("name") else kind
    source = event.get("source") or {}
    component = source.get("component") or event.get("reportingComponent") or ""
    host = source.get("host") or event.get("reportingInstance") or ""
    return [
        last_seen,
        event.get("type", ""),
        event.get("reason", ""),
        target,
        involved.get("fieldPath", ""),
        f"{component}, {host}" if host else component,
        str(event.get("message", "")).strip(),
        first_seen,
        count,
        event.get("metadata", {}).get("name", ""),
    ]


def columns_for(rt: ResourceType) -> list[dict[str, Any]]:
    """Column definitions: Name, then the CRD's printer columns (or the built-in's), then Age."""
    if rt.storage_key == ("", "events"):
        return [dict(c) for c in _EVENT_COLUMNS]
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
    rt: ResourceType,
    objects: list[dict[str, Any]],
    list_meta: dict[str, Any],
    include_object: str = "Metadata",
) -> dict[str, Any]:
    """A `meta.k8s.io/v1` Table of the objects, as kubectl's server-side printing expects."""
    columns = columns_for(rt)
    rows = []
    for obj in objects:
        cells = _event_cells(obj) if rt.storage_key == ("", "events") else [_cell(obj, c) for c in columns]
        row: dict[str, Any] = {"cells": cells}
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
        "metadata": list_meta,
        "columnDefinitions": _definitions(columns),
        "rows": rows,
    }
