"""The QdrantCollection status: written by qco only, a mirror of the live collection."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from qco.api.access_keys import ACCESS_KEYS_STATUS_FIELD, AccessKeyStatus
from qco.api.collection_intelligence import IntelligenceStatus
from qco.api.common import Condition, QcoModel, SecretKeyRef

CollectionColour = Literal["green", "yellow", "grey", "red"]


class CollectionMirror(QcoModel):
    """What qco last saw of the live collection."""

    name: str | None = Field(default=None, description="Collection name in Qdrant.")
    status: CollectionColour | None = Field(default=None, description="green, yellow, grey or red.")
    optimizer_error: str | None = Field(default=None, description="Optimizer error when red.")
    points_count: int | None = Field(default=None, ge=0, description="Approximate number of points.")
    indexed_vectors_count: int | None = Field(default=None, ge=0, description="Approximate indexed vectors.")
    segments_count: int | None = Field(default=None, ge=0, description="Segments.")
    aliases: list[str] | None = Field(default=None, description="Aliases pointing at the collection.")


class DriftCorrection(QcoModel):
    """The last time qco put back a change made in Qdrant behind its back."""

    time: datetime = Field(description="When the drift was corrected.")
    fields: list[str] = Field(default_factory=list, description="Spec fields that had drifted.")


class ManagedEndpoint(QcoModel):
    """The Qdrant on which qco created or adopted the collection (never a key, only its Secret's name)."""

    url: str = Field(description="Qdrant URL.")
    api_key_secret_ref: SecretKeyRef | None = Field(default=None, description="Secret the key came from.")


class QdrantCollectionStatus(IntelligenceStatus):
    """Observed state, written by qco only."""

    observed_generation: int | None = Field(default=None, ge=0, description="Generation last reconciled.")
    conditions: list[Condition] | None = Field(
        default=None,
        description="Ready, Reconciling, Stalled, Paused, ...",
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"]},
    )
    collection: CollectionMirror | None = Field(default=None, description="Mirror of the live collection.")
    last_sync_time: datetime | None = Field(default=None, description="Last time Qdrant matched the spec.")
    last_drift_correction: DriftCorrection | None = Field(default=None, description="Last drift corrected.")
    drift_corrections: int | None = Field(default=None, ge=0, description="Drift corrections so far.")
    endpoint: ManagedEndpoint | None = Field(
        default=None,
        description=(
            "Where qco manages the collection; when spec.connection.url moves, qco releases it here first."
            " Absent while this object has never created or adopted a collection."
        ),
    )
    access_keys: list[AccessKeyStatus] | None = ACCESS_KEYS_STATUS_FIELD
