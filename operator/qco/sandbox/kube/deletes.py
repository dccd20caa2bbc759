"""Deletion as the API server does it: finalizers, namespace termination, garbage collection."""

from __future__ import annotations

import copy
from typing import Any

from qco.sandbox.kube import errors
from qco.sandbox.kube.options import WriteOptions
from qco.sandbox.kube.resources import CRDS, NAMESPACES, ResourceRegistry, ResourceType
from qco.sandbox.kube.store import ObjectStore, now_rfc3339


class Deletions:
    """DELETE and what follows it; mixed into `KubeApi`, which provides the store and registry."""

    store: ObjectStore
    registry: ResourceRegistry

    def get_existing(self, rt: ResourceType, namespace: str | None, name: str) -> dict[str, Any]:
        """The stored object or 404."""
        obj = self.store.get(rt, namespace if rt.namespaced else None, name)
        if obj is None:
            raise errors.not_found(rt, name)
        return obj

    def _unregister_crd(self, crd: dict[str, Any]) -> None:
        raise NotImplementedError

    def delete(
        self, rt: ResourceType, namespace: str | None, name: str, options: Any, opts: WriteOptions
    ) -> tuple[dict[str, Any], bool]:
        """DELETE: with finalizers, only mark (deletionTimestamp); else remove. Returns (object, removed)."""
        obj = self.get_existing(rt, namespace, name)
        options = options if isinstance(options, dict) else {}
        preconditions = options.get("preconditions") or {}
        if preconditions.get("uid") and preconditions["uid"] != obj["metadata"]["uid"]:
            raise errors.conflict(rt, name)
        if (
            preconditions.get("resourceVersion")
            and preconditions["resourceVersion"] != obj["metadata"]["resourceVersion"]
        ):
            raise errors.conflict(rt, name)
        if opts.dry_run:
            return copy.deepcopy(obj), False
        orphan = options.get("propagationPolicy") == "Orphan"
        if obj["metadata"].get("deletionTimestamp"):
            return copy.deepcopy(obj), False
        if rt == NAMESPACES:
            return self._delete_namespace(obj), False
        if obj["metadata"].get("finalizers"):
            marked = copy.deepcopy(obj)
            marked["metadata"]["deletionTimestamp"] = now_rfc3339()
            marked["metadata"]["deletionGracePeriodSeconds"] = 0
            return copy.deepcopy(self.store.put(rt, marked, "MODIFIED")), False
        return self._finish_deletion(rt, obj, orphan=orphan), True

    def _finish_deletion(self, rt: ResourceType, obj: dict[str, Any], orphan: bool = False) -> dict[str, Any]:
        meta = obj["metadata"]
        removed = self.store.remove(rt, meta.get("namespace"), meta["name"], final=obj) or obj
        if rt == CRDS:
            self._unregister_crd(removed)
        if not orphan:
            self._collect_garbage(meta["uid"])
        if meta.get("namespace"):
            self._maybe_finish_namespace(meta["namespace"])
        return removed

    def _collect_garbage(self, owner_uid: str) -> None:
        # The garbage collector deletes dependents whose owners are all gone (background propagation).
        live_uids = {obj["metadata"].get("uid") for _, obj in self.store.all_objects()}
        for storage_key, obj in list(self.store.all_objects()):
            owners = obj["metadata"].get("ownerReferences") or []
            if not any(ref.get("uid") == owner_uid for ref in owners):
                continue
            if any(ref.get("uid") in live_uids for ref in owners):
                continue
            rt = self._resource_for_storage(storage_key)
            namespace, name = obj["metadata"].get("namespace"), obj["metadata"]["name"]
            if rt is not None and self.store.get(rt, namespace, name):
                self.delete(rt, namespace, name, {}, WriteOptions())

    def _resource_for_storage(self, storage_key: tuple[str, str]) -> ResourceType | None:
        return next((rt for rt in self.registry.all() if rt.storage_key == storage_key), None)

    def _delete_namespace(self, ns: dict[str, Any]) -> dict[str, Any]:
        name = ns["metadata"]["name"]
        marked = copy.deepcopy(ns)
        marked["metadata"]["deletionTimestamp"] = now_rfc3339()
        marked["status"] = {"phase": "Terminating"}
        result = copy.deepcopy(self.store.put(NAMESPACES, marked, "MODIFIED"))
        # The namespace controller deletes everything inside; finalizers still hold their objects.
        for storage_key, obj in list(self.store.all_objects()):
            if obj["metadata"].get("namespace") != name or obj["metadata"].get("deletionTimestamp"):
                continue
            rt = self._resource_for_storage(storage_key)
            if rt is not None:
                self.delete(rt, name, obj["metadata"]["name"], {}, WriteOptions())
        self._maybe_finish_namespace(name)
        return result

    def _maybe_finish_namespace(self, namespace: str) -> None:
        ns = self.store.get(NAMESPACES, None, namespace)
        if ns is None or not ns["metadata"].get("deletionTimestamp"):
            return
        if self.store.count_in_namespace(namespace) == 0:
            self.store.remove(NAMESPACES, None, namespace)
