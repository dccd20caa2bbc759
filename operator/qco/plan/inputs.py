"""The planner's inputs: the desired state (spec + identity) and what was observed in Qdrant."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Self

from qdrant_client.http import models

from qco.api.collection import QdrantCollectionSpec
from qco.plan.ownership import DEFAULT_KIND, OwnerStamp


@dataclass(frozen=True)
class ResourceIdentity:
    """The Kubernetes object a plan is for."""

    namespace: str
    name: str
    uid: str
    creation_timestamp: str
    generation: int = 0
    kind: str = DEFAULT_KIND

    @property
    def ref(self) -> str:
        """`<namespace>/<name>/<uid>`, as written in the owner stamp."""
        return f"{self.namespace}/{self.name}/{self.uid}"

    @classmethod
    def from_metadata(
        cls,
        meta: Mapping[str, Any],
        default_namespace: str = "",
        default_uid: str = "",
        kind: str = DEFAULT_KIND,
    ) -> Self:
        """The identity in a Kubernetes object's metadata (defaults for what a bare manifest lacks)."""
        return cls(
            namespace=str(meta.get("namespace") or default_namespace),
            name=str(meta.get("name") or ""),
            uid=str(meta.get("uid") or default_uid),
            creation_timestamp=str(meta.get("creationTimestamp") or ""),
            generation=int(meta.get("generation") or 0),
            kind=kind,
        )


@dataclass(frozen=True)
class DesiredCollection:
    """What the resource asks for."""

    spec: QdrantCollectionSpec
    identity: ResourceIdentity
    paused: bool = False

    @property
    def collection_name(self) -> str:
        """spec.collectionName, defaulting to metadata.name."""
        return self.spec.collection_name or self.identity.name


@dataclass(frozen=True)
class ObservedCollection:
    """What one observe pass saw in Qdrant.

    - `info`: GET /collections/{c} (Qdrant's defaults filled in), None when the collection is missing.
    - `aliases`: alias -> collection, from one GET /aliases for the whole endpoint.
    - `alias_target_stamps`: owner stamps (None: not managed by qco) of the collections that the
      spec's aliases currently point at, other than our own collection; only those are read.
    - `existing_owners`: for foreign owner refs (`ns/name/uid`) seen in stamps, whether that
      resource still exists in Kubernetes; a ref not listed is assumed to exist (the safe side).
    """

    info: models.CollectionInfo | None
    aliases: Mapping[str, str] = field(default_factory=dict)
    alias_target_stamps: Mapping[str, OwnerStamp | None] = field(default_factory=dict)
    existing_owners: Mapping[str, bool] = field(default_factory=dict)

    def owner_exists(self, stamp: OwnerStamp) -> bool:
        """Whether the resource named by `stamp` still exists (unknown counts as yes)."""
        return self.existing_owners.get(stamp.ref, True)
