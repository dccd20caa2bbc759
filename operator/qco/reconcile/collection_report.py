"""Report: the QdrantCollection status a pass ends with (pure)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from qdrant_client.http import models

from qco.plan.actions import CollectionPlan
from qco.reconcile.conditions import ConditionUpdate, merge_conditions


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
    if plan.blockers:
        first = plan.blockers[0]
        message = " ".join(b.message() for b in plan.blockers)
        return PassOutcome(
            ready=ConditionUpdate("Ready", "False", first.reason, message),
            reconciling=ConditionUpdate("Reconciling", "False", first.reason, ""),
            stalled=ConditionUpdate("Stalled", "True", first.reason, message),
            paused=_paused(plan),
            info=info,
            collection_name=name,
            aliases=aliases,
            changed=applied,
        )
    if plan.paused and plan.actions:
        pending = "; ".join(plan.describe())
        message = f"paused by annotation qco.dev/paused; pending: {pending}"
        return PassOutcome(
            ready=ConditionUpdate("Ready", "False", "Paused", message),
            reconciling=ConditionUpdate("Reconciling", "False", "Paused", ""),
            stalled=ConditionUpdate("Stalled", "False", "Paused", ""),
            paused=_paused(plan),
            info=info,
            collection_name=name,
            aliases=aliases,
        )
    colour = str(info.status.value if info is not None else "missing")
    if colour == "red":
        error = _optimizer_error(info)
        message = f"collection {name} is red: {error}"
        return PassOutcome(
            ready=ConditionUpdate("Ready", "False", "CollectionRed", message),
            reconciling=ConditionUpdate("Reconciling", "False", "CollectionRed", ""),
            stalled=ConditionUpdate("Stalled", "True", "CollectionRed", message),
            paused=_paused(plan),
            info=info,
            collection_name=name,
            aliases=aliases,
            changed=applied,
        )
    if colour in ("yellow", "grey"):
        message = f"collection {name} is {colour}: Qdrant is optimizing it to match the spec"
        return PassOutcome(
            ready=ConditionUpdate("Ready", "False", "Optimizing", message),
            reconciling=ConditionUpdate("Reconciling", "True", "Optimizing", message),
            stalled=ConditionUpdate("Stalled", "False", "Optimizing", ""),
            paused=_paused(plan),
            info=info,
            collection_name=name,
            aliases=aliases,
            changed=applied,
        )
    return PassOutcome(
        ready=ConditionUpdate("Ready", "True", "Synced", f"collection {name} matches the spec"),
        reconciling=ConditionUpdate("Reconciling", "False", "Synced", ""),
        stalled=ConditionUpdate("Stalled", "False", "Synced", ""),
        paused=_paused(plan),
        info=info,
        collection_name=name,
        aliases=aliases,
        changed=applied,
    )


def outcome_for_failure(reason: str, message: str, stalled: bool) -> PassOutcome:
    """Conditions for a pass that could not finish; `stalled` when a human must act."""
    return PassOutcome(
        ready=ConditionUpdate("Ready", "False", reason, message),
        reconciling=ConditionUpdate(
            "Reconciling", "False" if stalled else "True", reason, "" if stalled else message
        ),
        stalled=ConditionUpdate(
            "Stalled", "True" if stalled else "False", reason, message if stalled else ""
        ),
    )


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
