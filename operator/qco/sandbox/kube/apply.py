"""Server-side apply (`kubectl apply --server-side`), with simplified field ownership.

Each field manager owns the set of fields it last applied (kept in `metadata.managedFields`
as `fieldsV1`, lists owned atomically). Applying merges the new configuration into the live
object and removes fields the same manager applied before but no longer sends. Conflicts
with other managers are not detected (documented gap): the last applier wins.
"""

from __future__ import annotations

import copy
from typing import Any

import yaml

from qco.sandbox.kube import errors, patches
from qco.sandbox.kube.store import now_rfc3339

_META_KEEP = ("name", "namespace", "labels", "annotations", "finalizers", "ownerReferences", "generateName")


def parse_applied(body: Any) -> dict[str, Any]:
    """The applied configuration from an apply-patch body (YAML or JSON, both parse as YAML)."""
    if isinstance(body, bytes):
        body = body.decode()
    if isinstance(body, str):
        try:
            body = yaml.safe_load(body)
        except yaml.YAMLError as exc:
            raise errors.bad_request(f"error decoding YAML: {exc}") from exc
    if not isinstance(body, dict):
        raise errors.bad_request("an apply patch must be an object")
    return body


def fields_of(config: Any) -> dict[str, Any]:
    """`fieldsV1` of a configuration: `{"f:spec": {"f:size": {}}}`; lists count as one field."""
    if not isinstance(config, dict):
        return {}
    return {f"f:{key}": fields_of(value) for key, value in config.items()}


def _entry(manager: str, api_version: str, config: dict[str, Any]) -> dict[str, Any]:
    owned = {k: v for k, v in config.items() if k not in ("apiVersion", "kind", "status")}
    meta = owned.get("metadata") or {}
    owned["metadata"] = {k: v for k, v in meta.items() if k in ("labels", "annotations", "finalizers")}
    if not owned["metadata"]:
        del owned["metadata"]
    return {
        "manager": manager or "unknown",
        "operation": "Apply",
        "apiVersion": api_version,
        "time": now_rfc3339(),
        "fieldsType": "FieldsV1",
        "fieldsV1": fields_of(owned),
    }


def prepare_create(body: Any, manager: str) -> dict[str, Any]:
    """The object to create when an apply targets a missing object."""
    config = parse_applied(body)
    obj = copy.deepcopy(config)
    obj.setdefault("metadata", {})["managedFields"] = [_entry(manager, config.get("apiVersion", ""), config)]
    return obj


def _remove_unowned(live: Any, previous: dict[str, Any], current: dict[str, Any]) -> None:
    # Fields the manager owned before but no longer applies are removed from the live object.
    if not isinstance(live, dict):
        return
    for field, sub_previous in previous.items():
        key = field[2:]
        if field not in current:
            live.pop(key, None)
        elif sub_previous and isinstance(current[field], dict):
            _remove_unowned(live.get(key), sub_previous, current[field])


def server_side_apply(live: dict[str, Any], body: Any, manager: str, force: bool) -> dict[str, Any]:
    """The new object after `manager` applies `body` to `live` (conflicts are not detected)."""
    del force  # ownership conflicts are not modelled, so there is nothing to force
    config = parse_applied(body)
    result = copy.deepcopy(live)
    managed = [e for e in (live.get("metadata", {}).get("managedFields") or [])]
    previous = next(
        (e for e in managed if e.get("manager") == manager and e.get("operation") == "Apply"), None
    )
    entry = _entry(manager, config.get("apiVersion", live.get("apiVersion", "")), config)
    if previous is not None:
        _remove_unowned(result, previous.get("fieldsV1") or {}, entry["fieldsV1"])
    applied = copy.deepcopy(config)
    applied_meta = applied.get("metadata") or {}
    applied["metadata"] = {k: v for k, v in applied_meta.items() if k in _META_KEEP}
    result = patches.strategic_merge_patch(result, applied)
    managed = [e for e in managed if not (e.get("manager") == manager and e.get("operation") == "Apply")]
    result.setdefault("metadata", {})["managedFields"] = [*managed, entry]
    return dict(result)
