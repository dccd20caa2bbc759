"""The QdrantCollection kind: a CollectionConfig plus the resource's own policy fields, and the
CEL rules that make Qdrant's immutable fields immutable at admission.

Only qco's own fields (deletionPolicy, adoptionPolicy, vectorRemovalPolicy) have defaults;
`driftInterval` left out means the operator's QCO_DRIFT_INTERVAL_SECONDS.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field, JsonValue, model_validator

from qco.api.access_keys import ACCESS_KEYS_FIELD, AccessKeySpec, check_access_keys
from qco.api.backup_restore import RestoreFrom
from qco.api.collection_config import CollectionConfig
from qco.api.collection_intelligence import IntelligenceSpec
from qco.api.collection_status import QdrantCollectionStatus
from qco.api.common import (
    QDRANT_NAME_PATTERN,
    ConnectionSpec,
    CrdKind,
    PrinterColumn,
    ready_condition_column,
)
from qco.api.durations import MIN_DRIFT_INTERVAL, DriftInterval

QdrantName = Annotated[str, Field(min_length=1, max_length=255, pattern=QDRANT_NAME_PATTERN)]

_WAY_OUT = "create a CollectionDeployment to move to a new collection"


def _fixed_once_created(camel: str, what: str) -> JsonValue:
    """CEL transition rule: a field can be neither added, changed nor removed after creation.

    A rule on the field itself (`self == oldSelf`) runs only when both values exist, so it would
    let a user add the field later; the rule sits on the parent to see presence too.
    """
    return {
        "rule": (
            f"has(self.{camel}) == has(oldSelf.{camel})"
            f" && (!has(self.{camel}) || self.{camel} == oldSelf.{camel})"
        ),
        "message": f"{what} is immutable (cannot be added, changed or removed after creation); {_WAY_OUT}",
        "fieldPath": f".{camel}",
    }


def _vector_fixed(field: str, optional: bool) -> JsonValue:
    """CEL transition rule: a field of every dense vector that existed before stays as it was."""
    this, old = f"self.vectors[k].{field}", f"oldSelf.vectors[k].{field}"
    same = f"({this} == {old})"
    if optional:
        same = f"(has({this}) == has({old}) && (!has({this}) || {this} == {old}))"
    return {
        "rule": (
            "!has(self.vectors) || !has(oldSelf.vectors)"
            f" || self.vectors.all(k, !(k in oldSelf.vectors) || {same})"
        ),
        "message": f"vector {field} is immutable (cannot be added, changed or removed); {_WAY_OUT}",
        "fieldPath": ".vectors",
    }


_SPEC_RULES: list[JsonValue] = [
    _fixed_once_created("collectionName", "collectionName (it defaults to metadata.name)"),
    _fixed_once_created("shardNumber", "shardNumber"),
    _fixed_once_created("shardingMethod", "shardingMethod"),
    _fixed_once_created("wal", "wal"),
    _vector_fixed("size", optional=False),
    _vector_fixed("distance", optional=False),
    _vector_fixed("datatype", optional=True),
    _vector_fixed("multivector", optional=True),
]


class QdrantCollectionSpec(CollectionConfig, IntelligenceSpec):
    """Desired state of one Qdrant collection: its CollectionConfig and how qco manages it."""

    model_config = ConfigDict(json_schema_extra={"x-kubernetes-validations": _SPEC_RULES})

    connection: ConnectionSpec | None = Field(
        default=None, description="Qdrant endpoint; default: the operator's."
    )
    collection_name: str | None = Field(
        default=None,
        min_length=1,
        max_length=255,
        pattern=QDRANT_NAME_PATTERN,
        description="Name of the collection in Qdrant. Default: metadata.name. Immutable.",
    )
    aliases: list[QdrantName] | None = Field(
        default=None,
        max_length=64,
        description="Aliases qco points at this collection.",
        json_schema_extra={"x-kubernetes-list-type": "set"},
    )
    deletion_policy: Literal["Retain", "Delete"] = Field(
        default="Retain", description="On deletion: Retain the collection (drop qco's stamp) or Delete it."
    )
    adoption_policy: Literal["IfCompatible", "Never", "Force"] = Field(
        default="IfCompatible",
        description=(
            "An existing collection qco does not own: adopt IfCompatible (immutable parameters match),"
            " Never, or Force."
        ),
    )
    vector_removal_policy: Literal["Refuse", "Allow"] = Field(
        default="Refuse",
        description=(
            "Removing a dense or sparse vector from a collection that holds points deletes that vector"
            " from every point: Refuse (Stalled, VectorRemovalRefused; nothing is touched) or Allow."
        ),
    )
    restore_from: RestoreFrom | None = Field(
        default=None,
        description="Fill the collection from a backup when it does not exist yet; ignored once it exists.",
    )
    drift_interval: DriftInterval | None = Field(
        default=None,
        description=(
            f"How often drift is checked, e.g. 60s, 5m (at least {MIN_DRIFT_INTERVAL:g}s)."
            " Default: the operator's QCO_DRIFT_INTERVAL_SECONDS."
        ),
    )
    access_keys: list[AccessKeySpec] | None = ACCESS_KEYS_FIELD

    @model_validator(mode="after")
    def _check_names(self) -> QdrantCollectionSpec:
        if self.aliases:
            if len(self.aliases) != len(set(self.aliases)):
                raise ValueError("aliases must be unique")
            if self.collection_name is not None and self.collection_name in self.aliases:
                raise ValueError("an alias cannot have the collection's own name")
        check_access_keys(self.access_keys)
        return self


QDRANT_COLLECTION = CrdKind(
    kind="QdrantCollection",
    plural="qdrantcollections",
    short_names=("qc",),
    spec_model=QdrantCollectionSpec,
    status_model=QdrantCollectionStatus,
    description="A Qdrant collection (vectors, indexes, quantization, optimizers, aliases), reconciled.",
    printer_columns=(
        PrinterColumn("Ready", "string", ready_condition_column("status"), "Qdrant matches the spec."),
        PrinterColumn("Reason", "string", ready_condition_column("reason"), "Why (not) Ready."),
        PrinterColumn("Collection", "string", ".status.collection.name", "Collection name in Qdrant."),
        PrinterColumn("Status", "string", ".status.collection.status", "green, yellow, grey or red."),
        PrinterColumn("Points", "integer", ".status.collection.pointsCount", "Approximate points."),
        PrinterColumn("Age", "date", ".metadata.creationTimestamp"),
        PrinterColumn("Aliases", "string", ".spec.aliases", "Aliases qco points at it.", priority=1),
        PrinterColumn("Drift", "string", ".spec.driftInterval", "Drift check interval.", priority=1),
        PrinterColumn("Message", "string", ready_condition_column("message"), "Ready's details.", priority=1),
    ),
)
