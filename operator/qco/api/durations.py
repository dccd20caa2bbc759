"""Kubernetes-style durations ("90s", "5m", "1h30m") as seconds, and the duration field types."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field

#: One or more <number><unit> groups, e.g. "60s", "5m", "1h30m" (a subset of Go's durations,
#: so CEL's duration() reads every value the pattern admits).
DURATION_PATTERN = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$"

_PART = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}

#: Drift checks more often than this would be a hot loop against Qdrant per object.
MIN_DRIFT_INTERVAL = 5.0


def parse_duration(text: str) -> float | None:
    """Seconds in `text`, or None when it is not a duration (the CRD pattern already refuses those)."""
    parts = _PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        return None
    return sum(float(number) * _UNITS[unit] for number, unit in parts)


def _at_least(seconds: float) -> AfterValidator:
    def check(text: str) -> str:
        value = parse_duration(text)
        if value is not None and value < seconds:
            raise ValueError(f"must be at least {seconds:g}s (got {text})")
        return text

    return AfterValidator(check)


DriftInterval = Annotated[
    str,
    Field(
        pattern=DURATION_PATTERN,
        max_length=32,
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": f"duration(self) >= duration('{MIN_DRIFT_INTERVAL:g}s')",
                    "message": f"must be at least {MIN_DRIFT_INTERVAL:g}s",
                }
            ]
        },
    ),
    _at_least(MIN_DRIFT_INTERVAL),
]
