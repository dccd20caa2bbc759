"""When a BackupSchedule runs, as CronJob does it: slots from cron or `@every` in a time zone
(DST by cronsim), `suspend`, `startingDeadlineSeconds`, missed slots folded into one run,
`concurrencyPolicy`, `backup-now` requests, and a failed run retried with backoff inside its
slot's window, then left for the next slot (no retry storm).

Pure: the clock and everything observed are arguments; tests drive it with a fake clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from cronsim import CronSim

from qco.api.backup_cron import ScheduleExpression, parse_schedule, parse_time_zone

ConcurrencyPolicy = Literal["Forbid", "Replace", "Allow"]
Trigger = Literal["Scheduled", "Retry", "Manual"]

RETRY_BASE_SECONDS = 30.0
RETRY_MAX_SECONDS = 3600.0
MAX_ATTEMPTS = 5
#: Missed slots looked at one by one before jumping straight to the latest one.
_MAX_WALK = 1000


@dataclass(frozen=True)
class Schedule:
    """A schedule expression in a time zone."""

    expression: ScheduleExpression
    zone: ZoneInfo

    @classmethod
    def parse(cls, text: str, time_zone: str = "UTC") -> Schedule:
        """Parse spec.schedule and spec.timeZone (ValueError says what is wrong)."""
        return cls(parse_schedule(text), parse_time_zone(time_zone))

    def next_after(self, moment: datetime) -> datetime:
        """The first slot strictly after `moment` (UTC)."""
        every = self.expression.every_seconds
        if every is not None:
            epoch = int(moment.timestamp())
            return datetime.fromtimestamp((epoch // every + 1) * every, UTC)
        assert self.expression.cron is not None
        local = moment.astimezone(self.zone).replace(microsecond=0)
        return next(iter(CronSim(self.expression.cron, local))).astimezone(UTC)

    def latest_at_or_before(self, moment: datetime) -> datetime | None:
        """The last slot at or before `moment` (UTC), if any."""
        every = self.expression.every_seconds
        if every is not None:
            return datetime.fromtimestamp(int(moment.timestamp()) // every * every, UTC)
        assert self.expression.cron is not None
        local = (moment.astimezone(self.zone) + timedelta(seconds=1)).replace(microsecond=0)
        try:
            return next(iter(CronSim(self.expression.cron, local, reverse=True))).astimezone(UTC)
        except StopIteration:
            return None

    def run_name(self, schedule_name: str, slot: datetime) -> str:
        """Deterministic run name from the slot in the schedule's zone: `nightly-20261129-0300`."""
        return f"{schedule_name}-{slot.astimezone(self.zone):%Y%m%d-%H%M}"


@dataclass(frozen=True)
class FailedRun:
    """The last run of the current slot, which failed: a candidate for a retry."""

    name: str
    slot: datetime
    attempts: int
    failed_at: datetime


@dataclass(frozen=True)
class ScheduleInputs:
    """What the schedule decision depends on."""

    schedule_name: str
    schedule: Schedule
    now: datetime
    anchor: datetime  # status.lastScheduleTime, else the object's creation time
    suspend: bool = False
    starting_deadline_seconds: int | None = None
    concurrency: ConcurrencyPolicy = "Forbid"
    running: tuple[str, ...] = ()  # runs in progress in this process
    backup_now: bool = False  # a new `qco.dev/backup-now` value
    failed: FailedRun | None = None


@dataclass(frozen=True)
class RunPlan:
    """A run to start now."""

    name: str
    slot: datetime
    trigger: Trigger
    attempt: int = 1


@dataclass(frozen=True)
class Skipped:
    """A slot or request that produced no run, and why."""

    slot: datetime
    reason: Literal["Suspended", "DeadlineExceeded", "ConcurrencyForbidden"]


@dataclass(frozen=True)
class ScheduleDecision:
    """What to do now and when to look again."""

    start: tuple[RunPlan, ...] = ()
    replace: tuple[str, ...] = ()  # runs in progress to cancel first (Replace)
    last_schedule_time: datetime | None = None  # the new anchor (None: unchanged)
    next_schedule_time: datetime | None = None  # None while suspended
    wake_at: datetime | None = None  # the next moment a pass must look (slot or retry)
    folded: int = 0  # missed slots folded into the run started now
    skipped: tuple[Skipped, ...] = field(default_factory=tuple)


def retry_delay(attempts: int) -> float:
    """Backoff after `attempts` failed attempts: 30 s, 60 s, 120 s, ... at most an hour."""
    return float(min(RETRY_BASE_SECONDS * 2 ** max(0, attempts - 1), RETRY_MAX_SECONDS))


def window_end(inputs: ScheduleInputs, slot: datetime) -> datetime:
    """Until when a slot's run may still start or be retried: the next slot, or the deadline."""
    end = inputs.schedule.next_after(slot)
    if inputs.starting_deadline_seconds is not None:
        end = min(end, slot + timedelta(seconds=inputs.starting_deadline_seconds))
    return end


def decide(inputs: ScheduleInputs) -> ScheduleDecision:
    """The schedule's decision at `inputs.now`."""
    schedule, now = inputs.schedule, inputs.now
    latest, missed = _due(schedule, inputs.anchor, now)
    start: list[RunPlan] = []
    replace: tuple[str, ...] = ()
    skipped: list[Skipped] = []
    wake: list[datetime] = []
    folded = 0
    running = inputs.running
    if inputs.backup_now:
        plan = RunPlan(
            f"{inputs.schedule_name}-now-{now.astimezone(schedule.zone):%Y%m%d-%H%M%S}", now, "Manual"
        )
        if running and inputs.concurrency == "Forbid":
            skipped.append(Skipped(now, "ConcurrencyForbidden"))
        else:
            start.append(plan)
            replace, running = _replace(inputs, running)
    if latest is not None:
        if inputs.suspend:
            skipped.append(Skipped(latest, "Suspended"))
        elif (
            inputs.starting_deadline_seconds is not None
            and (now - latest).total_seconds() > inputs.starting_deadline_seconds
        ):
            skipped.append(Skipped(latest, "DeadlineExceeded"))
        elif running and inputs.concurrency == "Forbid":
            skipped.append(Skipped(latest, "ConcurrencyForbidden"))
        else:
            start.append(RunPlan(schedule.run_name(inputs.schedule_name, latest), latest, "Scheduled"))
            more, running = _replace(inputs, running)
            replace += more
            folded = missed - 1
    elif inputs.failed is not None and not inputs.suspend and not start:
        retry = _retry(inputs, inputs.failed)
        if isinstance(retry, RunPlan):
            start.append(retry)
        elif retry is not None:
            wake.append(retry)
    next_time = None if inputs.suspend else schedule.next_after(now)
    if next_time is not None:
        wake.append(next_time)
    return ScheduleDecision(
        start=tuple(start),
        replace=replace,
        last_schedule_time=latest,
        next_schedule_time=next_time,
        wake_at=min(wake) if wake else None,
        folded=folded,
        skipped=tuple(skipped),
    )


def _due(schedule: Schedule, anchor: datetime, now: datetime) -> tuple[datetime | None, int]:
    """The latest slot in (anchor, now] and how many slots fell in that range."""
    slot = schedule.next_after(anchor)
    latest, count = None, 0
    while slot <= now:
        latest, count = slot, count + 1
        if count >= _MAX_WALK:
            return schedule.latest_at_or_before(now), count
        slot = schedule.next_after(slot)
    return latest, count


def _replace(inputs: ScheduleInputs, running: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    if inputs.concurrency == "Replace" and running:
        return running, ()
    return (), running


def _retry(inputs: ScheduleInputs, failed: FailedRun) -> RunPlan | datetime | None:
    """Retry the failed run now, or the time to retry it, or None once its window has closed."""
    if failed.attempts >= MAX_ATTEMPTS or (inputs.running and inputs.concurrency == "Forbid"):
        return None
    at = failed.failed_at + timedelta(seconds=retry_delay(failed.attempts))
    if at >= window_end(inputs, failed.slot):
        return None
    if at <= inputs.now:
        return RunPlan(failed.name, failed.slot, "Retry", failed.attempts + 1)
    return at
