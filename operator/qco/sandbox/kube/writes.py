"""Write semantics of the API server: create, replace, patch, delete, finalizers, namespaces, GC."""

from __future__ import annotations

import base64
import copy
import random
import uuid
from typing import Any

from qco.sandbox.kube import admission, apply, crds, errors, names, patches
from qco.sandbox.kube import managed_fields as mf
from qco.sandbox.kube.deletes import Deletions
from qco.sandbox.kube.options import WriteOptions
from qco.sandbox.kube.resources import (
    CRDS,
    NAMESPACES,
    ResourceRegistry,
    ResourceType,
    resource_types_from_crd,
)
from qco.sandbox.kube.store import ObjectStore, now_rfc3339

_GENERATE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # what the API server's name generator uses
_IMMUTABLE_META = (
    "uid",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "generation",
    "namespace",
    "name",
)


def _fold_string_data(rt: ResourceType, obj: dict[str, Any]) -> None:
    # Secrets' write-only `stringData` is merged into base64 `data`, as the API server does.
    if rt.kind == "Secret" and rt.group == "":
        obj["type"] = obj.get("type") or "Opaque"  # the API server's default
    if rt.kind == "Secret" and rt.group == "" and isinstance(obj.get("stringData"), dict):
        data = obj.setdefault("data", {})
        for key, value in obj.pop("stringData").items():
            data[key] = base64.b64encode(str(value).encode()).decode()


class KubeApi(Deletions):
    """The stateful API: what a write does to the stored objects, independent of HTTP."""

    def __init__(self, registry: ResourceRegistry | None = None, store: ObjectStore | None = None) -> None:
        self.registry = registry or ResourceRegistry()
        self.store = store or ObjectStore()
        for namespace in ("default", "kube-system", "kube-public", "kube-node-lease"):
            self.create(NAMESPACES, None, {"metadata": {"name": namespace}}, WriteOptions())

    # --- create ---------------------------------------------------------------------------------

    def create(
        self,
        rt: ResourceType,
        namespace: str | None,
        body: Any,
        opts: WriteOptions,
        managers: mf.Managers | None = None,
    ) -> dict[str, Any]:
        """POST: a new object with uid, timestamps, generation 1 and a fresh resourceVersion."""
        if not isinstance(body, dict):
            raise errors.bad_request("the body of the request must be a JSON object")
        obj = copy.deepcopy(body)
        meta = obj.setdefault("metadata", {})
        if not isinstance(meta, dict):
            raise errors.bad_request("metadata must be an object")
        if rt.namespaced:
            if namespace and meta.get("namespace") and meta["namespace"] != namespace:
                raise errors.bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request"
                )
            meta["namespace"] = namespace or meta.get("namespace") or "default"
            self._check_namespace_open(rt, meta["namespace"], meta.get("name") or "")
        else:
            meta.pop("namespace", None)
        if not meta.get("name"):
            if not meta.get("generateName"):
                raise errors.invalid(
                    rt,
                    "",
                    [
                        {
                            "reason": "FieldValueRequired",
                            "message": "Required value: name or generateName is required",
                            "field": "metadata.name",
                        }
                    ],
                )
            meta["name"] = self._generate_name(rt, meta.get("namespace"), meta["generateName"])
        name = meta["name"]
        causes = names.invalid_name_causes(rt, name)
        if causes:
            raise errors.invalid(rt, name, causes)
        if self.store.get(rt, meta.get("namespace"), name) is not None:
            raise errors.already_exists(rt, name)

        obj["apiVersion"], obj["kind"] = rt.api_version, rt.kind
        for key in ("resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds"):
            meta.pop(key, None)
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = now_rfc3339()
        if rt.has_generation:
            meta["generation"] = 1
        if rt.status_subresource and rt.schema is not None:
            obj.pop("status", None)  # a CR's status is written only through /status
        if rt == NAMESPACES:
            obj.setdefault("spec", {})["finalizers"] = ["kubernetes"]
            obj["status"] = {"phase": "Active"}
        if rt == CRDS:
            crds.prepare_crd(obj)
        _fold_string_data(rt, obj)
        admission.admit(rt, obj, None, opts)
        if managers is None and "managedFields" not in meta and opts.manager:
            managers = mf.record_update({}, {}, obj, mf.Manager(opts.manager, "Update"), rt, now_rfc3339())
        if managers is not None:
            _set_managed_fields(meta, managers)
        if opts.dry_run:
            return obj
        stored = self.store.put(rt, obj, "ADDED")
        if rt == CRDS:
            self._register_crd(stored)
        return copy.deepcopy(stored)

    def _generate_name(self, rt: ResourceType, namespace: str | None, prefix: str) -> str:
        while True:
            name = prefix + "".join(random.choices(_GENERATE_ALPHABET, k=5))
            if self.store.get(rt, namespace, name) is None:
                return name

    def _check_namespace_open(self, rt: ResourceType, namespace: str, name: str) -> None:
        ns = self.store.get(NAMESPACES, None, namespace)
        if ns is None:
            raise errors.namespace_not_found(namespace)
        if ns["metadata"].get("deletionTimestamp"):
            raise errors.forbidden(
                f'{rt.qualified_plural} "{name}" is forbidden: unable to create new content '
                f"in namespace {namespace} because it is being terminated"
            )

    # --- replace and patch ----------------------------------------------------------------------

    def replace(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        body: Any,
        subresource: str | None,
        opts: WriteOptions,
    ) -> dict[str, Any]:
        """PUT: the whole object; a stale `metadata.resourceVersion` is a 409 Conflict."""
        if not isinstance(body, dict):
            raise errors.bad_request("the body of the request must be a JSON object")
        old = self.get_existing(rt, namespace, name)
        sent_version = (body.get("metadata") or {}).get("resourceVersion")
        if sent_version and str(sent_version) != old["metadata"]["resourceVersion"]:
            raise errors.conflict(rt, name)
        return self._update(rt, old, copy.deepcopy(body), subresource, opts)

    def patch(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        content_type: str,
        body: Any,
        subresource: str | None,
        opts: WriteOptions,
    ) -> dict[str, Any]:
        """PATCH in any of the four patch types; server-side apply may create the object."""
        if content_type.startswith("application/apply-patch"):
            if not opts.field_manager:
                raise errors.invalid_options(
                    "fieldManager", "FieldValueRequired", "Required value: is required for apply patch"
                )
            existing = self.store.get(rt, namespace if rt.namespaced else None, name)
            if existing is None:
                if subresource:
                    raise errors.not_found(rt, name)
                obj, managers = apply.prepare_create(rt, name, body, opts.field_manager, now_rfc3339())
                return self.create(rt, namespace, obj, opts, managers)
            new, managers = apply.server_side_apply(
                rt, existing, body, opts.field_manager, subresource or "", opts.force, now_rfc3339()
            )
            return self._update(rt, existing, new, subresource, opts, managers)
        if opts.force:
            raise errors.invalid_options(
                "force", "FieldValueForbidden", "Forbidden: may not be specified for non-apply patch"
            )
        old = self.get_existing(rt, namespace, name)
        if content_type.startswith("application/json-patch+json"):
            new = patches.json_patch(old, body)
        elif content_type.startswith("application/merge-patch+json"):
            new = patches.merge_patch(old, body)
        elif content_type.startswith("application/strategic-merge-patch+json"):
            if rt.schema is not None:  # as on a cluster: CRs have no patch strategies
                raise errors.ApiError(
                    415, "UnsupportedMediaType", "strategic merge patch is not supported for custom resources"
                )
            new = patches.strategic_merge_patch(old, body)
        else:
            raise errors.unsupported_media_type(content_type)
        if not isinstance(new, dict):
            raise errors.unprocessable("the patched object is not a JSON object")
        sent_version = (new.get("metadata") or {}).get("resourceVersion")
        if sent_version and str(sent_version) != old["metadata"]["resourceVersion"]:
            raise errors.conflict(rt, name)
        return self._update(rt, old, copy.deepcopy(new), subresource, opts)

    def _update(
        self,
        rt: ResourceType,
        old: dict[str, Any],
        new: dict[str, Any],
        subresource: str | None,
        opts: WriteOptions,
        managers: mf.Managers | None = None,
    ) -> dict[str, Any]:
        if subresource == "status":
            status = new.get("status")
            new = copy.deepcopy(old)
            if status is None:
                new.pop("status", None)
            else:
                new["status"] = status
        elif subresource:
            raise errors.unknown_path(subresource)
        elif rt.status_subresource and rt.schema is not None:
            # Writes to the main resource never change a CR's status (the /status subresource does).
            if "status" in old:
                new["status"] = copy.deepcopy(old["status"])
            else:
                new.pop("status", None)

        meta = new.setdefault("metadata", {})
        for key in _IMMUTABLE_META:
            if key in old["metadata"]:
                meta[key] = old["metadata"][key]
            else:
                meta.pop(key, None)
        meta["resourceVersion"] = old["metadata"]["resourceVersion"]
        new["apiVersion"], new["kind"] = rt.api_version, rt.kind
        if rt.has_generation and self._spec_changed(rt, old, new):
            meta["generation"] = int(old["metadata"].get("generation", 1)) + 1
        if rt == CRDS:
            crds.prepare_crd(new)
        _fold_string_data(rt, new)
        admission.admit(rt, new, old, opts)
        _set_managed_fields(meta, self._managers_after(rt, old, new, subresource or "", opts, managers))
        if opts.dry_run:
            return new
        if new == old:
            return copy.deepcopy(old)  # a no-op write: no new resourceVersion, no event (as on a cluster)
        if meta.get("deletionTimestamp") and not meta.get("finalizers"):
            return self._finish_deletion(rt, new)  # the last finalizer is gone: the object goes
        stored = self.store.put(rt, new, "MODIFIED")
        if rt == CRDS:
            self._register_crd(stored)
        return copy.deepcopy(stored)

    @staticmethod
    def _managers_after(
        rt: ResourceType,
        old: dict[str, Any],
        new: dict[str, Any],
        subresource: str,
        opts: WriteOptions,
        applied: mf.Managers | None,
    ) -> mf.Managers:
        if applied is not None:
            return applied
        before = old["metadata"].get("managedFields")
        sent = new["metadata"].get("managedFields")
        if sent is not None and sent != before:
            if not sent:
                return {}  # an explicit empty list resets ownership, as on a cluster
            before = sent  # the client rewrote ownership itself (e.g. a migration off client-side apply)
        managers = mf.decode(before)
        if not opts.manager:
            return managers
        writer = mf.Manager(opts.manager, "Update", subresource)
        return mf.record_update(managers, old, new, writer, rt, now_rfc3339())

    @staticmethod
    def _spec_changed(rt: ResourceType, old: dict[str, Any], new: dict[str, Any]) -> bool:
        # generation counts changes of everything but metadata (and status, where it is a subresource).
        ignored = {"metadata", "status"} if rt.status_subresource else {"metadata"}
        return {k: v for k, v in old.items() if k not in ignored} != {
            k: v for k, v in new.items() if k not in ignored
        }

    # --- CRDs -----------------------------------------------------------------------------------------

    def _register_crd(self, crd: dict[str, Any]) -> None:
        name = crd["metadata"]["name"]
        current = {rt.key for rt in resource_types_from_crd(crd)}
        for rt in self.registry.by_crd(name):
            if rt.key not in current:
                self.registry.remove(rt.key)
        for rt in resource_types_from_crd(crd):
            self.registry.add(rt)

    def _unregister_crd(self, crd: dict[str, Any]) -> None:
        types = self.registry.by_crd(crd["metadata"]["name"])
        if types:
            self.store.drop_resource(types[0])  # storage is shared by all versions
        for rt in types:
            self.registry.remove(rt.key)


def _set_managed_fields(meta: dict[str, Any], managers: mf.Managers) -> None:
    if managers:
        meta["managedFields"] = mf.encode(managers)
    else:
        meta.pop("managedFields", None)
