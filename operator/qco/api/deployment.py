"""The CollectionDeployment kind: blue-green redeploys of a collection behind an alias.

A deployment declares the next version of a collection (a CollectionConfig `template`), where
its points come from (`source`), an optional re-embedding (`transform`) and how to check it
(`validation`); qco creates a child QdrantCollection per revision, fills it, validates it and
switches the alias in one request. Data plus schema only: behaviour lives in `qco.plan` and
`qco.reconcile`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, model_validator

from qco.api.collection_config import CollectionConfig
from qco.api.common import (
    QDRANT_NAME_PATTERN,
    ConnectionSpec,
    CrdKind,
    PrinterColumn,
    QcoModel,
    SecretKeyRef,
    ready_condition_column,
)
from qco.api.deployment_rotation import RotationSpec
from qco.api.deployment_status import CollectionDeploymentStatus
from qco.api.durations import DURATION_PATTERN

QdrantName = Annotated[str, Field(min_length=1, max_length=255, pattern=QDRANT_NAME_PATTERN)]


def _exactly_one_rule(names: tuple[str, ...], what: str) -> dict[str, Any]:
    count = " + ".join(f"(has(self.{n}) ? 1 : 0)" for n in names)
    return {"rule": f"{count} == 1", "message": f"{what}: set exactly one of {', '.join(names)}"}


class EmptyObject(QcoModel):
    """An empty object (`{}`): the choice is the field's presence."""


class CollectionSource(QcoModel):
    """Any collection, on this Qdrant or another one."""

    name: QdrantName = Field(description="Collection (or alias) to copy from.")
    connection: ConnectionSpec | None = Field(
        default=None, description="Qdrant holding it; default: the deployment's connection."
    )


class SnapshotSource(QcoModel):
    """A Qdrant snapshot, recovered into a staging collection and copied from there."""

    url: str = Field(
        description="http(s):// or file:// location Qdrant can read the snapshot from.",
        pattern=r"^(https?|file)://\S+$",
        max_length=2048,
    )
    checksum: str | None = Field(
        default=None, pattern=r"^[0-9a-f]{64}$", description="Expected SHA-256 of the snapshot file."
    )


class BackupSource(QcoModel):
    """A run of a BackupSchedule in the same namespace."""

    schedule: str = Field(min_length=1, max_length=253, description="BackupSchedule name.")
    run: str = Field(default="latest", min_length=1, max_length=253, description="Run name, or latest.")


_SOURCES = ("currentRevision", "collection", "snapshot", "backup", "empty")


class DeploymentSource(QcoModel):
    """Where a new revision's points come from: exactly one choice."""

    model_config = ConfigDict(
        json_schema_extra={"x-kubernetes-validations": [_exactly_one_rule(_SOURCES, "source")]}
    )

    current_revision: EmptyObject | None = Field(
        default=None, description="The collection behind the alias now (the default once one exists)."
    )
    collection: CollectionSource | None = Field(default=None, description="Any collection.")
    snapshot: SnapshotSource | None = Field(default=None, description="A Qdrant snapshot.")
    backup: BackupSource | None = Field(default=None, description="A BackupSchedule run.")
    empty: EmptyObject | None = Field(
        default=None, description="Start empty (the default for the first revision)."
    )

    @model_validator(mode="after")
    def _one_choice(self) -> DeploymentSource:
        chosen = [name for name in ("current_revision", "collection", "snapshot", "backup", "empty")]
        chosen = [name for name in chosen if getattr(self, name) is not None]
        if len(chosen) != 1:
            raise ValueError(f"source: set exactly one of {', '.join(_SOURCES)} (got {chosen or 'none'})")
        return self

    @property
    def kind(self) -> str:
        """The chosen source's camelCase name."""
        for name, camel in zip(
            ("current_revision", "collection", "snapshot", "backup", "empty"), _SOURCES, strict=True
        ):
            if getattr(self, name) is not None:
                return camel
        raise AssertionError("validated: exactly one source")


class CatchUpSpec(QcoModel):
    """Copy points written to the source during the fill, by a timestamp in their payload."""

    updated_at_field: str = Field(
        min_length=1,
        max_length=512,
        description="Payload field holding each point's last update time (RFC 3339 or epoch seconds).",
    )
    max_delta: int = Field(
        default=100, ge=0, description="Switch once a catch-up pass finds at most this many changed points."
    )
    max_passes: int = Field(default=10, ge=1, le=1000, description="Catch-up passes before switching anyway.")


class EmbeddingsTransform(QcoModel):
    """Re-embed a payload text through an OpenAI-compatible `/embeddings` endpoint while copying."""

    url: str = Field(
        description="Base URL of the endpoint, e.g. http://tei.ml:8080/v1 (qco posts to <url>/embeddings).",
        pattern=r"^https?://[^\s/@?#]+([/?#][^\s]*)?$",
        max_length=2048,
    )
    model: str = Field(min_length=1, max_length=256, description="Model name sent with each request.")
    input_field: str = Field(min_length=1, max_length=512, description="Payload field holding the text.")
    vector: str = Field(
        default="", max_length=255, description='The template\'s vector to fill ("" = unnamed).'
    )
    batch_size: int = Field(default=64, ge=1, le=2048, description="Texts per embeddings request.")
    concurrency: int = Field(default=4, ge=1, le=64, description="Embeddings requests in flight.")
    api_key_secret_ref: SecretKeyRef | None = Field(
        default=None, description='Bearer token (a Secret labelled qco.dev/credentials: "true").'
    )


class TransformSpec(QcoModel):
    """How points change while they are copied."""

    embeddings: EmbeddingsTransform | None = Field(default=None, description="Re-embedding.")


_QUERY_KINDS = ("pointId", "vector", "text", "query")


class ValidationQuery(QcoModel):
    """One query run against the new revision and the current one; their top ids must overlap."""

    model_config = ConfigDict(
        json_schema_extra={"x-kubernetes-validations": [_exactly_one_rule(_QUERY_KINDS, "query")]}
    )

    point_id: int | None = Field(default=None, ge=0, description="Query by this point's own vector.")
    vector: list[float] | None = Field(default=None, min_length=1, max_length=65536, description="A vector.")
    text: str | None = Field(
        default=None, min_length=1, max_length=8192, description="A text, embedded through transform."
    )
    query: dict[str, Any] | None = Field(
        default=None, description="A Query API request body (query, prefetch, fusion, using, filter)."
    )
    using: str | None = Field(
        default=None, max_length=255, description="Vector name for pointId/vector/text."
    )
    limit: int = Field(default=10, ge=1, le=1000, description="Top results compared.")
    min_overlap: float = Field(
        default=0.8,
        ge=0.0,
        le=1.0,
        description="Share of the current revision's top ids the new one must return.",
    )

    @model_validator(mode="after")
    def _one_kind(self) -> ValidationQuery:
        chosen = [n for n in ("point_id", "vector", "text", "query") if getattr(self, n) is not None]
        if len(chosen) != 1:
            raise ValueError(f"set exactly one of {', '.join(_QUERY_KINDS)} (got {chosen or 'none'})")
        return self


class ValidationSpec(QcoModel):
    """Checks a new revision must pass before the alias moves."""

    min_point_ratio: float | None = Field(
        default=None, ge=0.0, le=10.0, description="New points / source points must be at least this."
    )
    wait_for_green: bool = Field(default=True, description="Wait until the new collection is green.")
    queries: list[ValidationQuery] | None = Field(
        default=None, max_length=100, description="Queries whose results must overlap the current revision's."
    )
    timeout: str | None = Field(
        default=None,
        pattern=DURATION_PATTERN,
        max_length=32,
        description="How long to wait for green before failing, e.g. 30m. Default: no limit.",
    )


#: Said by the CRD and the model alike.
ROTATION_MESSAGE = (
    "rotation: every window starts empty, so source must be empty (or omitted) and transform and"
    " catchUp must be unset"
)


class CollectionDeploymentSpec(QcoModel):
    """Desired state: the collection behind `alias`, as `template` and `source` declare it."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "!has(self.transform) || !has(self.transform.embeddings)"
                    " || (has(self.template.vectors)"
                    " && self.transform.embeddings.vector in self.template.vectors)",
                    "message": "transform.embeddings.vector must name a vector of template.vectors",
                },
                {
                    "rule": "!has(self.rotation) || ((!has(self.source) || has(self.source.empty))"
                    " && !has(self.transform) && !has(self.catchUp))",
                    "message": ROTATION_MESSAGE,
                    "fieldPath": ".rotation",
                },
                {
                    "rule": "!has(self.rotation) || !has(self.rotation.readAlias)"
                    " || self.rotation.readAlias != self.alias",
                    "message": "rotation.readAlias must differ from alias",
                    "fieldPath": ".rotation.readAlias",
                },
            ]
        }
    )

    alias: QdrantName = Field(description="The alias applications query; qco owns it.")
    connection: ConnectionSpec | None = Field(
        default=None, description="Qdrant endpoint; default: the operator's."
    )
    template: CollectionConfig = Field(description="The collection every new revision is created as.")
    source: DeploymentSource | None = Field(
        default=None,
        description="Where a new revision's points come from. Default: empty for the first revision,"
        " currentRevision after that.",
    )
    catch_up: CatchUpSpec | None = Field(
        default=None, description="Copy points changed during the fill before switching."
    )
    transform: TransformSpec | None = Field(default=None, description="Re-embedding while copying.")
    bulk_indexing: bool = Field(
        default=True,
        description="Indexing off (indexing_threshold 0) while filling; restored after, then wait for green.",
    )
    validation: ValidationSpec | None = Field(default=None, description="Checks before the switch.")
    revision_history_limit: int = Field(
        default=2, ge=0, le=100, description="Old revisions kept for instant rollback."
    )
    deletion_policy: Literal["Retain", "Delete"] = Field(
        default="Retain",
        description="When the deployment is deleted: Retain every revision's collection and the alias, or"
        " Delete them.",
    )
    paused: bool = Field(default=False, description="true: qco changes nothing for this deployment.")
    collection_name_prefix: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        pattern=QDRANT_NAME_PATTERN,
        description="Revision collections are named <prefix>-<hash8>. Default: the alias.",
    )
    copy_batch_size: int = Field(default=256, ge=1, le=10000, description="Points per scroll and upsert.")
    copy_concurrency: int = Field(default=4, ge=1, le=64, description="Upserts in flight while copying.")
    rotation: RotationSpec | None = Field(
        default=None,
        description="Time windows: a new collection per schedule slot, the alias on the current one.",
    )

    @model_validator(mode="after")
    def _check(self) -> CollectionDeploymentSpec:
        if self.rotation is not None:
            empty = self.source is None or self.source.empty is not None
            if not empty or self.transform is not None or self.catch_up is not None:
                raise ValueError(ROTATION_MESSAGE)
            if self.rotation.read_alias == self.alias:
                raise ValueError("rotation.readAlias must differ from alias")
        embeddings = self.transform.embeddings if self.transform else None
        if embeddings is not None and embeddings.vector not in (self.template.vectors or {}):
            raise ValueError(
                f"transform.embeddings.vector {embeddings.vector!r} is not a vector of template.vectors"
            )
        return self


COLLECTION_DEPLOYMENT = CrdKind(
    kind="CollectionDeployment",
    plural="collectiondeployments",
    short_names=("qcd",),
    spec_model=CollectionDeploymentSpec,
    status_model=CollectionDeploymentStatus,
    description="Blue-green redeploys of a collection behind an alias: copy, re-embed, validate, switch.",
    printer_columns=(
        PrinterColumn(
            "Ready", "string", ready_condition_column("status"), "The alias serves the spec's revision."
        ),
        PrinterColumn("Phase", "string", ".status.phase", "Phase of the latest rollout."),
        PrinterColumn("Revision", "integer", ".status.activeRevision", "Revision behind the alias."),
        PrinterColumn("Collection", "string", ".status.activeCollection", "Collection behind the alias."),
        PrinterColumn("Progress", "string", ".status.progress.summary", "Points copied / total."),
        PrinterColumn(
            # A string: kubectl shows a future "date" as <invalid> (it renders ages).
            "Next Rotation",
            "string",
            ".status.nextRotationTime",
            "Next window (rotation).",
            priority=1,
        ),
        PrinterColumn("Age", "date", ".metadata.creationTimestamp"),
    ),
)
