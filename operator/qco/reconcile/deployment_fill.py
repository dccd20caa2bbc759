"""Fill, catch-up and validation of one revision, with progress and checkpoints in status.

A fill copies in slices: each pass resumes from `status.progress.checkpoint` and stops at its
deadline, so an operator restart costs at most one slice (copied again, idempotent by id).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from qco.api.deployment import CollectionDeploymentSpec
from qco.api.deployment_status import RevisionRecord
from qco.clients.embeddings import EmbeddingsClient
from qco.clients.qdrant_points import PointsClient
from qco.metrics_deployment import DeploymentMetrics
from qco.plan.deployment_copy import (
    decode_offset,
    encode_offset,
    eta_seconds,
    plan_copy,
    progress_summary,
    updated_since_filter,
    with_vectors_arg,
)
from qco.reconcile.conditions import now_rfc3339
from qco.reconcile.deployment_copy import CopyRequest, SliceResult, copy_slice
from qco.reconcile.deployment_state import DeploymentState
from qco.reconcile.deployment_validate import Side, failure_message, validate_revision

#: Catch-up looks this far before a pass's start, so a writer's clock a little behind ours loses nothing.
CLOCK_MARGIN = timedelta(seconds=2)

NO_CATCH_UP = (
    "writes to the alias after the fill started are not copied (set spec.catchUp.updatedAtField to copy them)"
)


class SourceMissing(Exception):
    """The source collection does not exist."""


@dataclass
class Filler:
    """Copies into revisions of one deployment during one pass."""

    spec: CollectionDeploymentSpec
    state: DeploymentState
    target: PointsClient
    source: PointsClient
    embedder: EmbeddingsClient | None = None
    metrics: DeploymentMetrics | None = None

    async def fill(self, record: RevisionRecord, deadline: float) -> bool:
        """Copy one slice of the fill; True once every point is copied."""
        progress = self.state.progress_for(record.number)
        source = self._source_collection(record)
        if progress.get("total") is None:
            if await self.source.vector_names(source) is None:
                raise SourceMissing(f"source collection {source} does not exist")
            progress.update(
                total=await self.source.count(source),
                copied=0,
                fillStarted=now_rfc3339(),
                writesNotice=None if self.spec.catch_up else NO_CATCH_UP,
            )
        result = await self._slice(record, source, progress, deadline, None)
        progress["copied"] = int(progress.get("copied") or 0) + result.copied
        self._count("Filling", result.copied)
        self._report(progress, result)
        return result.done

    async def recover_snapshot_source(self, record: RevisionRecord) -> None:
        """Recover the revision's snapshot into its staging collection, unless it is there."""
        staging = self._source_collection(record)
        if record.source_snapshot is None or await self.source.vector_names(staging) is not None:
            return
        await self.source.recover_snapshot(staging, record.source_snapshot, record.source_checksum)

    async def drop_snapshot_source(self, record: RevisionRecord) -> None:
        """Delete the staging collection once the revision it filled is served."""
        staging = record.source_collection if record.source_snapshot is not None else None
        if staging is not None and await self.source.vector_names(staging) is not None:
            await self.source.delete_collection(staging)

    async def catch_up(self, record: RevisionRecord, deadline: float) -> bool:
        """One slice of a catch-up pass; True once a pass found at most maxDelta changed points."""
        assert self.spec.catch_up is not None
        progress = self.state.progress_for(record.number)
        if not progress.get("catchUpPassStarted"):
            progress.update(catchUpPassStarted=_earlier(now_rfc3339()), catchUpDelta=0)
        since = str(progress.get("catchUpSince") or _earlier(str(progress["fillStarted"])))
        scroll_filter = updated_since_filter(self.spec.catch_up.updated_at_field, since)
        result = await self._slice(record, self._source_collection(record), progress, deadline, scroll_filter)
        progress["catchUpDelta"] = int(progress.get("catchUpDelta") or 0) + result.copied
        self._count("CatchingUp", result.copied)
        self._report(progress, result)
        if not result.done:
            return False
        passes = int(progress.get("catchUpPasses") or 0) + 1
        delta = int(progress["catchUpDelta"])
        progress.update(catchUpPasses=passes, catchUpSince=progress.pop("catchUpPassStarted"))
        return delta <= self.spec.catch_up.max_delta or passes >= self.spec.catch_up.max_passes

    async def validate(self, record: RevisionRecord, current: str | None) -> dict[str, Any] | None:
        """The validation report, or None when the spec asks for none."""
        if self.spec.validation is None:
            return None
        source = None
        if record.source_collection is not None:
            source = Side(self.source, record.source_collection)
        current_side = Side(self.target, current) if current is not None else None
        new = Side(self.target, record.collection)
        return await validate_revision(
            record.number, self.spec.validation, new, current_side, source, self.embedder
        )

    def failure_message(self, report: dict[str, Any]) -> str:
        """What a failed validation measured."""
        assert self.spec.validation is not None
        return failure_message(report, self.spec.validation)

    def summary(self, record: RevisionRecord) -> str:
        """Progress in words, for the Reconciling condition."""
        progress = self.state.progress_for(record.number)
        text = f"copied {progress.get('summary', '0/0')}"
        if progress.get("etaSeconds") is not None:
            text += f", about {progress['etaSeconds']}s left"
        if progress.get("catchUpPasses") is not None or progress.get("catchUpPassStarted"):
            text += f"; catch-up pass {int(progress.get('catchUpPasses') or 0) + 1}"
        return text

    async def _slice(
        self,
        record: RevisionRecord,
        source: str,
        progress: dict[str, Any],
        deadline: float,
        scroll_filter: Any,
    ) -> SliceResult:
        names = await self.source.vector_names(source)
        if names is None:
            raise SourceMissing(f"source collection {source} does not exist")
        embed = self.spec.transform.embeddings if self.spec.transform else None
        plan = plan_copy(self.spec.template, names[0], embed)
        request = CopyRequest(
            source=self.source,
            source_collection=source,
            target=self.target,
            target_collection=record.collection,
            plan=plan,
            with_vectors=with_vectors_arg(plan, names[1]),
            batch_size=self.spec.copy_batch_size,
            concurrency=self.spec.copy_concurrency,
            scroll_filter=scroll_filter,
            embedder=self.embedder,
        )
        return await copy_slice(request, decode_offset(progress.get("checkpoint")), deadline)

    def _count(self, phase: str, copied: int) -> None:
        if self.metrics is not None:
            self.metrics.points_copied.labels(phase).inc(copied)

    def _report(self, progress: dict[str, Any], result: SliceResult) -> None:
        total = int(progress.get("total") or 0)
        copied = int(progress.get("copied") or 0)
        rate = result.copied / result.seconds if result.seconds > 0 else 0.0
        progress.update(
            checkpoint=encode_offset(result.checkpoint),
            lastCheckpoint=now_rfc3339(),
            rate=round(rate, 1),
            etaSeconds=None if result.done else eta_seconds(copied, total, rate),
            summary=progress_summary(copied, max(total, copied)),
        )

    def _source_collection(self, record: RevisionRecord) -> str:
        if record.source_collection is None:
            raise SourceMissing(f"revision {record.number} has no source collection")
        return record.source_collection


def _earlier(rfc3339: str) -> str:
    moment = datetime.fromisoformat(rfc3339.replace("Z", "+00:00")) - CLOCK_MARGIN
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
