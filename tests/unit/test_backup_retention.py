"""Retention as a pure function: every policy combination, and properties (never the newest
success, failed runs bounded, in-progress runs untouched)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qco.plan.backup_retention import (
    NodeSnapshot,
    RetentionPolicy,
    RunRecord,
    node_snapshots,
    select_retention,
    status_records,
    status_window,
)

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
UTC_ZONE = ZoneInfo("UTC")


def daily(days: int, phase: str = "Succeeded") -> list[RunRecord]:
    """One run a day at 03:00 for `days` days up to NOW, newest first."""
    first = NOW.replace(hour=3)
    return [RunRecord(f"r{i:03d}", first - timedelta(days=i), phase) for i in range(days)]


def kept(runs: list[RunRecord], policy: RetentionPolicy) -> list[str]:
    return sorted(select_retention(runs, policy, NOW, UTC_ZONE).keep)


def names(*indexes: int) -> list[str]:
    return sorted(f"r{i:03d}" for i in indexes)


# 400 daily runs back from Sunday 2026-11-29 (r000). Weeks start on Monday: r000 is the newest of
# its ISO week; r001..r007 are Sat..Sun of the previous week (r007 = Sun 22nd, the newest of it).
TABLE = [
    ("nothing set keeps everything", RetentionPolicy(), list(range(400))),
    ("keepLast", RetentionPolicy(keep_last=3), [0, 1, 2]),
    ("keepDaily", RetentionPolicy(keep_daily=4), [0, 1, 2, 3]),
    ("keepWeekly: newest of each ISO week", RetentionPolicy(keep_weekly=3), [0, 7, 14]),
    ("keepMonthly: newest of each month", RetentionPolicy(keep_monthly=3), [0, 29, 60]),
    ("keepLast + keepWeekly overlap", RetentionPolicy(keep_last=2, keep_weekly=2), [0, 1, 7]),
    (
        "full GFS",
        RetentionPolicy(keep_last=3, keep_daily=7, keep_weekly=4, keep_monthly=6),
        sorted({0, 1, 2, 3, 4, 5, 6, 7, 14, 21, 29, 60, 90, 121, 152}),
    ),
    ("maxAge alone", RetentionPolicy(max_age_seconds=5 * 86400), [0, 1, 2, 3, 4]),
    ("maxAge trims GFS", RetentionPolicy(keep_monthly=6, max_age_seconds=40 * 86400), [0, 29]),
    ("maxAge shorter than every run still keeps the newest", RetentionPolicy(max_age_seconds=60), [0]),
    ("zero counts still keep the newest", RetentionPolicy(keep_last=0, keep_daily=0), [0]),
]


@pytest.mark.parametrize(("case", "policy", "expected"), TABLE, ids=[c[0] for c in TABLE])
def test_retention_table(case: str, policy: RetentionPolicy, expected: list[int]) -> None:
    assert kept(daily(400), policy) == names(*expected)


def test_gfs_buckets_use_the_schedule_time_zone() -> None:
    # 23:30 UTC on the 30th is already the 1st of December in Berlin: a month of its own there.
    late = RunRecord("late", datetime(2026, 11, 30, 23, 30, tzinfo=UTC), "Succeeded")
    early = RunRecord("early", datetime(2026, 11, 30, 1, 0, tzinfo=UTC), "Succeeded")
    policy = RetentionPolicy(keep_monthly=2)
    now = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
    assert sorted(select_retention([late, early], policy, now, ZoneInfo("Europe/Berlin")).keep) == [
        "early",
        "late",
    ]
    assert select_retention([late, early], policy, now, UTC_ZONE).keep == ("late",)


def test_failed_runs_are_kept_bounded_and_never_count_as_backups() -> None:
    runs = daily(3) + [RunRecord(f"f{i}", NOW - timedelta(hours=i), "Failed") for i in range(8)]
    result = select_retention(runs, RetentionPolicy(keep_last=1, keep_failed=5), NOW, UTC_ZONE)
    assert sorted(result.keep) == ["f0", "f1", "f2", "f3", "f4", "r000"]
    assert sorted(result.delete) == ["f5", "f6", "f7", "r001", "r002"]


def test_the_newest_success_survives_when_only_failures_follow_it() -> None:
    runs = [RunRecord("good", NOW - timedelta(days=400), "Succeeded")] + [
        RunRecord(f"f{i}", NOW - timedelta(days=i), "Failed") for i in range(3)
    ]
    result = select_retention(runs, RetentionPolicy(keep_last=0, max_age_seconds=86400), NOW, UTC_ZONE)
    assert "good" in result.keep
    assert result.reasons["good"] == ("newestSuccess",)


def test_runs_in_progress_are_never_deleted() -> None:
    runs = [*daily(3), RunRecord("now", NOW, "Uploading")]
    result = select_retention(runs, RetentionPolicy(keep_last=1), NOW, UTC_ZONE)
    assert "now" in result.keep


PHASES = st.sampled_from(["Succeeded", "Succeeded", "Failed", "PartiallyFailed", "Running"])
RUNS = st.lists(
    st.tuples(st.integers(min_value=0, max_value=800 * 24), PHASES),
    min_size=0,
    max_size=40,
    unique_by=lambda t: t[0],
)
COUNT = st.one_of(st.none(), st.integers(min_value=0, max_value=10))
POLICIES = st.builds(
    RetentionPolicy,
    keep_last=COUNT,
    keep_daily=COUNT,
    keep_weekly=COUNT,
    keep_monthly=COUNT,
    max_age_seconds=st.one_of(st.none(), st.integers(min_value=0, max_value=400 * 86400)),
    keep_failed=st.integers(min_value=0, max_value=5),
)


@settings(max_examples=300, deadline=None)
@given(RUNS, POLICIES, st.sampled_from(["UTC", "Europe/Berlin", "Pacific/Auckland"]))
def test_retention_properties(raw: list[tuple[int, str]], policy: RetentionPolicy, zone: str) -> None:
    runs = [RunRecord(f"r{hours}", NOW - timedelta(hours=hours), phase) for hours, phase in raw]
    result = select_retention(runs, policy, NOW, ZoneInfo(zone))
    # A partition of the runs.
    assert sorted(result.keep + result.delete) == sorted(r.name for r in runs)
    successes = sorted((r for r in runs if r.phase == "Succeeded"), key=lambda r: r.time)
    if successes:
        assert successes[-1].name in result.keep  # never the newest success
    deleted = set(result.delete)
    assert not any(r.name in deleted for r in runs if r.phase == "Running")
    failures = [r for r in runs if r.phase in ("Failed", "PartiallyFailed")]
    assert len([r for r in failures if r.name in result.keep]) == min(len(failures), policy.keep_failed)
    if policy.keep_last:
        newest = sorted(successes, key=lambda r: r.time, reverse=True)[: policy.keep_last]
        age = policy.max_age_seconds
        limit = NOW - timedelta(seconds=10**9 if age is None else age)
        assert all(r.name in result.keep for r in newest if r.time >= limit)
    # Idempotent: applying retention to what it kept deletes nothing more.
    again = select_retention([r for r in runs if r.name in result.keep], policy, NOW, ZoneInfo(zone))
    assert again.delete == () or all(r in result.keep for r in again.delete)


def test_every_policy_combination_keeps_the_newest_success() -> None:
    runs = daily(120) + daily(5, "Failed")[1:]
    for last, day, week, month, age in itertools.product(
        (None, 0, 2), (None, 0, 3), (None, 2), (None, 2), (None, 3600)
    ):
        policy = RetentionPolicy(last, day, week, month, age)
        assert "r000" in select_retention(runs, policy, NOW, UTC_ZONE).keep, policy


def status_run(name: str, snapshot: str | None, phase: str = "Succeeded") -> dict[str, object]:
    entry = {"name": "docs", "collection": "docs_v2"} | ({"snapshot": snapshot} if snapshot else {})
    return {"name": name, "scheduledTime": "2026-11-29T03:00:00Z", "phase": phase, "collections": [entry]}


def test_status_runs_as_records_and_their_node_snapshots() -> None:
    run = status_run("n-1", "docs_v2-1.snapshot")
    run["collections"].append({"name": "other", "error": "boom"})  # type: ignore[attr-defined]
    assert status_records([run]) == [RunRecord("n-1", datetime(2026, 11, 29, 3, 0, tzinfo=UTC), "Succeeded")]
    assert node_snapshots(run) == [NodeSnapshot("docs", "docs_v2", "docs_v2-1.snapshot")]
    assert node_snapshots(status_run("n-2", None, "Failed")) == []


# Twenty runs newest first; odd ones took a snapshot, even ones failed before taking any.
TWENTY = [status_run(f"r{i:02d}", f"s{i}" if i % 2 else None) for i in range(20)]
WINDOW_TABLE = [
    ("bucket: the newest 10", TWENTY, False, [f"r{i:02d}" for i in range(10)], []),
    (
        "node: the newest 10, then older runs holding snapshots up to 15",
        TWENTY,
        True,
        [f"r{i:02d}" for i in (*range(10), 11, 13, 15, 17, 19)],
        [],
    ),
    (
        "node: runs holding snapshots beyond 15 are reported untracked",
        [status_run(f"r{i:02d}", f"s{i}") for i in range(17)],
        True,
        [f"r{i:02d}" for i in range(15)],
        ["r15", "r16"],
    ),
    ("fewer than the limit: all", TWENTY[:3], True, ["r00", "r01", "r02"], []),
]


@pytest.mark.parametrize(
    ("case", "runs", "on_node", "listed", "untracked"), WINDOW_TABLE, ids=[c[0] for c in WINDOW_TABLE]
)
def test_status_window(
    case: str, runs: list[dict[str, object]], on_node: bool, listed: list[str], untracked: list[str]
) -> None:
    shown, dropped = status_window(runs, 10, 15, on_node)
    assert [r["name"] for r in shown] == listed
    assert [r["name"] for r in dropped] == untracked
