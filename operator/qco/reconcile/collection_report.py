"""Report: the QdrantCollection status a pass ends with (pure)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from qdrant_client.http import models

from qco.plan.actions import CollectionPlan
from qco.reconcile.conditions import ConditionUpdate, Status, merge_conditions


@dataclass(frozen=True)
class PassOutcome:
    """What one pass found and did, as the status needs it."""

    ready: ConditionUpdate
    reconciling: ConditionUpdate
    stalled: ConditionUpdate
    paused: ConditionUpdate | None = None
    info: models.CollectionInfo | None = None
    collection_name: str | None = None
    aliases: Sequence[str] = ()
    changed: bool = False
    drift_fields: Sequence[str] = ()


def outcome_for_plan(
    plan: CollectionPlan, info: models.CollectionInfo | None, applied: bool, aliases: Sequence[str]
) -> PassOutcome:
    """Conditions for a pass that planned (and, unless paused, applied) `plan`, then saw `info`."""
    name = plan.collection_name
    colour = str(info.status.value if info is not None else "missing")
    if plan.blockers:
        reason = plan.blockers[0].reason
        message = " ".join(b.message() for b in plan.blockers)
        ready, reconciling, stalled = _stalled(reason, message)
    elif plan.paused and plan.actions:
        message = f"paused by annotation qco.dev/paused; pending: {'; '.join(plan.describe())}"
        ready, reconciling, stalled = _triple("False", "False", "False", "Paused", message, "", "")
    elif colour == "red":
        ready, reconciling, stalled = _stalled(
            "CollectionRed", f"collection {name} is red: {_optimizer_error(info)}"
        )
    elif colour in ("yellow", "grey"):
        message = f"collection {name} is {colour}: Qdrant is optimizing it to match the spec"
        ready, reconciling, stalled = _triple("False", "True", "False", "Optimizing", message, message, "")
    else:
        message = f"collection {name} matches the spec"
        ready, reconciling, stalled = _triple("True", "False", "False", "Synced", message, "", "")
    return PassOutcome(
        ready=ready,
        reconciling=reconciling,
        stalled=stalled,
        paused=_paused(plan),
        info=info,
        collection_name=name,
        aliases=aliases,
        changed=applied and not plan.paused,
    )


def _stalled(reason: str, message: str) -> tuple[ConditionUpdate, ConditionUpdate, ConditionUpdate]:
    return _triple("False", "False", "True", reason, message, "", message)


def _triple(
    ready: Status, reconciling: Status, stalled: Status, reason: str, *messages: str
) -> tuple[ConditionUpdate, ConditionUpdate, ConditionUpdate]:
    """Ready, Reconciling and Stalled sharing one reason (kstatus reads them together)."""
    return (
        ConditionUpdate("Ready", ready, reason, messages[0]),
        ConditionUpdate("Reconciling", reconciling, reason, messages[1]),
        ConditionUpdate("Stalled", stalled, reason, messages[2]),
    )


def outcome_for_failure(reason: str, message: str, stalled: bool) -> PassOutcome:
    """Conditions for a pass that could not finish; `stalled` when a human must act."""
    if stalled:
        ready, reconciling, stalled_ = _stalled(reason, message)
    else:
        ready, reconciling, stalled_ = _triple("False", "True", "False", reason, message, message, "")
    return PassOutcome(ready=ready, reconciling=reconciling, stalled=stalled_)


def build_status(
    current: Mapping[str, Any] | None, outcome: PassOutcome, generation: int | None, now: str
) -> dict[str, Any]:
    """The whole new status. Unchanged inputs give an identical status (no timestamps move)."""
    current = dict(current or {})
    updates = [outcome.ready, outcome.reconciling, outcome.stalled]
    conditions = merge_conditions(current.get("conditions"), updates, generation, now)
    if outcome.paused is None:
        conditions = [c for c in conditions if c["type"] != "Paused"]
    else:
        conditions = merge_conditions(conditions, [outcome.paused], generation, now)
    status: dict[str, Any] = {"observedGeneration": generation, "conditions": conditions}
    if outcome.info is not None:
        status["collection"] = _mirror(outcome.collection_name, outcome.info, outcome.aliases)
    elif "collection" in current and outcome.collection_name is None:
        status["collection"] = current["collection"]  # a failed pass keeps the last mirror
    became_ready = outcome.ready.status == "True" and _ready_status(current) != "True"
    last_sync = current.get("lastSyncTime")
    status["lastSyncTime"] = (
        now if (outcome.changed or became_ready) and outcome.ready.status == "True" else last_sync
    )
    corrections = int(current.get("driftCorrections") or 0)
    last_drift = current.get("lastDriftCorrection")
    if outcome.drift_fields:
        corrections += 1
        last_drift = {"time": now, "fields": list(outcome.drift_fields)}
    status["driftCorrections"] = corrections or None
    status["lastDriftCorrection"] = last_drift
    return {key: value for key, value in status.items() if value is not None}


def _paused(plan: CollectionPlan) -> ConditionUpdate | None:
    if not plan.paused:
        return None
    return ConditionUpdate(
        "Paused", "True", "PausedByAnnotation", "qco.dev/paused is true: qco writes nothing"
    )


def _optimizer_error(info: models.CollectionInfo | None) -> str:
    status = info.optimizer_status if info is not None else None
    if isinstance(status, models.OptimizersStatusOneOf1):
        return status.error
    return "unknown optimizer error"


def _ready_status(current: Mapping[str, Any]) -> str | None:
    for condition in current.get("conditions") or ():
        if condition.get("type") == "Ready":
            return str(condition.get("status"))
    return None


def _mirror(name: str | None, info: models.CollectionInfo, aliases: Sequence[str]) -> dict[str, Any]:
    mirror: dict[str, Any] = {
        "name": name,
        "status": str(info.status.value),
        "pointsCount": info.points_count,
        "indexedVectorsCount": info.indexed_vectors_count,
        "segmentsCount": info.segments_count,
        "aliases": sorted(aliases) or None,
    }
    if str(info.status.value) == "red":
        mirror["optimizerError"] = _optimizer_error(info)
    return {key: value for key, value in mirror.items() if value is not None}
