"""Server-side apply (`kubectl apply --server-side`, Flux, controllers using Apply patches).

The applied configuration is merged into the live object (associative lists by key, sets by
value, atomic lists and maps replaced); changing a field another manager owns is a 409
conflict unless `force=true`; fields the manager applied before but no longer applies are
removed unless another manager still owns them (see `managed_fields` for ownership).
"""

from __future__ import annotations

import copy
from typing import Any

import yaml

from qco.sandbox.kube import errors, fieldsets
from qco.sandbox.kube import managed_fields as mf
from qco.sandbox.kube.resources import ResourceType

# Metadata an applied configuration may set (the rest is identity or written by the server).
_META_APPLIED = ("labels", "annotations", "finalizers", "ownerReferences")
# Never pruned: removing them would break the object rather than drop a field.
_UNPRUNABLE = {("f:metadata",), ("f:apiVersion",), ("f:kind",)}


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
    if (body.get("metadata") or {}).get("managedFields") is not None:
        raise errors.bad_request("metadata.managedFields must be nil")
    return body


def check_request(rt: ResourceType, name: str, config: dict[str, Any]) -> None:
    """The checks the API server makes on an applied configuration before merging it."""
    if config.get("apiVersion") != rt.api_version or config.get("kind") != rt.kind:
        raise errors.bad_request(
            f"the API version in the data ({config.get('apiVersion')}) does not match the expected "
            f"API version ({rt.api_version})"
            if config.get("apiVersion") != rt.api_version
            else f"the kind in the data ({config.get('kind')}) does not match the expected kind ({rt.kind})"
        )
    sent = (config.get("metadata") or {}).get("name")
    if sent and sent != name:
        raise errors.bad_request("the name of the object does not match the name on the URL")


def applicable(config: dict[str, Any], rt: ResourceType, subresource: str) -> dict[str, Any]:
    """The part of a configuration an apply through this endpoint may set."""
    if subresource == "status":
        return {"status": copy.deepcopy(config["status"])} if "status" in config else {}
    meta = config.get("metadata") or {}
    result = {k: copy.deepcopy(v) for k, v in config.items() if k not in ("apiVersion", "kind", "metadata")}
    if mf.resets_status(rt):
        result.pop("status", None)
    applied_meta = {k: copy.deepcopy(v) for k, v in meta.items() if k in _META_APPLIED}
    if applied_meta:
        result["metadata"] = applied_meta
    return result


def server_side_apply(
    rt: ResourceType,
    live: dict[str, Any],
    body: Any,
    manager: str,
    subresource: str,
    force: bool,
    now: str,
) -> tuple[dict[str, Any], mf.Managers]:
    """The object after `manager` applies `body` to `live`, and the managers after it."""
    name = live["metadata"]["name"]
    config = parse_applied(body)
    check_request(rt, name, config)
    config = applicable(config, rt, subresource)
    writer = mf.Manager(manager, "Apply", subresource)
    managers = mf.decode(live["metadata"].get("managedFields"))
    applied = mf.tracked(fieldsets.field_set(config, rt.schema), rt, subresource)

    # A deep copy: pruning and the write below change the result in place, never the stored object.
    merged = fieldsets.merge_applied(copy.deepcopy(live), config, rt.schema)
    managers = mf.take_over(
        managers, writer, mf.compare(live, merged, rt, subresource), force=force, rt=rt, name=name
    )
    previous = managers.get(writer)
    if previous is not None:
        # Fields this manager stopped applying go, unless someone else still owns them.
        others = frozenset().union(*(o.fields for m, o in managers.items() if m != writer))
        keep = fieldsets.with_parents(applied) | fieldsets.with_parents(others)
        dropped = fieldsets.with_parents(previous.fields) - keep - _UNPRUNABLE
        for path in fieldsets.topmost({p for p in dropped if mf.tracked(frozenset([p]), rt, subresource)}):
            fieldsets.remove_path(merged, path)
        managers = mf.take_over(
            managers, writer, mf.compare(live, merged, rt, subresource), force=True, rt=rt, name=name
        )
    unchanged = merged == live and previous is not None and previous.fields == applied
    time = previous.time if unchanged and previous is not None else now
    managers[writer] = mf.Owned(applied, rt.api_version, time)
    return merged, managers


def prepare_create(
    rt: ResourceType, name: str, body: Any, manager: str, now: str
) -> tuple[dict[str, Any], mf.Managers]:
    """The object to create when an apply targets a missing object, and its one Apply manager."""
    config = parse_applied(body)
    check_request(rt, name, config)
    obj = copy.deepcopy(config)
    obj.setdefault("metadata", {})["name"] = name
    applied = mf.tracked(fieldsets.field_set(applicable(config, rt, ""), rt.schema), rt, "")
    return obj, {mf.Manager(manager, "Apply"): mf.Owned(applied, rt.api_version, now)}
