"""Patch formats: JSON merge patch (RFC 7386), JSON patch (RFC 6902), strategic merge patch."""

from __future__ import annotations

import copy
from typing import Any

from qco.sandbox.kube.errors import unprocessable

# Merge keys of the lists kubectl patches in built-in kinds (what the Go structs' `patchMergeKey` say).
# Lists not named here are replaced as a whole, as for any field without a patch strategy.
MERGE_KEYS: dict[str, str] = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "env": "name",
    "ports": "containerPort",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "volumeDevices": "devicePath",
    "imagePullSecrets": "name",
    "hostAliases": "ip",
    "conditions": "type",
    "ownerReferences": "uid",
    "tolerations": "key",
    "topologySpreadConstraints": "topologyKey",
}
# Lists of scalars that merge as sets.
_MERGE_SETS = {"finalizers"}


def merge_patch(target: Any, patch: Any) -> Any:
    """Apply an RFC 7386 JSON merge patch: dicts merge, `null` deletes, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise unprocessable(f"invalid JSON pointer: {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _resolve(doc: Any, parts: list[str], path: str) -> Any:
    for part in parts:
        if isinstance(doc, dict) and part in doc:
            doc = doc[part]
        elif isinstance(doc, list) and part.isdigit() and int(part) < len(doc):
            doc = doc[int(part)]
        else:
            raise unprocessable(
                f"the server rejected our request due to an error in our request: "
                f"path {path!r} does not exist"
            )
    return doc


def _add(doc: Any, parts: list[str], value: Any, path: str) -> Any:
    if not parts:
        return value
    parent = _resolve(doc, parts[:-1], path)
    last = parts[-1]
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list):
        index = len(parent) if last == "-" else int(last) if last.isdigit() else -1
        if not 0 <= index <= len(parent):
            raise unprocessable(
                f"the server rejected our request due to an error in our request: "
                f"index out of range in {path!r}"
            )
        parent.insert(index, value)
    else:
        raise unprocessable(f"the server rejected our request due to an error in our request: {path!r}")
    return doc


def _remove(doc: Any, parts: list[str], path: str) -> Any:
    _resolve(doc, parts, path)  # must exist
    parent = _resolve(doc, parts[:-1], path)
    if isinstance(parent, dict):
        return parent.pop(parts[-1])
    return parent.pop(int(parts[-1]))


def json_patch(target: Any, operations: Any) -> Any:
    """Apply an RFC 6902 JSON patch; a failed `test` or a missing path is a 422, as on a cluster."""
    if not isinstance(operations, list):
        raise unprocessable(
            "the server rejected our request due to an error in our request: "
            "a JSON patch must be a list of operations"
        )
    doc = copy.deepcopy(target)
    for op in operations:
        kind, path = op.get("op"), op.get("path", "")
        parts = _pointer(path)
        if kind == "add":
            doc = _add(doc, parts, copy.deepcopy(op.get("value")), path)
        elif kind == "remove":
            _remove(doc, parts, path)
        elif kind == "replace":
            _resolve(doc, parts, path)
            if not parts:
                doc = copy.deepcopy(op.get("value"))
            else:
                _remove(doc, parts, path)
                doc = _add(doc, parts, copy.deepcopy(op.get("value")), path)
        elif kind in ("move", "copy"):
            source = _pointer(op.get("from", ""))
            value = copy.deepcopy(_resolve(doc, source, op.get("from", "")))
            if kind == "move":
                _remove(doc, source, op.get("from", ""))
            doc = _add(doc, parts, value, path)
        elif kind == "test":
            actual = _resolve(doc, parts, path)
            if actual != op.get("value"):
                raise unprocessable(
                    f"the server rejected our request due to an error in our request: "
                    f"testing value {path} failed: expected {op.get('value')!r}, found {actual!r}"
                )
        else:
            raise unprocessable(
                f"the server rejected our request due to an error in our request: "
                f"unknown JSON patch operation {kind!r}"
            )
    return doc


def strategic_merge_patch(target: Any, patch: Any, field: str = "") -> Any:
    """Apply a strategic merge patch as kubectl sends it for built-in kinds.

    Supports keyed list merging for the usual lists, `$patch: delete|replace`,
    `$deleteFromPrimitiveList/<field>`, and ignores `$setElementOrder/<field>` and
    `$retainKeys` (order and retained keys come out right for what kubectl sends).
    """
    if not isinstance(patch, dict):
        if isinstance(patch, list) and isinstance(target, list):
            return _merge_list(target, patch, field)
        return copy.deepcopy(patch)
    if patch.get("$patch") == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    if patch.get("$patch") == "delete":
        return None
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if key.startswith("$setElementOrder/") or key in ("$retainKeys", "$patch"):
            continue
        if key.startswith("$deleteFromPrimitiveList/"):
            name = key.split("/", 1)[1]
            result[name] = [v for v in result.get(name) or [] if v not in value]
            continue
        if value is None:
            result.pop(key, None)
        else:
            merged = strategic_merge_patch(result.get(key), value, key)
            if merged is None:
                result.pop(key, None)
            else:
                result[key] = merged
    return result


def _merge_list(target: list[Any], patch: list[Any], field: str) -> list[Any]:
    if field in _MERGE_SETS:
        return list(target) + [v for v in patch if v not in target]
    key = MERGE_KEYS.get(field)
    if key is None or not all(isinstance(item, dict) for item in patch):
        return copy.deepcopy([item for item in patch if not (isinstance(item, dict) and "$patch" in item)])
    result = [copy.deepcopy(item) for item in target]
    for item in patch:
        index = next(
            (
                i
                for i, existing in enumerate(result)
                if isinstance(existing, dict) and existing.get(key) == item.get(key)
            ),
            None,
        )
        if item.get("$patch") == "delete":
            if index is not None:
                result.pop(index)
        elif index is None:
            result.append({k: v for k, v in item.items() if k != "$patch"})
        else:
            result[index] = strategic_merge_patch(result[index], item, field)
    return result
