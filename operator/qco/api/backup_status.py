"""The BackupSchedule status: schedule times and the last runs (the bucket's manifests are the
source of truth; status keeps a bounded window)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from qco.api.common import Condition, QcoModel

RunPhase = Literal["Running", "Uploading", "Verifying", "Succeeded", "Failed", "PartiallyFailed"]
#: Runs kept in status (older ones live on in the bucket's manifests).
MAX_STATUS_RUNS = 10
#: The schema's bound: with destination.qdrant, older runs still holding node snapshots stay
#: listed beyond MAX_STATUS_RUNS up to this (status is the only record of them).
MAX_LISTED_RUNS = MAX_STATUS_RUNS + 5


class BackupRunCollection(QcoModel):
    """One collection of one run."""

    name: str = Field(description="QdrantCollection name.")
    collection: str | None = Field(default=None, description="Collection name in Qdrant.")
    snapshot: str | None = Field(default=None, description="Snapshot name on the Qdrant node.")
    key: str | None = Field(default=None, description="Object key in the bucket.")
    size: int | None = Field(default=None, ge=0, description="Bytes.")
    sha256: str | None = Field(default=None, description="SHA-256 of the stored object (hex).")
    points: int | None = Field(default=None, ge=0, description="Points in the collection when backed up.")
    duration_seconds: float | None = Field(default=None, ge=0, description="How long this collection took.")
    verified: bool | None = Field(
        default=None, description="Restored into a scratch collection and compared."
    )
    error: str | None = Field(default=None, max_length=4096, description="Why this collection failed.")


class BackupRun(QcoModel):
    """One run."""

    name: str = Field(description="Run name, from its slot: <schedule>-YYYYMMDD-HHMM.")
    trigger: Literal["Scheduled", "Retry", "Manual"] = Field(description="What started it.")
    scheduled_time: datetime = Field(description="The slot (or the backup-now request time).")
    start_time: datetime | None = Field(default=None, description="When it started.")
    completion_time: datetime | None = Field(default=None, description="When it ended.")
    phase: RunPhase = Field(description="Running, Uploading, Verifying, Succeeded, Failed, PartiallyFailed.")
    attempt: int = Field(default=1, ge=1, description="Attempt of this slot's run.")
    manifest: str | None = Field(default=None, description="Object key of the run's manifest.")
    message: str | None = Field(default=None, max_length=4096, description="What happened.")
    collections: list[BackupRunCollection] = Field(default_factory=list, description="Per collection.")


class BackupScheduleStatus(QcoModel):
    """Observed state, written by qco only."""

    observed_generation: int | None = Field(default=None, ge=0, description="Generation last reconciled.")
    conditions: list[Condition] | None = Field(
        default=None,
        description="Ready (the last run succeeded), Reconciling, Stalled.",
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"]},
    )
    last_schedule_time: datetime | None = Field(default=None, description="The last slot consumed.")
    last_successful_time: datetime | None = Field(default=None, description="When the last success ended.")
    next_schedule_time: datetime | None = Field(
        default=None, description="The next slot (none while suspended)."
    )
    active: list[str] | None = Field(default=None, description="Runs in progress.")
    backup_now: str | None = Field(default=None, description="The last qco.dev/backup-now value acted on.")
    runs: list[BackupRun] | None = Field(
        default=None, max_length=MAX_LISTED_RUNS, description="The latest runs, newest first."
    )
