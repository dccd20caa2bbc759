"""Field sets of server-side apply: which fields an object or an applied configuration sets.

A field set is a frozenset of paths; a path is a tuple of `fieldsV1` path elements, as the
API server writes them in `metadata.managedFields`:
- `f:name`: a field of an object or a key of a map;
- `k:{"name":"a"}`: the item of an associative list (`x-kubernetes-list-type: map`) with these keys;
- `v:"a"`: an item of a set list (`x-kubernetes-list-type: set`).
Lists of any other kind are atomic (one leaf), as are maps marked `x-kubernetes-map-type: atomic`.
An item of an associative list is a member of the set itself and has its fields below it
(`{"k:{...}": {".": {}, "f:name": {}}}` in `fieldsV1`).

The semantics follow kubernetes-sigs/structured-merge-diff; custom resources read their
list and map types from the CRD schema, built-in kinds from a few known lists.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from qco.sandbox.kube import patches

Path = tuple[str, ...]
FieldSet = frozenset[Path]
Schema = dict[str, Any] | None

# ObjectMeta's granular parts (everything else in metadata is either identity or server-set).
_METADATA_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
        "finalizers": {"type": "array", "items": {"type": "string"}, "x-kubernetes-list-type": "set"},
        "ownerReferences": {
            "type": "array",
            "items": {"type": "object"},
            "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["uid"],
        },
    },
}


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def child_schema(schema: Schema, key: str, root: bool = False) -> Schema:
    """The schema of `key` inside an object described by `schema` (None: no schema known)."""
    if root and key == "metadata":
        return _METADATA_SCHEMA
    if schema is None:
        return None
    props = schema.get("properties") or {}
    if key in props:
        return dict(props[key])
    additional = schema.get("additionalProperties")
    return dict(additional) if isinstance(additional, dict) else {}


def list_kind(schema: Schema, name: str) -> tuple[str, list[str]]:
    """("map", keys), ("set", []) or ("atomic", []) for the list field `name` with `schema`."""
    if schema is None:
        # Built-in kinds: the lists kubectl merges by key (their Go types' patchMergeKey).
        key = patches.MERGE_KEYS.get(name)
        return ("map", [key]) if key else ("atomic", [])
    list_type = schema.get("x-kubernetes-list-type", "atomic")
    if list_type == "map":
        return "map", list(schema.get("x-kubernetes-list-map-keys") or [])
    return ("set", []) if list_type == "set" else ("atomic", [])


def _atomic_map(schema: Schema) -> bool:
    return schema is not None and (
        schema.get("x-kubernetes-map-type") == "atomic"
        or schema.get("x-kubernetes-embedded-resource") is True
    )


def key_element(item: Any, keys: list[str]) -> str:
    """`k:{...}` for an associative list item (its key fields, sorted by name)."""
    values = {k: item.get(k) for k in keys if isinstance(item, dict) and k in item}
    return "k:" + _compact(values)


def field_set(value: Any, schema: Schema, root: bool = True) -> FieldSet:
    """Every field `value` sets: leaves, plus associative-list items as members of their own."""
    paths: set[Path] = set()
    _collect(value, schema, (), "", root, paths)
    return frozenset(paths)


def _collect(value: Any, schema: Schema, path: Path, name: str, root: bool, out: set[Path]) -> None:
    if isinstance(value, dict) and not _atomic_map(schema) and (value or root):
        for key, sub in value.items():
            _collect(sub, child_schema(schema, key, root), (*path, f"f:{key}"), key, False, out)
        return
    if isinstance(value, list) and path:
        kind, keys = list_kind(schema, name)
        items = None if schema is None else dict(schema.get("items") or {})
        if kind == "set":
            out.update((*path, f"v:{_compact(item)}") for item in value)
            return
        if kind == "map" and keys:
            for item in value:
                item_path = (*path, key_element(item, keys))
                out.add(item_path)
                _collect(item, items, item_path, "", False, out)
            return
    if path:
        out.add(path)


def _find_item(container: list[Any], element: str) -> int | None:
    if element.startswith("v:"):
        wanted = json.loads(element[2:])
        return next((i for i, item in enumerate(container) if item == wanted), None)
    wanted_keys = json.loads(element[2:])
    for index, item in enumerate(container):
        if isinstance(item, dict) and all(item.get(k) == v for k, v in wanted_keys.items()):
            return index
    return None


MISSING = object()  # what `value_at` returns for a path the object does not have


def value_at(obj: Any, path: Path) -> Any:
    """The value at a path, or `MISSING` when the object does not have it."""
    current = obj
    for element in path:
        if element.startswith("f:") and isinstance(current, dict):
            current = current.get(element[2:], MISSING)
        elif element[:2] in ("k:", "v:") and isinstance(current, list):
            index = _find_item(current, element)
            current = MISSING if index is None else current[index]
        else:
            return MISSING
        if current is MISSING:
            return MISSING
    return current


def remove_path(obj: Any, path: Path) -> None:
    """Delete the field or list item at `path` (with everything below it), if present."""
    parent = value_at(obj, path[:-1])
    last = path[-1]
    if last.startswith("f:") and isinstance(parent, dict):
        parent.pop(last[2:], None)
    elif isinstance(parent, list):
        index = _find_item(parent, last)
        if index is not None:
            parent.pop(index)


def with_parents(paths: FieldSet) -> set[Path]:
    """The paths and every prefix of them (the nodes a set touches)."""
    return {path[:i] for path in paths for i in range(1, len(path) + 1)}


def topmost(paths: set[Path]) -> list[Path]:
    """The paths none of whose prefixes is in the set (removing them removes the others)."""
    return sorted(p for p in paths if not any(p[:i] in paths for i in range(1, len(p))))


def describe(path: Path) -> str:
    """A path as the API server prints it in conflicts: `.spec.size`, `.spec.items[name="a"]`."""
    parts = []
    for element in path:
        if element.startswith("f:"):
            parts.append("." + element[2:])
        elif element.startswith("k:"):
            keys = json.loads(element[2:])
            parts.append("[" + ",".join(f"{k}={json.dumps(v)}" for k, v in sorted(keys.items())) + "]")
        else:
            parts.append(f"[={element[2:]}]")
    return "".join(parts)


def to_fields_v1(paths: FieldSet) -> dict[str, Any]:
    """The `fieldsV1` tree of a set (`.` marks a node that is a member and has children)."""
    tree: dict[str, Any] = {}
    for path in sorted(paths):
        node = tree
        for element in path:
            node = node.setdefault(element, {})
    for path in paths:
        node = tree
        for element in path:
            node = node[element]
        if node:
            node["."] = {}
    return tree


def from_fields_v1(tree: Any, prefix: Path = ()) -> FieldSet:
    """The set a `fieldsV1` tree describes (tolerates malformed input by ignoring it)."""
    paths: set[Path] = set()
    if not isinstance(tree, dict):
        return frozenset()
    for element, sub in tree.items():
        if element == ".":
            if prefix:
                paths.add(prefix)
            continue
        path = (*prefix, element)
        if isinstance(sub, dict) and sub:
            paths |= from_fields_v1(sub, path)
        else:
            paths.add(path)
    return frozenset(paths)


def merge_applied(live: Any, config: Any, schema: Schema, name: str = "", root: bool = True) -> Any:
    """The live object with an applied configuration merged in, honouring list and map types."""
    if isinstance(config, dict) and isinstance(live, dict) and not _atomic_map(schema):
        result = dict(live)
        for key, sub in config.items():
            result[key] = merge_applied(live.get(key), sub, child_schema(schema, key, root), key, False)
        return result
    if isinstance(config, list) and isinstance(live, list):
        kind, keys = list_kind(schema, name)
        items_schema = None if schema is None else (schema.get("items") or {})
        if kind == "set":
            return [*live, *(copy.deepcopy(i) for i in config if i not in live)]
        if kind == "map" and keys:
            merged = list(live)
            for item in config:
                index = _find_item(merged, key_element(item, keys))
                if index is None:
                    merged.append(copy.deepcopy(item))
                else:
                    merged[index] = merge_applied(merged[index], item, items_schema, "", False)
            return merged
    return copy.deepcopy(config)
