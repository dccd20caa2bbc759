"""The BackupSchedule kind: which collections, when, where to, in what format, kept how long."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, ConfigDict, Field, model_validator

from qco.api.backup_cron import LONG_DURATION_PATTERN, LongDuration, TimeZoneName, parse_schedule
from qco.api.backup_status import BackupScheduleStatus
from qco.api.common import (
    ConnectionSpec,
    CrdKind,
    PrinterColumn,
    QcoModel,
    SecretKeyRef,
    ready_condition_column,
)

BACKUP_NOW_ANNOTATION = "qco.dev/backup-now"


def _schedule(text: str) -> str:
    parse_schedule(text)
    return text


class LabelSelector(QcoModel):
    """QdrantCollections by label."""

    match_labels: dict[str, str] = Field(description="Labels a QdrantCollection must carry (all of them).")


class BackupCollections(QcoModel):
    """Exactly one of names or selector."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "has(self.names) != has(self.selector)",
                    "message": "set exactly one of names or selector",
                }
            ]
        }
    )

    names: list[Annotated[str, Field(min_length=1, max_length=253)]] | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        description="QdrantCollection objects (metadata.name) in this namespace.",
        json_schema_extra={"x-kubernetes-list-type": "set"},
    )
    selector: LabelSelector | None = Field(
        default=None, description="QdrantCollections in this namespace by label."
    )

    @model_validator(mode="after")
    def _one(self) -> BackupCollections:
        if (self.names is None) == (self.selector is None):
            raise ValueError("set exactly one of collections.names or collections.selector")
        return self


class S3Destination(QcoModel):
    """An S3-compatible bucket; credentials from Secrets labelled qco.dev/credentials: "true"."""

    endpoint: str | None = Field(
        default=None,
        pattern=r"^https?://[^\s/@?#]+/?$",
        max_length=2048,
        description="S3 endpoint URL, e.g. https://s3.eu-central-1.amazonaws.com. Default: AWS.",
    )
    bucket: str = Field(min_length=3, max_length=63, description="Bucket name.")
    prefix: str = Field(default="", max_length=512, description="Key prefix, e.g. prod/search.")
    region: str = Field(default="us-east-1", max_length=64, description="Region of the bucket.")
    force_path_style: bool = Field(default=False, description="Path-style URLs (MinIO, moto, Ceph).")
    access_key_id: SecretKeyRef = Field(description="Secret key holding the access key id.")
    secret_access_key: SecretKeyRef = Field(description="Secret key holding the secret access key.")


class QdrantDestination(QcoModel):
    """Keep the snapshots on the Qdrant node only."""


class BackupDestination(QcoModel):
    """Exactly one of s3 or qdrant."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {"rule": "has(self.s3) != has(self.qdrant)", "message": "set exactly one of s3 or qdrant"}
            ]
        }
    )

    s3: S3Destination | None = Field(default=None, description="Stream each backup to an S3 bucket.")
    qdrant: QdrantDestination | None = Field(default=None, description="Keep snapshots on the Qdrant node.")

    @model_validator(mode="after")
    def _one(self) -> BackupDestination:
        if (self.s3 is None) == (self.qdrant is None):
            raise ValueError("set exactly one of destination.s3 or destination.qdrant")
        return self


class Retention(QcoModel):
    """Which successful runs to keep; the newest successful run is always kept."""

    keep_last: int | None = Field(default=None, ge=0, le=1000, description="The newest N successful runs.")
    keep_daily: int | None = Field(
        default=None, ge=0, le=1000, description="The newest run of each of N days."
    )
    keep_weekly: int | None = Field(default=None, ge=0, le=1000, description="The newest run of N ISO weeks.")
    keep_monthly: int | None = Field(default=None, ge=0, le=1000, description="The newest run of N months.")
    max_age: LongDuration | None = Field(
        default=None,
        pattern=LONG_DURATION_PATTERN,
        max_length=32,
        description="Delete successful runs older than this (e.g. 180d), except the newest one.",
    )


#: Why only Forbid: said by the API (CEL and the model) and in docs/backups.md.
CONCURRENCY_MESSAGE = (
    "concurrencyPolicy Replace and Allow are not supported: qco runs a schedule's backups one at a"
    " time inside its reconcile, so a run never overlaps another; use Forbid (a slot due during a"
    " run starts after it, within startingDeadlineSeconds)"
)


class BackupScheduleSpec(QcoModel):
    """When and where to back up which collections."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "!has(self.concurrencyPolicy) || self.concurrencyPolicy == 'Forbid'",
                    "message": CONCURRENCY_MESSAGE,
                    "fieldPath": ".concurrencyPolicy",
                }
            ]
        }
    )

    schedule: Annotated[str, AfterValidator(_schedule)] = Field(
        min_length=1,
        max_length=128,
        description="5-field cron expression, @hourly, @daily, @weekly, @monthly, or '@every 30m'.",
    )
    time_zone: TimeZoneName = Field(
        default="UTC", max_length=64, description="IANA time zone of the schedule, e.g. Europe/Berlin."
    )
    collections: BackupCollections = Field(description="Which QdrantCollections to back up.")
    connection: ConnectionSpec | None = Field(
        default=None,
        description="Qdrant endpoint; default: each QdrantCollection's own, else the operator's.",
    )
    destination: BackupDestination = Field(description="Where backups go.")
    format: Literal["snapshot", "portable"] = Field(
        default="snapshot", description="snapshot (Qdrant's) or portable (JSONL of points + manifest)."
    )
    retention: Retention | None = Field(default=None, description="Which runs to keep. Default: all.")
    concurrency_policy: Literal["Forbid", "Replace", "Allow"] = Field(
        default="Forbid",
        description=(
            "A run due while another runs. Only Forbid is accepted: runs of a schedule execute one at"
            " a time, and a slot due during a run starts after it (within startingDeadlineSeconds)."
            " Replace and Allow are refused."
        ),
    )
    starting_deadline_seconds: int | None = Field(
        default=None,
        ge=0,
        le=31_536_000,
        description="A run that cannot start this late after its slot is skipped.",
    )
    suspend: bool = Field(default=False, description="No scheduled runs (backup-now still runs).")
    verify: bool = Field(
        default=False, description="Restore each backup into a scratch collection, compare counts, delete it."
    )

    @model_validator(mode="after")
    def _forbid_only(self) -> BackupScheduleSpec:
        if self.concurrency_policy != "Forbid":
            raise ValueError(f"spec.{CONCURRENCY_MESSAGE}")
        return self


BACKUP_SCHEDULE = CrdKind(
    kind="BackupSchedule",
    plural="backupschedules",
    short_names=("qbs",),
    spec_model=BackupScheduleSpec,
    status_model=BackupScheduleStatus,
    description="Scheduled backups of QdrantCollections to S3 (or the Qdrant node), with retention.",
    printer_columns=(
        PrinterColumn("Schedule", "string", ".spec.schedule", "When runs start."),
        PrinterColumn("Suspend", "boolean", ".spec.suspend", "Scheduled runs suspended."),
        PrinterColumn("Last Success", "date", ".status.lastSuccessfulTime", "Last successful run."),
        # A string: kubectl shows a future "date" as <invalid> (it renders ages).
        PrinterColumn("Next", "string", ".status.nextScheduleTime", "Next scheduled run."),
        PrinterColumn("Ready", "string", ready_condition_column("status"), "Last run succeeded."),
        PrinterColumn("Age", "date", ".metadata.creationTimestamp"),
    ),
)
