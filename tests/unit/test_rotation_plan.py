"""Time windows, planned with a fake clock: window spans and names across month, ISO-week, DST and
time-zone boundaries; windows created ahead; cold tier and retention; an operator back after
missed boundaries; a clock that goes backwards; names that would collide."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from qco.api.deployment import CollectionDeploymentSpec
from qco.api.deployment_rotation import RotationSpec
from qco.api.deployment_status import WindowRecord
from qco.plan.rotation import (
    Window,
    backup_holds,
    plan_rotation,
    rotation_schedule,
    window_at,
    window_child,
    window_name,
)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def rotation(**fields: Any) -> RotationSpec:
    return RotationSpec.model_validate({"schedule": "@monthly", "nameFormat": "events-{yyyy}-{mm}", **fields})


def record(window: Window, **fields: Any) -> WindowRecord:
    return WindowRecord(
        name=window.name, child=f"c-{window.name}", start=window.start, end=window.end, **fields
    )


def at(spec: RotationSpec, moment: datetime) -> Window:
    window = window_at(spec, rotation_schedule(spec), moment)
    assert window is not None
    return window


@pytest.mark.parametrize(
    ("fields", "now", "name", "start", "end"),
    [
        # Month boundaries, UTC: the window holding the last second of November is November's.
        ({}, "2026-11-30T23:59:59", "events-2026-11", "2026-11-01T00:00:00", "2026-12-01T00:00:00"),
        ({}, "2026-12-01T00:00:00", "events-2026-12", "2026-12-01T00:00:00", "2027-01-01T00:00:00"),
        ({}, "2028-02-29T12:00:00", "events-2028-02", "2028-02-01T00:00:00", "2028-03-01T00:00:00"),
        # A time zone: Berlin's December begins at 23:00 UTC on November 30.
        (
            {"timeZone": "Europe/Berlin"},
            "2026-11-30T23:30:00",
            "events-2026-12",
            "2026-11-30T23:00:00",
            "2026-12-31T23:00:00",
        ),
        # DST: Berlin's April begins at 22:00 UTC (summer time), March began at 23:00 UTC.
        (
            {"timeZone": "Europe/Berlin"},
            "2026-03-31T22:30:00",
            "events-2026-04",
            "2026-03-31T22:00:00",
            "2026-04-30T22:00:00",
        ),
        # Daily windows across the spring-forward night in New York: that day has 23 hours.
        (
            {"schedule": "@daily", "nameFormat": "ev-{yyyy}{mm}{dd}", "timeZone": "America/New_York"},
            "2026-03-08T12:00:00",
            "ev-20260308",
            "2026-03-08T05:00:00",
            "2026-03-09T04:00:00",
        ),
        # ISO weeks (Monday starts): the Monday 2025-12-29 begins ISO week 1 of 2026, so {yyyy}
        # is the ISO year there; the week holding 2027-01-01 is week 53 of 2026.
        (
            {"schedule": "0 0 * * 1", "nameFormat": "ev-{yyyy}-w{ww}"},
            "2025-12-31T10:00:00",
            "ev-2026-w01",
            "2025-12-29T00:00:00",
            "2026-01-05T00:00:00",
        ),
        (
            {"schedule": "0 0 * * 1", "nameFormat": "ev-{yyyy}-w{ww}"},
            "2027-01-01T10:00:00",
            "ev-2026-w53",
            "2026-12-28T00:00:00",
            "2027-01-04T00:00:00",
        ),
        # @every: epoch-aligned spans, names down to the second.
        (
            {"schedule": "@every 15s", "nameFormat": "ev-{hh}{mi}{ss}"},
            "2026-11-29T10:00:22",
            "ev-100015",
            "2026-11-29T10:00:15",
            "2026-11-29T10:00:30",
        ),
    ],
)
def test_the_window_holding_a_moment(
    fields: dict[str, Any], now: str, name: str, start: str, end: str
) -> None:
    window = at(rotation(**fields), utc(now))
    assert (window.name, window.start, window.end) == (name, utc(start), utc(end))


def test_windows_are_created_ahead_and_the_next_rotation_is_the_current_end() -> None:
    spec = rotation(precreate=2)
    plan = plan_rotation(spec, utc("2026-11-29T03:00:00"), [], None)
    assert [w.name for w in plan.wanted] == ["events-2026-11", "events-2026-12", "events-2027-01"]
    assert plan.next_rotation == utc("2026-12-01T00:00:00")
    assert (plan.expired, plan.cold, plan.missed, plan.clock_behind) == ((), frozenset(), (), False)


def months(spec: RotationSpec, *names: str) -> list[WindowRecord]:
    return [record(at(spec, utc(f"{n}-15T00:00:00"))) for n in names]


@pytest.mark.parametrize(
    ("fields", "now", "expired", "cold", "read"),
    [
        # retain counts the current window: 3 keeps November, October, September.
        ({"retain": 3}, "2026-11-10T00:00:00", ["events-2026-07", "events-2026-08"], [], "events-2026-10"),
        ({"retain": 1}, "2026-11-10T00:00:00", [f"events-2026-{m:02d}" for m in range(7, 11)], [], None),
        # retainFor: windows that ended 40 days ago or longer. September ended 2026-10-01: kept
        # half a day before its 40 days are up, deleted at the moment they are.
        (
            {"retainFor": "40d"},
            "2026-11-09T12:00:00",
            ["events-2026-07", "events-2026-08"],
            [],
            "events-2026-10",
        ),
        (
            {"retainFor": "40d"},
            "2026-11-10T00:00:00",
            ["events-2026-07", "events-2026-08", "events-2026-09"],
            [],
            "events-2026-10",
        ),
        # No retention: nothing is ever deleted.
        ({}, "2026-11-10T00:00:00", [], [], "events-2026-10"),
        # Cold after 2 windows: September and older are cold, October (1 behind) stays hot.
        (
            {"cold": {"after": 2, "overrides": {"onDiskPayload": True}}, "retain": 4},
            "2026-11-10T00:00:00",
            ["events-2026-07"],
            ["events-2026-08", "events-2026-09"],
            "events-2026-10",
        ),
    ],
)
def test_retention_cold_tier_and_read_alias(
    fields: dict[str, Any], now: str, expired: list[str], cold: list[str], read: str | None
) -> None:
    spec = rotation(**fields)
    recorded = months(spec, "2026-07", "2026-08", "2026-09", "2026-10", "2026-11", "2026-12")
    plan = plan_rotation(spec, utc(now), recorded, "events-2026-11")
    assert list(plan.expired) == expired  # oldest first
    assert sorted(plan.cold) == cold
    assert plan.read_alias_target == read
    assert "events-2026-12" not in plan.expired  # a window ahead is never expired


def test_an_operator_back_after_missed_boundaries_rotates_once_and_names_them() -> None:
    spec = rotation(retain=3, precreate=1)
    recorded = months(spec, "2026-06", "2026-07", "2026-08")  # July current, August created ahead
    plan = plan_rotation(spec, utc("2026-11-02T00:00:00"), recorded, "events-2026-07")
    assert plan.current.name == "events-2026-11"
    assert plan.missed == ("events-2026-08", "events-2026-09", "events-2026-10")
    assert plan.missed_count == 3
    assert [w.name for w in plan.wanted] == ["events-2026-11", "events-2026-12"]
    # Kept: November (current) + the two newest recorded behind it (August, July); June goes.
    assert plan.expired == ("events-2026-06",)
    assert plan.read_alias_target == "events-2026-08"


def test_many_missed_windows_are_counted_exactly_and_named_up_to_a_cap() -> None:
    spec = rotation(schedule="@every 1m", nameFormat="ev-{dd}{hh}{mi}")
    recorded = [record(at(spec, utc("2026-11-29T00:00:00")))]
    plan = plan_rotation(spec, utc("2026-11-29T10:00:30"), recorded, recorded[0].name)
    assert plan.missed_count == 599
    assert plan.missed[:2] == ("ev-290001", "ev-290002") and len(plan.missed) == 20


@pytest.mark.parametrize("back", [timedelta(seconds=1), timedelta(days=3), timedelta(days=400)])
def test_a_clock_going_backwards_deletes_nothing_and_keeps_the_current_window(back: timedelta) -> None:
    spec = rotation(retain=1, precreate=1)
    recorded = months(spec, "2026-09", "2026-10", "2026-11")
    plan = plan_rotation(spec, utc("2026-11-01T00:00:00") - back, recorded, "events-2026-11")
    assert plan.clock_behind is True
    assert plan.current.name == "events-2026-11"
    assert plan.expired == ()
    assert plan.missed == ()


def test_a_name_format_too_coarse_for_the_schedule_is_a_problem_before_any_window_exists() -> None:
    spec = rotation(schedule="@daily")  # events-{yyyy}-{mm} for daily windows
    plan = plan_rotation(spec, utc("2026-11-10T12:00:00"), [], None)
    assert plan.wanted == ()
    assert plan.problem is not None
    assert "events-2026-11" in plan.problem and "2026-11-10T00:00:00Z" in plan.problem
    assert "add a finer token" in plan.problem


def test_a_name_reused_a_year_later_collides_with_the_recorded_window() -> None:
    spec = rotation(nameFormat="events-{mm}")
    recorded = months(spec, "2025-11")
    plan = plan_rotation(spec, utc("2026-11-10T00:00:00"), recorded, None)
    assert plan.problem is not None and "events-11" in plan.problem


@settings(max_examples=150, deadline=None)
@given(
    start=st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 1, 1)),
    steps=st.lists(st.integers(min_value=-3 * 86400, max_value=40 * 86400), min_size=1, max_size=8),
    retain=st.integers(min_value=1, max_value=4),
    zone=st.sampled_from(["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata"]),
)
def test_a_random_walk_of_the_clock_keeps_the_safety_rules(
    start: datetime, steps: list[int], retain: int, zone: str
) -> None:
    """Whatever the clock does: the current window holds `now` unless the clock went back, a
    window is never deleted while the clock is behind, expired windows are behind the current one,
    and no two windows share a name."""
    spec = rotation(schedule="@daily", nameFormat="d-{yyyy}{mm}{dd}", timeZone=zone, retain=retain)
    now = start.replace(tzinfo=UTC)
    recorded: dict[str, WindowRecord] = {}
    current: str | None = None
    for step in steps:
        now += timedelta(seconds=step)
        plan = plan_rotation(spec, now, list(recorded.values()), current)
        assert plan.problem is None
        if plan.clock_behind:
            assert plan.expired == ()
        else:
            assert plan.current.start <= now < plan.current.end
        for name in plan.expired:
            assert recorded[name].start < plan.current.start
        for window in plan.wanted:
            recorded.setdefault(window.name, record(window))
            assert recorded[window.name].start == window.start  # one name, one window
        for name in plan.expired:
            del recorded[name]
        current = plan.current.name
        behind = [w for w in recorded.values() if w.start < plan.current.start]
        if not plan.clock_behind:
            assert len(behind) <= retain - 1


def test_window_names_use_the_schedule_time_zone() -> None:
    spec = rotation(schedule="@hourly", nameFormat="ev-{yyyy}{mm}{dd}-{hh}{mi}", timeZone="Asia/Kolkata")
    schedule = rotation_schedule(spec)
    assert window_name(spec.name_format, utc("2026-11-29T18:30:00"), schedule) == "ev-20261130-0000"


@pytest.mark.parametrize(
    ("deployment", "collection", "child"),
    [
        ("events", "events-2026-11", "events-events-2026-11"),
        # Underscores and capitals are not DNS-safe: replaced, and a hash keeps two such names apart.
        ("events", "Events_2026_11", "events-events-2026-11-"),
    ],
)
def test_window_child_names_are_dns_safe(deployment: str, collection: str, child: str) -> None:
    name = window_child(deployment, collection)
    assert name.startswith(child)
    assert len(name) <= 253
    assert window_child(deployment, "events_2026_11") != window_child(deployment, "events-2026-11")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"nameFormat": "events"}, "at least one token of"),
        ({"nameFormat": "events-{yy}"}, "at least one token of"),
        ({"nameFormat": "-{yyyy}"}, "must start with a letter or digit"),
        ({"schedule": "@every 5s", "nameFormat": "e-{ss}"}, "@every must be at least 15s"),
        ({"retain": 3, "retainFor": "30d"}, "at most one of retain or retainFor"),
        ({"cold": {"after": 1, "overrides": {"vectors": {"": {"size": 8}}}}}, "vectors..size"),
        ({"cold": {"after": 1, "overrides": {"shardNumber": 2}}}, "cold.overrides.shardNumber"),
    ],
)
def test_bad_rotation_settings_are_refused_with_the_field(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError) as err:
        rotation(**fields)
    text = str(err.value).replace("\n", " ")
    assert message in text or message.replace("..", ". ") in text, text


def test_rotation_needs_an_empty_source_and_a_distinct_read_alias() -> None:
    base = {"alias": "ev", "template": {"vectors": {"": {"size": 4, "distance": "Cosine"}}}}
    rot = {"schedule": "@monthly", "nameFormat": "ev-{yyyy}-{mm}"}
    CollectionDeploymentSpec.model_validate({**base, "rotation": rot, "source": {"empty": {}}})
    with pytest.raises(ValidationError, match="source must be empty"):
        CollectionDeploymentSpec.model_validate(
            {**base, "rotation": rot, "source": {"collection": {"name": "x"}}}
        )
    with pytest.raises(ValidationError, match="readAlias must differ from alias"):
        CollectionDeploymentSpec.model_validate({**base, "rotation": {**rot, "readAlias": "ev"}})


def test_a_window_waits_for_a_backup_run_started_after_it_ended_that_holds_it() -> None:
    window = record(Window("ev-1", utc("2026-11-01T00:00:00"), utc("2026-12-01T00:00:00")))

    def run(name: str, started: str, phase: str = "Succeeded", collection: str = "ev-1") -> dict[str, Any]:
        return {
            "name": name,
            "phase": phase,
            "startTime": started,
            "collections": [{"collection": collection}],
        }

    assert backup_holds(None, "arch", window) == (False, "BackupSchedule arch not found")
    early = {"status": {"runs": [run("r1", "2026-11-30T00:00:00Z")]}}
    assert backup_holds(early, "arch", window)[0] is False  # started before the window ended
    failed = {"status": {"runs": [run("r2", "2026-12-01T01:00:00Z", phase="Failed")]}}
    assert backup_holds(failed, "arch", window)[0] is False
    other = {"status": {"runs": [run("r3", "2026-12-01T01:00:00Z", collection="ev-2")]}}
    held, why = backup_holds(other, "arch", window)
    assert held is False and "r3" in why and "does not hold ev-1" in why
    good = {"status": {"runs": [run("r4", "2026-12-01T00:00:00Z")]}}
    assert backup_holds(good, "arch", window) == (True, "held by run r4")
