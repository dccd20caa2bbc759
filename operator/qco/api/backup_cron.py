"""BackupSchedule's schedule expressions, time zones and day-long durations, checked at admission.

A schedule is a 5-field cron expression, a macro (@hourly, @daily, @weekly, @monthly, @yearly) or
`@every <duration>`. Only the syntax lives here (the CRD validates with it); when runs fall is
`qco.plan.backup_schedule`'s job.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError
from pydantic import AfterValidator

#: Macros as their 5-field equivalents (cronsim reads only the 5 fields).
MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}

#: Durations with days: 30m, 12h, 7d, 1d12h (`@every`, retention's maxAge).
LONG_DURATION_PATTERN = r"^([0-9]+(d|h|m|s))+$"
_PART = re.compile(r"([0-9]+)(d|h|m|s)")
_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}

#: `@every` shorter than this would be a hot loop of snapshots.
MIN_EVERY_SECONDS = 60


def parse_long_duration(text: str) -> int:
    """Seconds in `7d`, `1d12h`, `30m`; ValueError naming the accepted form otherwise."""
    parts = _PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"{text!r} is not a duration like 30m, 12h, 7d or 1d12h")
    return sum(int(number) * _UNITS[unit] for number, unit in parts)


@dataclass(frozen=True)
class ScheduleExpression:
    """A parsed schedule: a cron expression or a fixed interval (`@every`)."""

    text: str
    cron: str | None = None
    every_seconds: int | None = None


def parse_schedule(text: str, min_every: int = MIN_EVERY_SECONDS) -> ScheduleExpression:
    """Parse spec.schedule; ValueError saying what is accepted when it is not a schedule."""
    stripped = text.strip()
    if stripped.startswith("@every"):
        rest = stripped[len("@every") :].strip()
        try:
            seconds = parse_long_duration(rest)
        except ValueError as exc:
            raise ValueError(f"@every needs a duration, e.g. '@every 30m': {exc}") from None
        if seconds < min_every:
            raise ValueError(f"@every must be at least {min_every}s (got {rest})")
        return ScheduleExpression(text, every_seconds=seconds)
    cron = MACROS.get(stripped, stripped)
    if stripped.startswith("@") and stripped not in MACROS:
        raise ValueError(f"unknown macro {stripped}; use one of {', '.join(MACROS)} or '@every 30m'")
    if len(cron.split()) != 5:
        raise ValueError(
            f"{text!r} is not a 5-field cron expression (minute hour day-of-month month day-of-week),"
            " a macro such as @daily, or '@every 30m'"
        )
    try:
        CronSim(cron, datetime(2000, 1, 1, tzinfo=UTC))
    except CronSimError as exc:
        raise ValueError(f"{text!r} is not a valid cron expression: {exc}") from None
    return ScheduleExpression(text, cron=cron)


def parse_time_zone(name: str) -> ZoneInfo:
    """An IANA time zone; ValueError naming an example otherwise."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {name!r}; use an IANA name such as UTC or Europe/Berlin"
        ) from None


def _checked_zone(name: str) -> str:
    parse_time_zone(name)
    return name


def _checked_duration(text: str) -> str:
    parse_long_duration(text)
    return text


#: A string field holding an IANA time zone / a day-long duration, checked when a spec is parsed.
TimeZoneName = Annotated[str, AfterValidator(_checked_zone)]
LongDuration = Annotated[str, AfterValidator(_checked_duration)]
