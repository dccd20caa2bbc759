"""The pass snapshot: what one pass works from, copied once at its start.

kopf updates a daemon's `body` in place while a pass runs. Reading `metadata.generation` or the
current status after the Qdrant calls would report a spec edited mid-pass as applied; every
pass therefore reads only this copy, and the next pass picks up the edit.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from qco.api.common import API_VERSION, CrdKind
from qco.plan.inputs import ResourceIdentity


@dataclass(frozen=True)
class PassSnapshot:
    """An immutable copy of one object as a pass (or a finalizer) found it."""

    kind: CrdKind
    identity: ResourceIdentity
    spec: Mapping[str, Any]
    generation: int | None
    annotations: Mapping[str, str]
    status: Mapping[str, Any]
    resource_version: str | None = None
    deletion_timestamp: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def take(cls, kind: CrdKind, body: Mapping[str, Any]) -> PassSnapshot:
        """Deep-copy what a pass needs from `body` (a kopf Body or a plain dict)."""
        meta: Mapping[str, Any] = body.get("metadata") or {}
        generation = meta.get("generation")
        return cls(
            kind=kind,
            identity=ResourceIdentity.from_metadata(meta, kind=kind.kind),
            spec=copy.deepcopy(dict(body.get("spec") or {})),
            generation=int(generation) if generation is not None else None,
            annotations=dict(meta.get("annotations") or {}),
            status=copy.deepcopy(dict(body.get("status") or {})),
            resource_version=meta.get("resourceVersion"),
            deletion_timestamp=meta.get("deletionTimestamp"),
            labels=dict(meta.get("labels") or {}),
        )

    def annotation(self, name: str) -> str | None:
        """One annotation's value, if set."""
        return self.annotations.get(name)

    def object_ref(self) -> dict[str, Any]:
        """What kopf.event needs to post an Event about this object."""
        return object_ref(self.identity)


def object_ref(identity: ResourceIdentity) -> dict[str, Any]:
    """A qco object's reference as kopf.event needs it (apiVersion, kind, name, namespace, uid)."""
    return {
        "apiVersion": API_VERSION,
        "kind": identity.kind,
        "metadata": {"namespace": identity.namespace, "name": identity.name, "uid": identity.uid},
    }
