"""`GET /collections/{c}/optimizations` in Qdrant's shape: summary, running, and on request
(`?with=queued,completed,idle_segments`) the queue, the history and the idle segments.

The stand-in's only optimizer is its background rebuild, reported as Qdrant's `config_mismatch`
(outdated HNSW/quantization) or `indexing` optimizer. qdrant-edge 0.9.0 does not expose points
per segment, so segment point counts are the collection's points spread evenly over its segments.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final

from qdrant_client.http import models

from qco.sandbox.qdrant.errors import ApiError

WITH_VALUES: Final = frozenset({"queued", "completed", "idle_segments"})
DEFAULT_COMPLETED_LIMIT: Final = 16


@dataclass
class OptimizationLog:
    """The running rebuild and the finished ones of one collection (newest last)."""

    running: models.Optimization | None = None
    completed: list[models.Optimization] = field(default_factory=list)
    _started: datetime | None = None

    def start(self, optimizer: str, segments: list[models.OptimizationSegmentInfo]) -> None:
        """A rebuild begins on these segments."""
        self._started = datetime.now(UTC)
        self.running = models.Optimization(
            uuid=uuid.uuid4(),
            optimizer=optimizer,
            status=models.TrackerStatusOneOf.OPTIMIZING,
            segments=segments,
            progress=models.ProgressTree(name="Segment Optimizing", started_at=self._started, children=[]),
        )

    def finish(self, error: str | None) -> None:
        """The running rebuild ended (with an error message, or None when done)."""
        if self.running is None:
            return
        finished = datetime.now(UTC)
        started = self._started or finished
        status: models.TrackerStatus = (
            models.TrackerStatusOneOf.DONE if error is None else models.TrackerStatusOneOf2(error=error)
        )
        progress = self.running.progress.model_copy(
            update={"finished_at": finished, "duration_sec": (finished - started).total_seconds()}
        )
        self.completed.append(self.running.model_copy(update={"status": status, "progress": progress}))
        del self.completed[: -DEFAULT_COMPLETED_LIMIT * 4]
        self.running = None


def parse_with(value: str | None) -> set[str]:
    """The `with` query parameter: a comma-separated subset of WITH_VALUES."""
    requested = {part.strip() for part in (value or "").split(",") if part.strip()}
    unknown = requested - WITH_VALUES
    if unknown:
        raise ApiError(400, f"Bad request: unknown `with` value(s): {', '.join(sorted(unknown))}")
    return requested


def segment_infos(
    segments: list[str], points: int, total_segments: int
) -> list[models.OptimizationSegmentInfo]:
    """Segments with their (evenly spread) point counts."""
    share = points // total_segments if total_segments else 0
    return [models.OptimizationSegmentInfo(uuid=uuid.UUID(seg), points_count=share) for seg in segments]


def report(
    log: OptimizationLog,
    live: list[str],
    outdated: list[str],
    points: int,
    requested: set[str],
    completed_limit: int = DEFAULT_COMPLETED_LIMIT,
) -> models.OptimizationsResponse:
    """The optimizations report of one collection."""
    queued = [] if log.running is not None or not outdated else outdated
    idle = [seg for seg in live if seg not in outdated]
    summary = models.OptimizationsSummary(
        queued_optimizations=1 if queued else 0,
        queued_segments=len(queued),
        queued_points=points * len(queued) // len(live) if live else 0,
        idle_segments=len(idle),
    )
    pending = [
        models.PendingOptimization(
            optimizer="config_mismatch", segments=segment_infos(queued, points, len(live))
        )
    ]
    return models.OptimizationsResponse(
        summary=summary,
        running=[log.running] if log.running is not None else [],
        queued=(pending if queued else []) if "queued" in requested else None,
        completed=list(reversed(log.completed))[:completed_limit] if "completed" in requested else None,
        idle_segments=segment_infos(idle, points, len(live)) if "idle_segments" in requested else None,
    )
