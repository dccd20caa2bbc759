"""The object store: objects per resource, the global resourceVersion counter, and change events."""

from __future__ import annotations

import copy
import datetime
from collections.abc import Iterator
from typing import Any

from qco.sandbox.kube.resources import ResourceType
from qco.sandbox.kube.watch import EventBuses, WatchEvent

ObjectKey = tuple[str, str]  # (namespace or "", name)


def now_rfc3339() -> str:
    """The current time as Kubernetes writes timestamps (seconds, UTC, `Z`)."""
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class ObjectStore:
    """Objects of every resource, plus the change history that watches replay.

    All mutations are synchronous (no `await` inside), so on one event loop each write is
    atomic without locks, and the order of resourceVersions equals the order of events.
    """

    def __init__(self, window: int = 10_000) -> None:
        self._objects: dict[tuple[str, str], dict[ObjectKey, dict[str, Any]]] = {}
        self._namespaces: dict[str, dict[tuple[str, str], dict[str, dict[str, Any]]]] = {}
        self._resource_version = 1
        self.buses = EventBuses(window)

    @property
    def resource_version(self) -> int:
        """The newest resourceVersion handed out (a list's `metadata.resourceVersion`)."""
        return self._resource_version

    def next_resource_version(self) -> str:
        """Hand out the next global resourceVersion (a string, as on the wire)."""
        self._resource_version += 1
        return str(self._resource_version)

    def _bucket(self, rt: ResourceType) -> dict[ObjectKey, dict[str, Any]]:
        bucket = self._objects.get(rt.storage_key)
        if bucket is None:
            bucket = self._objects[rt.storage_key] = {}
        return bucket

    def get(self, rt: ResourceType, namespace: str | None, name: str) -> dict[str, Any] | None:
        """The stored object (not a copy: callers must not mutate it)."""
        return self._bucket(rt).get((namespace or "", name))

    def list_objects(self, rt: ResourceType, namespace: str | None = None) -> list[dict[str, Any]]:
        """Stored objects of a resource, in one namespace or all (not copies)."""
        if namespace is None:
            return list(self._bucket(rt).values())
        return list(self._in_namespace(rt.storage_key, namespace).values())

    def _in_namespace(self, storage_key: tuple[str, str], namespace: str) -> dict[str, dict[str, Any]]:
        # A per-namespace index keeps namespaced lists independent of the other namespaces' sizes.
        index = self._namespaces.get(namespace)
        if index is None:
            index = self._namespaces[namespace] = {}
        names = index.get(storage_key)
        if names is None:
            names = index[storage_key] = {}
        return names

    def put(self, rt: ResourceType, obj: dict[str, Any], event_type: str) -> dict[str, Any]:
        """Store an object under a fresh resourceVersion and publish the event."""
        obj["metadata"]["resourceVersion"] = self.next_resource_version()
        meta = obj["metadata"]
        bucket, key = self._bucket(rt), (meta.get("namespace") or "", meta["name"])
        previous = bucket.get(key)
        bucket[key] = obj
        self._in_namespace(rt.storage_key, meta.get("namespace") or "")[meta["name"]] = obj
        self._publish(rt, event_type, obj, previous)
        return obj

    def remove(
        self, rt: ResourceType, namespace: str | None, name: str, final: dict[str, Any] | None = None
    ) -> dict[str, Any] | None:
        """Delete an object for good; the DELETED event carries a fresh resourceVersion.

        `final` is the object's last state when the deleting write also changed it
        (e.g. the patch that removed the last finalizer).
        """
        obj = self._bucket(rt).pop((namespace or "", name), None)
        self._in_namespace(rt.storage_key, namespace or "").pop(name, None)
        if obj is not None:
            obj = copy.deepcopy(final if final is not None else obj)
            obj["metadata"]["resourceVersion"] = self.next_resource_version()
            self._publish(rt, "DELETED", obj)
        return obj

    def drop_resource(self, rt: ResourceType) -> list[dict[str, Any]]:
        """Forget all objects of a resource (its CRD is gone); each gets a DELETED event."""
        removed = []
        for namespace, name in list(self._bucket(rt)):
            obj = self.remove(rt, namespace, name)
            if obj is not None:
                removed.append(obj)
        return removed

    def _publish(
        self, rt: ResourceType, event_type: str, obj: dict[str, Any], previous: dict[str, Any] | None = None
    ) -> None:
        # Watches get their own copy: later writes must not change what was already sent.
        version = int(obj["metadata"]["resourceVersion"])
        event = WatchEvent(version, event_type, copy.deepcopy(obj), previous)
        self.buses[rt.storage_key].publish(event)

    def all_objects(self) -> Iterator[tuple[tuple[str, str], dict[str, Any]]]:
        """Every stored object with its resource key (for garbage collection scans)."""
        for key, bucket in self._objects.items():
            for obj in list(bucket.values()):
                yield key, obj

    def count_in_namespace(self, namespace: str) -> int:
        """How many objects still live in a namespace (a terminating namespace waits for zero)."""
        return sum(len(names) for names in self._namespaces.get(namespace, {}).values())
