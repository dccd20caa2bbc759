"""Which backup runs retention keeps: keepLast, grandfather-father-son buckets (keepDaily,
keepWeekly, keepMonthly) and maxAge over successful runs, never the newest successful run
whatever the settings, and failed runs kept (bounded) for inspection.

Pure: runs, policy, clock and time zone in; the names to delete out.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
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
