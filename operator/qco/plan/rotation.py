"""Pure planning for rotating CollectionDeployments: when windows start and end, their names, and
which windows must exist, turn cold, or expire at a given moment.

No I/O and no clock: the reconciler passes `now` and the windows its status records. Safety rules
live here so they are tested exhaustively: a clock behind the last rotation deletes nothing and
never moves the alias back; an operator away across boundaries rotates once and names what it
missed; two windows never share a name.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from qco.api.backup_cron import parse_long_duration, parse_schedule, parse_time_zone
from qco.api.deployment_rotation import MIN_ROTATION_SECONDS, RotationSpec
from qco.api.deployment_status import WindowRecord
from qco.plan.backup_schedule import Schedule
from qco.plan.deployment import DEPLOYMENT_LABEL

#: Missed windows named in status and events (the count is always exact).
MAX_MISSED_NAMES = 20
#: How far ahead names are checked for collisions (beyond the windows kept and precreated).
NAME_CHECK_WINDOWS = 24


def rotation_schedule(rotation: RotationSpec) -> Schedule:
    """The schedule of `rotation`, which allows shorter `@every` windows than backups do."""
    return Schedule(
        parse_schedule(rotation.schedule, min_every=MIN_ROTATION_SECONDS),
        parse_time_zone(rotation.time_zone),
    )


def window_name(name_format: str, start: datetime, schedule: Schedule) -> str:
    """The collection name of the window starting at `start`, in the schedule's time zone."""
    local = start.astimezone(schedule.zone)
    iso_year, iso_week, _ = local.isocalendar()
    weekly = "{ww}" in name_format
    tokens = {
        "yyyy": f"{iso_year if weekly else local.year:04d}",
        "mm": f"{local.month:02d}",
        "dd": f"{local.day:02d}",
        "hh": f"{local.hour:02d}",
        "mi": f"{local.minute:02d}",
        "ss": f"{local.second:02d}",
        "ww": f"{iso_week:02d}",
    }
    out = name_format
    for token, value in tokens.items():
        out = out.replace("{" + token + "}", value)
    return out


@dataclass(frozen=True)
class Window:
    """One window: its collection name and its span [start, end)."""

    name: str
    start: datetime
    end: datetime


def window_starting(rotation: RotationSpec, schedule: Schedule, start: datetime) -> Window:
    """The window that starts at a slot of the schedule."""
    return Window(window_name(rotation.name_format, start, schedule), start, schedule.next_after(start))


def window_at(rotation: RotationSpec, schedule: Schedule, moment: datetime) -> Window | None:
    """The window holding `moment` (None for a cron expression that never fired before it)."""
    start = schedule.latest_at_or_before(moment)
    return None if start is None else window_starting(rotation, schedule, start)


def following(rotation: RotationSpec, schedule: Schedule, first: Window, count: int) -> list[Window]:
    """`count` windows after `first`, in order."""
    out: list[Window] = []
    current = first
    for _ in range(count):
        current = window_starting(rotation, schedule, current.end)
        out.append(current)
    return out


@dataclass(frozen=True)
class RotationPlan:
    """What should be true now."""

    current: Window
    wanted: tuple[Window, ...]  # the current window, then the ones created ahead
    cold: frozenset[str] = frozenset()  # windows behind the current one that belong in the cold tier
    expired: tuple[str, ...] = ()  # windows behind the current one to delete, oldest first
    read_alias_target: str | None = None  # the previous window, when kept
    missed: tuple[str, ...] = ()  # windows whose whole span passed since the last rotation (capped)
    missed_count: int = 0
    clock_behind: bool = False  # now is before the recorded current window: nothing is deleted
    problem: str | None = None  # why nothing can be planned (e.g. two windows share a name)

    @property
    def next_rotation(self) -> datetime:
        """When the next window begins."""
        return self.current.end


def plan_rotation(
    rotation: RotationSpec,
    now: datetime,
    recorded: Sequence[WindowRecord],
    recorded_current: str | None,
) -> RotationPlan:
    """The windows wanted at `now`, given the windows status records and the one it calls current."""
    schedule = rotation_schedule(rotation)
    current = window_at(rotation, schedule, now)
    if current is None:
        first = schedule.next_after(now)
        current = window_starting(rotation, schedule, first)
        return RotationPlan(current, (), problem=f"schedule {rotation.schedule} has no slot before now")
    previous = next((w for w in recorded if w.name == recorded_current), None)
    clock_behind = previous is not None and current.start < previous.start
    if clock_behind and previous is not None:
        current = Window(previous.name, previous.start, previous.end)
    wanted = (current, *following(rotation, schedule, current, rotation.precreate))

    problem = _name_collision(rotation, schedule, current, recorded)
    if problem is not None:
        return RotationPlan(current, (), problem=problem, clock_behind=clock_behind)

    missed: list[str] = []
    missed_count = 0
    if previous is not None and not clock_behind:
        step = window_starting(rotation, schedule, previous.end) if previous.end < current.start else None
        while step is not None and step.start < current.start:
            missed_count += 1
            if len(missed) < MAX_MISSED_NAMES:
                missed.append(step.name)
            step = window_starting(rotation, schedule, step.end)

    behind = sorted((w for w in recorded if w.start < current.start), key=lambda w: w.start, reverse=True)
    cold = frozenset(
        w.name
        for k, w in enumerate(behind, start=1)
        if rotation.cold is not None and k >= rotation.cold.after
    )
    expired: list[str] = []
    if not clock_behind:
        keep_for = parse_long_duration(rotation.retain_for) if rotation.retain_for else None
        for k, w in enumerate(behind, start=1):
            too_many = rotation.retain is not None and k >= rotation.retain
            too_old = keep_for is not None and w.end + timedelta(seconds=keep_for) <= now
            if too_many or too_old:
                expired.append(w.name)
    read_target = behind[0].name if behind and behind[0].name not in expired else None
    return RotationPlan(
        current=current,
        wanted=wanted,
        cold=cold - set(expired),
        expired=tuple(reversed(expired)),
        read_alias_target=read_target,
        missed=tuple(missed),
        missed_count=missed_count,
        clock_behind=clock_behind,
    )


def _name_collision(
    rotation: RotationSpec, schedule: Schedule, current: Window, recorded: Sequence[WindowRecord]
) -> str | None:
    """Why the name format cannot tell two windows apart, checked over the recorded windows and the
    next ones (kept and created ahead, and a margin), before any of them exists."""
    horizon = rotation.precreate + min(rotation.retain or 0, 100) + NAME_CHECK_WINDOWS
    seen: dict[str, datetime] = {w.name: w.start for w in recorded}
    for window in (current, *following(rotation, schedule, current, horizon)):
        other = seen.get(window.name)
        if other is not None and other != window.start:
            return (
                f"rotation.nameFormat {rotation.name_format!r} names the windows starting"
                f" {_iso(other)} and {_iso(window.start)} both {window.name}; add a finer token"
                " (e.g. {dd}, {hh}, {mi} or {ww})"
            )
        seen[window.name] = window.start
    return None


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


#: Marks a deployment's child as a time window (its value: the window's collection, DNS-safe).
WINDOW_LABEL = "qco.dev/window"
_DNS_UNSAFE = re.compile(r"[^a-z0-9.-]+")


def window_child(deployment: str, collection: str) -> str:
    """The window's child QdrantCollection: `<deployment>-<collection>`, made DNS-safe; a short
    hash of the collection name is added when making it safe changed it (two names must not meet)."""
    safe = _DNS_UNSAFE.sub("-", collection.lower()).strip("-.")
    suffix = (
        safe if safe == collection else f"{safe[:40]}-{hashlib.sha256(collection.encode()).hexdigest()[:6]}"
    )
    return f"{deployment[: 252 - len(suffix)]}-{suffix}"


def window_label(child: str) -> str:
    """A label value for the window (63 characters at most, alphanumeric at both ends)."""
    return child[-63:].strip("-.") or "window"


def backup_holds(schedule: Mapping[str, Any] | None, name: str, window: WindowRecord) -> tuple[bool, str]:
    """Whether a successful run of BackupSchedule `name`, started after the window ended, holds the
    window's collection; else what is missing (for status)."""
    if schedule is None:
        return False, f"BackupSchedule {name} not found"
    runs = (schedule.get("status") or {}).get("runs") or []
    after = [
        r for r in runs if r.get("phase") == "Succeeded" and _at_or_after(r.get("startTime"), window.end)
    ]
    for run in after:
        entries = run.get("collections") or []
        if any(e.get("collection") == window.name and not e.get("error") for e in entries):
            return True, f"held by run {run.get('name')}"
    if after:
        return False, (
            f"run {after[0].get('name')} of BackupSchedule {name} does not hold {window.name}: select the"
            " windows in its spec.collections (e.g. selector matchLabels"
            f" {{{DEPLOYMENT_LABEL}: <deployment>}})"
        )
    return False, f"waiting for a successful run of BackupSchedule {name} that holds {window.name}"


def _at_or_after(value: Any, moment: datetime) -> bool:
    if not value:
        return False
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")) >= moment
