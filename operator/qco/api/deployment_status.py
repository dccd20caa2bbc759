"""The CollectionDeployment status: revisions, the rollout's phase and progress, written by qco only."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from qco.api.common import Condition, QcoModel

#: Phases of a rollout, in order; Failed ends one (the alias never moves).
RolloutPhase = Literal[
    "Pending",
    "Creating",
    "Filling",
    "CatchingUp",
    "Indexing",
    "Validating",
    "Switching",
    "AwaitingRollout",
    "Complete",
    "Failed",
]
#: What a revision is now.
RevisionPhase = Literal[
    "Pending", "Creating", "Filling", "CatchingUp", "Indexing", "Validating", "Switching", "AwaitingRollout",
    "Active", "Inactive", "Failed",
]  # fmt: skip


class RevisionRecord(QcoModel):
    """One revision: a hash of (template, source, transform) and its child QdrantCollection."""

    number: int = Field(ge=1, description="Revision number, 1 for the first.")
    hash: str = Field(description="Hash of (template, source, transform) as declared.")
    collection: str = Field(description="Its collection in Qdrant.")
    child: str = Field(description="Its child QdrantCollection.")
    created: datetime | None = Field(default=None, description="When qco created it.")
    activated: datetime | None = Field(default=None, description="When the alias last moved to it.")
    phase: RevisionPhase = Field(
        description=(
            "Where it is: a rollout phase (AwaitingRollout: a CanaryRollout owns its switch), Active,"
            " Inactive or Failed."
        )
    )
    points_count: int | None = Field(default=None, ge=0, description="Points after the fill.")
    source: str | None = Field(
        default=None, description="Where its points came from (empty, collection, ...)."
    )
    source_collection: str | None = Field(
        default=None, description="The collection its points were copied from, fixed when it was created."
    )
    message: str | None = Field(default=None, description="Why it failed, if it did.")
    source_snapshot: str | None = Field(
        default=None, description="The snapshot location its points were recovered from (snapshot, backup)."
    )
    source_checksum: str | None = Field(default=None, description="That snapshot's SHA-256.")
    failed_generation: int | None = Field(
        default=None, ge=0, description="Generation whose validation failed; a newer one validates again."
    )


class DeploymentProgress(QcoModel):
    """Progress of the rollout's copy."""

    revision: int | None = Field(default=None, ge=1, description="Revision being filled.")
    summary: str | None = Field(default=None, description="copied/total (percent), for kubectl get.")
    copied: int | None = Field(default=None, ge=0, description="Points copied so far.")
    total: int | None = Field(default=None, ge=0, description="Points in the source when the fill began.")
    rate: float | None = Field(default=None, ge=0, description="Points per second over the last pass.")
    eta_seconds: int | None = Field(default=None, ge=0, description="Seconds left at that rate.")
    checkpoint: str | None = Field(
        default=None, description="Scroll offset (JSON) the fill resumes from; absent once done."
    )
    last_checkpoint: datetime | None = Field(default=None, description="When the checkpoint was written.")
    fill_started: datetime | None = Field(default=None, description="When the fill began.")
    catch_up_since: datetime | None = Field(
        default=None, description="Points updated after this are copied by the next catch-up pass."
    )
    catch_up_passes: int | None = Field(default=None, ge=0, description="Catch-up passes so far.")
    catch_up_pass_started: datetime | None = Field(
        default=None, description="When the running catch-up pass began."
    )
    catch_up_delta: int | None = Field(
        default=None, ge=0, description="Points the running catch-up pass copied."
    )
    indexing_started: datetime | None = Field(default=None, description="When the wait for green began.")
    indexing_restored: bool | None = Field(
        default=None, description="Indexing threshold restored after the fill."
    )
    writes_notice: str | None = Field(
        default=None, description="What happens to writes made during the fill."
    )


class QueryCheck(QcoModel):
    """The measured overlap of one validation query."""

    index: int = Field(ge=0, description="Position in spec.validation.queries.")
    overlap: float | None = Field(default=None, description="Measured overlap (None when not comparable).")
    min_overlap: float = Field(description="Required overlap.")
    note: str | None = Field(default=None, description="Why the overlap could not be measured.")


class ValidationReport(QcoModel):
    """What the last validation measured."""

    revision: int = Field(ge=1, description="Revision validated.")
    passed: bool = Field(description="Whether every check passed.")
    source_points: int | None = Field(default=None, ge=0, description="Points in the source.")
    new_points: int | None = Field(default=None, ge=0, description="Points in the new revision.")
    point_ratio: float | None = Field(default=None, description="new / source points.")
    queries: list[QueryCheck] | None = Field(default=None, description="Per-query overlaps.")


class RollbackRecord(QcoModel):
    """An imperative rollback (annotation qco.dev/rollback), until the spec changes."""

    revision: int = Field(ge=1, description="Revision the alias was rolled back to.")
    spec_hash: str = Field(description="The spec's revision hash when it was requested.")
    time: datetime | None = Field(default=None, description="When the alias moved.")


#: Where a window is: created ahead, the current one, behind it, awaiting its backup before deletion.
WindowPhase = Literal["Creating", "Ahead", "Current", "Past", "AwaitingBackup", "Deleting"]
#: Its tier: hot (the template), demoting (cold overrides applied, waiting for green) or cold.
WindowTier = Literal["hot", "demoting", "cold"]


class WindowRecord(QcoModel):
    """One time window of a rotating deployment: a child QdrantCollection like any revision."""

    name: str = Field(description="Its collection in Qdrant.")
    child: str = Field(description="Its child QdrantCollection.")
    start: datetime = Field(description="When the window begins.")
    end: datetime = Field(description="When the next window begins.")
    tier: WindowTier = Field(default="hot", description="hot, demoting or cold.")
    phase: WindowPhase = Field(default="Creating", description="Where the window is.")
    points: int | None = Field(default=None, ge=0, description="Points, as its child last reported.")
    message: str | None = Field(default=None, description="What it waits for, if anything.")


class CollectionDeploymentStatus(QcoModel):
    """Observed state, written by qco only."""

    observed_generation: int | None = Field(default=None, ge=0, description="Generation last reconciled.")
    conditions: list[Condition] | None = Field(
        default=None,
        description="Ready, Reconciling, Stalled, Paused.",
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"]},
    )
    phase: RolloutPhase | None = Field(default=None, description="Phase of the latest rollout.")
    revision: int | None = Field(default=None, ge=1, description="The spec's revision number.")
    active_revision: int | None = Field(default=None, ge=1, description="Revision the alias points at.")
    active_collection: str | None = Field(default=None, description="Collection the alias points at.")
    revisions: list[RevisionRecord] | None = Field(default=None, description="Revisions, newest last.")
    progress: DeploymentProgress | None = Field(default=None, description="The rollout's copy progress.")
    validation: ValidationReport | None = Field(default=None, description="The last validation.")
    rollback: RollbackRecord | None = Field(default=None, description="An imperative rollback in force.")
    windows: list[WindowRecord] | None = Field(
        default=None, description="Time windows (rotation), oldest first."
    )
    current_window: str | None = Field(default=None, description="The window the alias serves (rotation).")
    next_rotation_time: datetime | None = Field(default=None, description="When the next window begins.")
    missed_windows: list[str] | None = Field(
        default=None, description="Windows whose whole span passed while qco was away (last late rotation)."
    )
