"""kstatus-compatible conditions: pure helpers shared by every kind's reconcile.

A condition keeps its lastTransitionTime while its status stays the same, so a
reconcile that changes nothing produces an identical status and no patch.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

Status = Literal["True", "False", "Unknown"]


@dataclass(frozen=True)
class ConditionUpdate:
    """The desired state of one condition, without its timestamps."""

    type: str
    status: Status
    reason: str
    message: str = ""


def now_rfc3339() -> str:
    """The current time as Kubernetes writes it (seconds, UTC, `Z`)."""
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


TRUNCATION_MARKER = " … [truncated]"


def truncate(text: str, max_bytes: int) -> str:
    """`text` cut to at most `max_bytes` of UTF-8 (never inside a character), with a marker."""
    data = text.encode()
    if len(data) <= max_bytes:
        return text
    room = max_bytes - len(TRUNCATION_MARKER.encode())
    return data[:room].decode(errors="ignore") + TRUNCATION_MARKER


def merge_conditions(
    current: Sequence[Mapping[str, Any]] | None,
    updates: Iterable[ConditionUpdate],
    generation: int | None,
    now: str,
) -> list[dict[str, Any]]:
    """The new conditions list: updated types replaced, others kept, ordered by type for stable diffs."""
    by_type: dict[str, dict[str, Any]] = {str(c.get("type")): dict(c) for c in current or () if c.get("type")}
    for update in updates:
        previous = by_type.get(update.type)
        changed = previous is None or previous.get("status") != update.status
        by_type[update.type] = {
            "type": update.type,
            "status": update.status,
            "reason": update.reason,
            "message": update.message,
            "lastTransitionTime": now
            if changed or previous is None
            else previous.get("lastTransitionTime", now),
            "observedGeneration": generation,
        }
    return [by_type[key] for key in sorted(by_type)]


def condition(conditions: Sequence[Mapping[str, Any]] | None, type_: str) -> Mapping[str, Any] | None:
    """The condition of this type, if present."""
    for item in conditions or ():
        if item.get("type") == type_:
            return item
    return None
