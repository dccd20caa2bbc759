"""The BackupSchedule scheduler with a fake clock: cron and @every, time zones across DST,
suspend, deadlines, folded misses, each concurrency policy, backup-now and retries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from qco.plan.backup_schedule import (
    MAX_ATTEMPTS,
    FailedRun,
    RunPlan,
    Schedule,
    ScheduleInputs,
    Skipped,
    decide,
    retry_delay,
)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def inputs(schedule: str, now: str, anchor: str, tz: str = "UTC", **kw: Any) -> ScheduleInputs:
    return ScheduleInputs("nightly", Schedule.parse(schedule, tz), utc(now), utc(anchor), **kw)


@pytest.mark.parametrize(
    ("schedule", "tz", "after", "expected"),
    [
        ("0 3 * * *", "UTC", "2026-11-29T02:59:00", "2026-11-29T03:00:00"),
        ("0 3 * * *", "UTC", "2026-11-29T03:00:00", "2026-11-30T03:00:00"),  # strictly after
        ("@hourly", "UTC", "2026-11-29T03:00:01", "2026-11-29T04:00:00"),
        ("@daily", "UTC", "2026-11-29T03:00:00", "2026-11-30T00:00:00"),
        ("@weekly", "UTC", "2026-11-25T00:00:00", "2026-11-29T00:00:00"),  # Sunday
        ("@monthly", "UTC", "2026-11-29T00:00:00", "2026-12-01T00:00:00"),
        ("@every 30m", "UTC", "2026-11-29T03:10:00", "2026-11-29T03:30:00"),
        ("@every 30m", "UTC", "2026-11-29T03:30:00", "2026-11-29T04:00:00"),
        ("@every 1d", "UTC", "2026-11-29T03:30:00", "2026-11-30T00:00:00"),
        # Berlin is UTC+1 in winter, UTC+2 in summer.
        ("0 3 * * *", "Europe/Berlin", "2026-11-29T00:00:00", "2026-11-29T02:00:00"),
        ("0 3 * * *", "Europe/Berlin", "2026-07-01T00:00:00", "2026-07-01T01:00:00"),
        # Spring forward (2026-03-29, 02:00 -> 03:00): a 02:30 slot that does not exist runs at 03:00.
        ("30 2 * * *", "Europe/Berlin", "2026-03-28T12:00:00", "2026-03-29T01:00:00"),
        # Fall back (2026-10-25, 03:00 -> 02:00): a daily 02:30 runs once, at the first 02:30.
        ("30 2 * * *", "Europe/Berlin", "2026-10-24T12:00:00", "2026-10-25T00:30:00"),
        ("30 2 * * *", "Europe/Berlin", "2026-10-25T00:30:00", "2026-10-26T01:30:00"),
        # ...while an hourly :30 runs at both 02:30s.
        ("30 * * * *", "Europe/Berlin", "2026-10-25T00:30:00", "2026-10-25T01:30:00"),
        ("0 9 * * 1-5", "America/New_York", "2026-11-27T15:00:00", "2026-11-30T14:00:00"),  # Fri -> Mon
    ],
)
def test_next_slot(schedule: str, tz: str, after: str, expected: str) -> None:
    assert Schedule.parse(schedule, tz).next_after(utc(after)) == utc(expected)


@pytest.mark.parametrize(
    ("schedule", "tz", "at", "expected"),
    [
        ("0 3 * * *", "UTC", "2026-11-29T03:00:00", "2026-11-29T03:00:00"),  # at or before
        ("0 3 * * *", "UTC", "2026-11-29T02:59:59", "2026-11-28T03:00:00"),
        ("@every 30m", "UTC", "2026-11-29T03:59:59", "2026-11-29T03:30:00"),
    ],
)
def test_latest_slot(schedule: str, tz: str, at: str, expected: str) -> None:
    assert Schedule.parse(schedule, tz).latest_at_or_before(utc(at)) == utc(expected)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("0 3 * *", "5-field"),
        ("61 3 * * *", "not a valid cron"),
        ("@sometimes", "unknown macro"),
        ("@every", "@every needs a duration"),
        ("@every 10s", "at least 60s"),
        ("@every 5x", "@every needs a duration"),
    ],
)
def test_bad_schedules_say_what_is_accepted(text: str, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        Schedule.parse(text)


def test_bad_time_zone_names_an_example() -> None:
    with pytest.raises(ValueError, match="IANA name such as UTC or Europe/Berlin"):
        Schedule.parse("@daily", "Mars/Olympus")


def test_run_names_come_from_the_slot_in_the_schedule_zone() -> None:
    schedule = Schedule.parse("0 3 * * *", "Europe/Berlin")
    assert schedule.run_name("nightly", utc("2026-11-29T02:00:00")) == "nightly-20261129-0300"


# Scheduling table: (case, schedule, now, anchor, extra inputs) -> (started runs, skipped, folded, next)
CASES: list[tuple[str, str, str, str, dict[str, Any], list[RunPlan], list[Skipped], int]] = [
    ("nothing due yet", "0 3 * * *", "2026-11-29T02:59:00", "2026-11-28T03:00:00", {}, [], [], 0),
    (
        "the slot is due",
        "0 3 * * *",
        "2026-11-29T03:00:05",
        "2026-11-28T03:00:00",
        {},
        [RunPlan("nightly-20261129-0300", utc("2026-11-29T03:00:00"), "Scheduled")],
        [],
        0,
    ),
    (
        "three days of downtime fold into one run of the latest slot",
        "0 3 * * *",
        "2026-11-29T03:01:00",
        "2026-11-25T03:00:00",
        {},
        [RunPlan("nightly-20261129-0300", utc("2026-11-29T03:00:00"), "Scheduled")],
        [],
        3,
    ),
    (
        "a latest slot past the starting deadline is skipped",
        "0 3 * * *",
        "2026-11-29T03:20:00",
        "2026-11-28T03:00:00",
        {"starting_deadline_seconds": 600},
        [],
        [Skipped(utc("2026-11-29T03:00:00"), "DeadlineExceeded")],
        0,
    ),
    (
        "within the starting deadline it runs",
        "0 3 * * *",
        "2026-11-29T03:09:00",
        "2026-11-28T03:00:00",
        {"starting_deadline_seconds": 600},
        [RunPlan("nightly-20261129-0300", utc("2026-11-29T03:00:00"), "Scheduled")],
        [],
        0,
    ),
    (
        "suspended: the slot is skipped",
        "0 3 * * *",
        "2026-11-29T03:00:05",
        "2026-11-28T03:00:00",
        {"suspend": True},
        [],
        [Skipped(utc("2026-11-29T03:00:00"), "Suspended")],
        0,
    ),
    (
        "suspended: backup-now still runs (a human asked)",
        "0 3 * * *",
        "2026-11-29T12:00:00",
        "2026-11-29T03:00:00",
        {"suspend": True, "backup_now": True},
        [RunPlan("nightly-now-20261129-120000", utc("2026-11-29T12:00:00"), "Manual")],
        [],
        0,
    ),
    (
        "Forbid: a run in progress makes the slot skip",
        "0 3 * * *",
        "2026-11-29T03:00:05",
        "2026-11-28T03:00:00",
        {"concurrency": "Forbid", "running": ("nightly-20261128-0300",)},
        [],
        [Skipped(utc("2026-11-29T03:00:00"), "ConcurrencyForbidden")],
        0,
    ),
    (
        "Allow: the slot runs beside the run in progress",
        "0 3 * * *",
        "2026-11-29T03:00:05",
        "2026-11-28T03:00:00",
        {"concurrency": "Allow", "running": ("nightly-20261128-0300",)},
        [RunPlan("nightly-20261129-0300", utc("2026-11-29T03:00:00"), "Scheduled")],
        [],
        0,
    ),
    (
        "backup-now and a due slot both run",
        "@every 1h",
        "2026-11-29T04:00:10",
        "2026-11-29T03:00:00",
        {"backup_now": True},
        [
            RunPlan("nightly-now-20261129-040010", utc("2026-11-29T04:00:10"), "Manual"),
            RunPlan("nightly-20261129-0400", utc("2026-11-29T04:00:00"), "Scheduled"),
        ],
        [],
        0,
    ),
]


@pytest.mark.parametrize(
    ("case", "schedule", "now", "anchor", "extra", "started", "skipped", "folded"),
    CASES,
    ids=[c[0] for c in CASES],
)
def test_schedule_decisions(
    case: str,
    schedule: str,
    now: str,
    anchor: str,
    extra: dict[str, Any],
    started: list[RunPlan],
    skipped: list[Skipped],
    folded: int,
) -> None:
    decision = decide(inputs(schedule, now, anchor, **extra))
    assert list(decision.start) == started
    assert list(decision.skipped) == skipped
    assert decision.folded == folded
    if extra.get("suspend"):
        assert decision.next_schedule_time is None
    else:
        expected_next = Schedule.parse(schedule).next_after(utc(now))
        assert decision.next_schedule_time == expected_next


def test_replace_cancels_the_run_in_progress() -> None:
    decision = decide(
        inputs(
            "0 3 * * *",
            "2026-11-29T03:00:05",
            "2026-11-28T03:00:00",
            concurrency="Replace",
            running=("nightly-20261128-0300",),
        )
    )
    assert decision.replace == ("nightly-20261128-0300",)
    assert [r.name for r in decision.start] == ["nightly-20261129-0300"]


def test_the_consumed_slot_becomes_the_anchor_and_the_loop_wakes_at_the_next_one() -> None:
    decision = decide(inputs("0 3 * * *", "2026-11-29T03:00:05", "2026-11-28T03:00:00"))
    assert decision.last_schedule_time == utc("2026-11-29T03:00:00")
    assert decision.wake_at == utc("2026-11-30T03:00:00")
    # The next pass, anchored on the consumed slot, starts nothing (no double run).
    again = decide(inputs("0 3 * * *", "2026-11-29T03:00:06", "2026-11-29T03:00:00"))
    assert again.start == ()
    assert again.last_schedule_time is None


SLOT = utc("2026-11-29T03:00:00")


@pytest.mark.parametrize(
    ("attempts", "failed_at", "now", "expected"),
    [
        (1, "2026-11-29T03:01:00", "2026-11-29T03:01:10", utc("2026-11-29T03:01:30")),  # wait 30 s
        (1, "2026-11-29T03:01:00", "2026-11-29T03:01:30", RunPlan("nightly-20261129-0300", SLOT, "Retry", 2)),
        (3, "2026-11-29T03:01:00", "2026-11-29T03:02:00", utc("2026-11-29T03:03:00")),  # 120 s
        (MAX_ATTEMPTS, "2026-11-29T03:01:00", "2026-11-29T05:00:00", None),  # attempts used up
        (5 - 1, "2026-11-30T02:59:00", "2026-11-30T02:59:30", None),  # the window closes first
    ],
)
def test_failed_run_retried_with_backoff_inside_its_window(
    attempts: int, failed_at: str, now: str, expected: RunPlan | datetime | None
) -> None:
    failed = FailedRun("nightly-20261129-0300", SLOT, attempts, utc(failed_at))
    decision = decide(inputs("0 3 * * *", now, "2026-11-29T03:00:00", failed=failed))
    next_slot = utc("2026-11-30T03:00:00")
    if isinstance(expected, RunPlan):
        assert decision.start == (expected,)
    elif expected is None:
        assert decision.start == ()
        assert decision.wake_at == next_slot
    else:
        assert decision.start == ()
        assert decision.wake_at == expected


def test_retry_stops_at_the_starting_deadline() -> None:
    failed = FailedRun("nightly-20261129-0300", SLOT, 2, utc("2026-11-29T03:04:30"))
    decision = decide(
        inputs(
            "0 3 * * *",
            "2026-11-29T03:05:00",
            "2026-11-29T03:00:00",
            failed=failed,
            starting_deadline_seconds=300,
        )
    )
    assert decision.start == ()
    assert decision.wake_at == utc("2026-11-30T03:00:00")


def test_a_new_slot_wins_over_a_retry_of_the_old_one() -> None:
    failed = FailedRun("nightly-20261129-0300", SLOT, 1, utc("2026-11-30T02:59:50"))
    decision = decide(inputs("0 3 * * *", "2026-11-30T03:00:20", "2026-11-29T03:00:00", failed=failed))
    assert [r.name for r in decision.start] == ["nightly-20261130-0300"]


def test_backoff_doubles_up_to_an_hour() -> None:
    assert [retry_delay(n) for n in (1, 2, 3, 4, 10)] == [30, 60, 120, 240, 3600]


def test_a_long_downtime_jumps_to_the_latest_slot() -> None:
    decision = decide(inputs("@every 1m", "2026-11-29T03:00:30", "2026-11-20T00:00:00"))
    assert decision.start[0].slot == utc("2026-11-29T03:00:00")
    assert decision.folded >= 999
    assert decision.start[0].slot - decision.last_schedule_time == timedelta(0)  # type: ignore[operator]
