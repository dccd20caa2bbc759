"""One pass of a rollout: move the target revision through its phases as far as the world allows.

Pending -> Creating -> Filling -> CatchingUp -> Indexing -> Validating -> Switching -> Complete,
or Failed. Each step checks the world first (the child QdrantCollection, the collection, the
alias), so a pass resumed after a restart repeats nothing that took effect: the alias already on
the target means the switch happened; the fill resumes from its checkpoint in status.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from qco.api.collection import QDRANT_COLLECTION
from qco.api.deployment import CollectionDeploymentSpec
from qco.api.deployment_status import RevisionRecord
from qco.api.durations import parse_duration
from qco.clients.kube_objects import AlreadyExists, KubeObjects
from qco.clients.qdrant import QdrantGateway
from qco.plan.deployment import (
    alias_conflict,
    alias_switch,
    backup_snapshot,
    bulk_fill,
    child_manifest,
    parse_backup_run,
    restored_indexing_threshold,
)
from qco.plan.ownership import parse_owner_stamp
from qco.reconcile.conditions import now_rfc3339
from qco.reconcile.context import Context
from qco.reconcile.deployment_fill import Filler
from qco.reconcile.deployment_handoff import ABORTED_PREFIX, await_rollout
from qco.reconcile.deployment_state import DeploymentState
from qco.reconcile.machinery import Logger, post_event
from qco.reconcile.outcome import PassOutcome, progressing_outcome, ready_outcome, stalled_outcome
from qco.reconcile.snapshot import PassSnapshot

CHILDREN = QDRANT_COLLECTION.plural
Step = Callable[[str | None], Awaitable[PassOutcome | None]]
#: A pass copies for at most this long, then reports progress and checkpoints.
SLICE_SECONDS = 5.0
WAIT_SECONDS = 1.0  # poll interval while a child or Qdrant catches up
CONTINUE_SECONDS = 0.3  # next slice of a fill (lets the status write reach the watch first)


@dataclass
class Rollout:
    """The target revision's rollout in one pass."""

    ctx: Context
    snapshot: PassSnapshot
    spec: CollectionDeploymentSpec
    state: DeploymentState
    record: RevisionRecord
    gateway: QdrantGateway
    objects: KubeObjects
    filler: Filler
    log: Logger
    qdrant_url: str = ""  # where the deployment's Qdrant is (a backup's snapshot is recovered from there)
    deadline: float = field(default_factory=lambda: time.monotonic() + SLICE_SECONDS)

    async def advance(self) -> PassOutcome:
        """Steps until one must wait; the outcome says where the rollout stands."""
        while True:
            aliases = await self.gateway.list_aliases(fresh=True)
            target = aliases.get(self.spec.alias)
            if target == self.record.collection:
                return await self._complete()
            phase = self.record.phase
            if phase == "Failed":
                failed_at = self.record.failed_generation
                if failed_at is None or failed_at == self.snapshot.generation:
                    aborted = (self.record.message or "").startswith(ABORTED_PREFIX)
                    return stalled_outcome(
                        "RolloutAborted" if aborted else "ValidationFailed", self._failed()
                    )
                # The spec changed (e.g. its validation): the filled revision is validated again.
                self._update(phase="Validating", message=None, failed_generation=None)
                continue
            if phase in ("Active", "Inactive"):
                return await await_rollout(self, target) or await self._switch(target, rollback=True)
            steps: dict[str, Step] = {
                "Pending": self._pending,
                "Creating": self._creating,
                "Filling": self._filling,
                "CatchingUp": self._catchingup,
                "Indexing": self._indexing,
                "Validating": self._validating,
                "Switching": self._switching,
                "AwaitingRollout": self._switching,
            }
            step = steps.get(phase)
            if step is None:
                self._set_phase("Creating")
                continue
            outcome = await step(target)
            if outcome is not None:
                return outcome

    # -- phases --------------------------------------------------------------------------------

    async def _pending(self, _: str | None) -> PassOutcome | None:
        backup = self.spec.source.backup if self.spec.source is not None else None
        if self.record.source == "backup" and backup is not None and self.record.source_snapshot is None:
            namespace = self.snapshot.identity.namespace
            schedule = await self.objects.get("backupschedules", namespace, backup.schedule)
            found = backup_snapshot(
                schedule, backup.schedule, backup.run, self.state.active_collection, self.qdrant_url
            )
            if found.problem is not None:
                return stalled_outcome("SourceNotFound", found.problem)
            if found.in_bucket:
                # Restored straight into the revision by its child: no staging collection, no fill.
                self._update(
                    source_snapshot=found.url, source_checksum=found.checksum, source_collection=None
                )
            else:
                self._update(source_snapshot=found.url, source_checksum=found.checksum)
        if self.record.source == "currentRevision" and not self.record.source_collection:
            return stalled_outcome(
                "SourceNotFound", "source.currentRevision: no revision serves the alias yet"
            )
        self._set_phase("Creating")
        return None

    async def _creating(self, _: str | None) -> PassOutcome | None:
        restored = parse_backup_run(self.record.source_snapshot) is not None
        if self.record.source_snapshot is not None and not restored:
            await self.filler.recover_snapshot_source(self.record)
        child = await self._child()
        if child is None:
            owner = {
                "namespace": self.snapshot.identity.namespace,
                "name": self.snapshot.identity.name,
                "uid": self.snapshot.identity.uid,
            }
            bulk = bulk_fill(self.spec, self.record.source or "empty")
            manifest = child_manifest(
                self.spec, self.snapshot.spec.get("template") or {}, owner, self.record, bulk
            )
            try:
                await self.objects.create(CHILDREN, owner["namespace"], manifest)
                self._event(
                    "CreateRevision",
                    f"created QdrantCollection {self.record.child} ({self.record.collection})",
                )
            except AlreadyExists:
                pass
            return self._progress("Creating", f"waiting for QdrantCollection {self.record.child}")
        waiting = child_waiting(child)
        if waiting is not None:
            return waiting
        if self.record.source == "empty":
            self._set_phase("Switching")
        elif restored:
            self._set_phase("Indexing")  # the child restored every point of the backup
        else:
            self._set_phase("Filling")
        return None

    async def _filling(self, _: str | None) -> PassOutcome | None:
        done = await self.filler.fill(self.record, self.deadline)
        if not done:
            return self._progress("Filling", self.filler.summary(self.record), CONTINUE_SECONDS)
        self._set_phase("CatchingUp" if self.spec.catch_up else "Indexing")
        return None

    async def _catchingup(self, _: str | None) -> PassOutcome | None:
        done = await self.filler.catch_up(self.record, self.deadline)
        if not done:
            return self._progress("CatchingUp", self.filler.summary(self.record), CONTINUE_SECONDS)
        self._set_phase("Indexing")
        return None

    async def _indexing(self, _: str | None) -> PassOutcome | None:
        progress = self.state.progress_for(self.record.number)
        child = await self._child()
        if child is None:
            return stalled_outcome(
                "RevisionMissing", f"QdrantCollection {self.record.child} was deleted mid-rollout"
            )
        if bulk_fill(self.spec, self.record.source or "empty") and not progress.get("indexingRestored"):
            threshold = restored_indexing_threshold(self.spec)
            patch = {"spec": {"optimizers": {"indexingThreshold": threshold}}}
            await self.objects.patch(CHILDREN, self.snapshot.identity.namespace, self.record.child, patch)
            progress["indexingRestored"] = True
            self._event(
                "RestoreIndexing", f"indexing threshold of {self.record.collection} back to {threshold}"
            )
            return self._progress("Indexing", f"waiting for {self.record.collection} to index", WAIT_SECONDS)
        progress.setdefault("indexingStarted", now_rfc3339())
        waiting = child_waiting(child)
        validation = self.spec.validation
        if waiting is not None and waiting.stalled.status == "True":
            return waiting
        if waiting is not None and (validation is None or validation.wait_for_green):
            limit = validation.timeout if validation is not None else None
            timeout = parse_duration(limit) if limit else None
            if timeout is not None and _seconds_since(str(progress["indexingStarted"])) > timeout:
                return self._fail(f"{self.record.collection} was not green and synced within {limit}")
            return self._progress("Indexing", f"waiting for {self.record.collection} to be green and synced")
        self._set_phase("Validating")
        return None

    async def _validating(self, target: str | None) -> PassOutcome | None:
        report = await self.filler.validate(self.record, target)
        self.state.validation = report
        if report is not None and not report.get("passed", True):
            return self._fail(self.filler.failure_message(report))
        self._set_phase("Switching")
        return None

    async def _switching(self, target: str | None) -> PassOutcome | None:
        return await await_rollout(self, target) or await self._switch(target, rollback=False)

    # -- the switch ----------------------------------------------------------------------------

    async def _switch(self, target: str | None, rollback: bool) -> PassOutcome:
        if rollback and await self.gateway.get_collection(self.record.collection) is None:
            return stalled_outcome(
                "RevisionMissing",
                f"revision {self.record.number}'s collection {self.record.collection} is gone",
            )
        conflict = alias_conflict(
            self.spec.alias, target, {self.record.collection}, self.state.active_collection
        )
        if conflict is not None and target is not None:
            info = await self.gateway.get_collection(target)
            stamp = parse_owner_stamp(info.config.metadata if info is not None else None)
            if stamp is not None:
                conflict += f"; {target} is managed by {stamp.kind} {stamp.namespace}/{stamp.name}"
            return stalled_outcome("AliasConflict", conflict)
        await self.gateway.update_aliases(alias_switch(self.spec.alias, target, self.record.collection))
        self.ctx.metrics.deployments.switches.inc()
        self._event(
            "SwitchAlias",
            f"alias {self.spec.alias}: {target or '(none)'} -> {self.record.collection}"
            f" (revision {self.record.number}{', rollback' if rollback else ''})",
        )
        return await self._complete()

    async def _complete(self) -> PassOutcome:
        now = now_rfc3339()
        if self.state.active_collection != self.record.collection or self.record.phase != "Active":
            for other in list(self.state.records):
                if other.phase == "Active" and other.hash != self.record.hash:
                    self.state.replace(
                        RevisionRecord.model_validate({**other.model_dump(), "phase": "Inactive"})
                    )
            self._update(phase="Active", activated=now)
            if self.state.rollback is not None and self.state.rollback.get("time") is None:
                self.state.rollback["time"] = now
        await self.filler.drop_snapshot_source(self.record)
        self.state.active_revision = self.record.number
        self.state.active_collection = self.record.collection
        self.state.phase = "Complete"
        progress = self.state.progress
        if progress and progress.get("revision") == self.record.number:
            progress.pop("checkpoint", None)
        info = await self.gateway.get_collection(self.record.collection)
        if info is None:
            return stalled_outcome("RevisionMissing", f"collection {self.record.collection} is gone")
        colour = str(info.status.value)
        self._update(points_count=info.points_count)
        message = f"alias {self.spec.alias} -> {self.record.collection} (revision {self.record.number})"
        if colour == "red":
            return stalled_outcome("CollectionRed", f"{message}: the collection is red")
        return ready_outcome("Complete", message, colour=colour)

    # -- helpers -------------------------------------------------------------------------------

    async def _child(self) -> dict[str, Any] | None:
        return await self.objects.get(CHILDREN, self.snapshot.identity.namespace, self.record.child)

    def _set_phase(self, phase: str) -> None:
        if phase != self.record.phase:
            self._update(phase=phase)
            self.ctx.metrics.deployments.phases.labels(phase).inc()
            self._event(phase, f"revision {self.record.number} ({self.record.collection}): {phase}")
        self.state.phase = phase

    def _update(self, **changes: Any) -> None:
        self.record = RevisionRecord.model_validate({**self.record.model_dump(), **changes})
        self.state.replace(self.record)

    def _progress(self, phase: str, message: str, retry: float = WAIT_SECONDS) -> PassOutcome:
        self.state.phase = phase
        return progressing_outcome(phase, f"revision {self.record.number}: {message}", retry_after=retry)

    def _fail(self, message: str) -> PassOutcome:
        """The revision fails validation: kept, with the reason; the alias does not move."""
        self._update(phase="Failed", message=message, failed_generation=self.snapshot.generation)
        self.state.phase = "Failed"
        self._event("ValidationFailed", message, "Warning")
        return stalled_outcome("ValidationFailed", self._failed())

    def _failed(self) -> str:
        return (
            f"revision {self.record.number} ({self.record.collection}) failed: {self.record.message};"
            f" the alias {self.spec.alias} was not moved; change the spec to start a new revision"
        )

    def _event(self, reason: str, message: str, type_: str = "Normal") -> None:
        post_event(self.ctx, self.snapshot.object_ref(), type_, reason, message)


def _seconds_since(rfc3339: str) -> float:
    then = datetime.fromisoformat(rfc3339.replace("Z", "+00:00"))
    return (datetime.now(UTC) - then).total_seconds()


def child_waiting(child: Mapping[str, Any]) -> PassOutcome | None:
    """None when the child QdrantCollection is Ready at its generation; else how we wait."""
    status = child.get("status") or {}
    conditions = {c.get("type"): c for c in status.get("conditions") or ()}
    name = (child.get("metadata") or {}).get("name")
    stalled = conditions.get("Stalled") or {}
    if stalled.get("status") == "True":
        return stalled_outcome(
            "RevisionStalled", f"QdrantCollection {name}: {stalled.get('reason')}: {stalled.get('message')}"
        )
    ready = conditions.get("Ready") or {}
    current = status.get("observedGeneration") == (child.get("metadata") or {}).get("generation")
    if ready.get("status") == "True" and current:
        return None
    reason = ready.get("message") or "not reconciled yet"
    return progressing_outcome(
        "Creating", f"waiting for QdrantCollection {name}: {reason}", retry_after=WAIT_SECONDS
    )
