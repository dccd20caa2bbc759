"""Which backup runs retention keeps: keepLast, grandfather-father-son buckets (keepDaily,
keepWeekly, keepMonthly) and maxAge over successful runs, never the newest successful run
whatever the settings, and failed runs kept (bounded) for inspection.

Pure: runs, policy, clock and time zone in; the names to delete out. The same selection serves
both destinations: over the bucket's manifests (destination.s3) and over status.runs
(destination.qdrant, whose node keeps no manifest), with the helpers at the end for the latter.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

SUCCEEDED = "Succeeded"
#: Phases of a run that has ended; anything else is in progress and never touched.
FINISHED = frozenset({"Succeeded", "Failed", "PartiallyFailed"})
#: Failed runs kept for inspection (the newest ones).
KEEP_FAILED = 5


@dataclass(frozen=True)
class RunRecord:
    """One run as retention sees it."""

    name: str
    time: datetime  # when the run's data was taken (its slot, or the request for backup-now)
    phase: str


@dataclass(frozen=True)
class RetentionPolicy:
    """spec.retention; None means not set."""

    keep_last: int | None = None
    keep_daily: int | None = None
    keep_weekly: int | None = None
    keep_monthly: int | None = None
    max_age_seconds: int | None = None
    keep_failed: int = KEEP_FAILED

    @property
    def counts_set(self) -> bool:
        """Whether any count-based rule is set (none set: every success is kept, up to maxAge)."""
        return any(
            v is not None for v in (self.keep_last, self.keep_daily, self.keep_weekly, self.keep_monthly)
        )


@dataclass(frozen=True)
class RetentionResult:
    """Names kept and deleted, with why each kept success is kept."""

    keep: tuple[str, ...]
    delete: tuple[str, ...]
    reasons: dict[str, tuple[str, ...]]


def select_retention(
    runs: Iterable[RunRecord], policy: RetentionPolicy, now: datetime, zone: ZoneInfo
) -> RetentionResult:
    """Apply the policy; runs still in progress are always kept."""
    ordered = sorted(runs, key=lambda r: (r.time, r.name), reverse=True)
    successes = [r for r in ordered if r.phase == SUCCEEDED]
    reasons: dict[str, list[str]] = {}

    def mark(records: Iterable[RunRecord], why: str) -> None:
        for record in records:
            reasons.setdefault(record.name, []).append(why)

    if policy.counts_set:
        if policy.keep_last:
            mark(successes[: policy.keep_last], "keepLast")
        local = [(r, r.time.astimezone(zone)) for r in successes]
        _bucketed(local, policy.keep_daily, lambda t: t.date(), mark, "keepDaily")
        _bucketed(local, policy.keep_weekly, lambda t: t.isocalendar()[:2], mark, "keepWeekly")
        _bucketed(local, policy.keep_monthly, lambda t: (t.year, t.month), mark, "keepMonthly")
    else:
        mark(successes, "noCountLimit")
    if policy.max_age_seconds is not None:
        limit = now - timedelta(seconds=policy.max_age_seconds)
        for record in successes:
            if record.time < limit:
                reasons.pop(record.name, None)
    if successes:
        reasons.setdefault(successes[0].name, []).append("newestSuccess")
    failed = [r for r in ordered if r.phase in FINISHED and r.phase != SUCCEEDED]
    mark(failed[: policy.keep_failed], "recentFailure")
    mark((r for r in ordered if r.phase not in FINISHED), "inProgress")
    keep = tuple(r.name for r in ordered if r.name in reasons)
    delete = tuple(r.name for r in ordered if r.name not in reasons)
    return RetentionResult(keep, delete, {name: tuple(why) for name, why in reasons.items()})


def _bucketed(
    local: list[tuple[RunRecord, datetime]],
    count: int | None,
    key: Callable[[datetime], Hashable],
    mark: Callable[[Iterable[RunRecord], str], None],
    why: str,
) -> None:
    """The newest success of each of the `count` most recent periods that have one."""
    if not count:
        return
    seen: set[Hashable] = set()
    chosen: list[RunRecord] = []
    for record, moment in local:  # newest first
        period = key(moment)
        if period in seen:
            continue
        seen.add(period)
        chosen.append(record)
        if len(seen) >= count:
            break
    mark(chosen, why)


@dataclass(frozen=True)
class NodeSnapshot:
    """A snapshot a destination.qdrant run left on the node, as its status entry records it."""

    name: str  # the QdrantCollection
    collection: str  # the collection in Qdrant when the run took it
    snapshot: str


def status_records(runs: Iterable[Mapping[str, Any]]) -> list[RunRecord]:
    """status.runs as retention sees them (a run's time is its slot, or its backup-now request)."""
    return [
        RunRecord(
            str(run["name"]),
            datetime.fromisoformat(str(run["scheduledTime"]).replace("Z", "+00:00")),
            str(run.get("phase")),
        )
        for run in runs
    ]


def node_snapshots(run: Mapping[str, Any]) -> list[NodeSnapshot]:
    """The snapshots a destination.qdrant run recorded (one per collection that got that far)."""
    return [
        NodeSnapshot(
            str(entry["name"]), str(entry.get("collection") or entry["name"]), str(entry["snapshot"])
        )
        for entry in run.get("collections") or []
        if entry.get("snapshot")
    ]


def status_window(
    runs: Sequence[Mapping[str, Any]], limit: int, cap: int, on_node: bool
) -> tuple[list[Mapping[str, Any]], list[Mapping[str, Any]]]:
    """The runs status lists (newest first) and the runs it drops that still hold node snapshots.

    The newest `limit`; with destination.qdrant (`on_node`) also older runs still holding
    snapshots on the node, up to `cap` in all: status is the only record of them, and a run it
    forgets is never deleted by retention (the second list, for a warning).
    """
    listed = list(runs[:limit])
    untracked: list[Mapping[str, Any]] = []
    for run in runs[limit:]:
        if not on_node or not node_snapshots(run):
            continue
        if len(listed) < cap:
            listed.append(run)
        else:
            untracked.append(run)
    return listed, untracked
