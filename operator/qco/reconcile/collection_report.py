"""Report: the QdrantCollection outcome of a pass (pure): conditions and the kind's own status
fields (the collection mirror, last sync, drift bookkeeping, the endpoint qco manages it on)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from qdrant_client.http import models

from qco.plan.actions import CollectionPlan
from qco.reconcile.conditions import ConditionUpdate, condition
from qco.reconcile.outcome import (
    PassOutcome,
    failure_outcome,
    progressing_outcome,
    ready_outcome,
    stalled_outcome,
    waiting_outcome,
)
from qco.reconcile.status_report import build_status

__all__ = ["CollectionFields", "build_status", "failure_outcome", "outcome_for_plan"]

PAUSED = ConditionUpdate("Paused", "True", "PausedByAnnotation", "qco.dev/paused is true: qco writes nothing")

#: `status.endpoint` unchanged (as opposed to None, which removes it).
KEEP: Any = object()


@dataclass(frozen=True)
class CollectionFields:
    """QdrantCollection's own status fields after a pass that saw the collection."""

    collection_name: str | None
    info: models.CollectionInfo | None
    aliases: Sequence[str] = ()
    changed: bool = False
    drift_fields: Sequence[str] = ()
    ready: bool = False
    endpoint: Any = KEEP  # {url, apiKeySecretRef?} while qco manages the collection there; None: none

    def __call__(self, current: Mapping[str, Any], now: str) -> dict[str, Any]:
        """The fields to set (None removes one); others stay as they are."""
        fields: dict[str, Any] = {}
        if self.info is not None:
            fields["collection"] = _mirror(self.collection_name, self.info, self.aliases)
        was_ready = (condition(current.get("conditions"), "Ready") or {}).get("status") == "True"
        if self.ready and (self.changed or not was_ready):
            fields["lastSyncTime"] = now
        if self.drift_fields:
            fields["driftCorrections"] = int(current.get("driftCorrections") or 0) + 1
            fields["lastDriftCorrection"] = {"time": now, "fields": list(self.drift_fields)}
        if self.endpoint is not KEEP:
            fields["endpoint"] = self.endpoint
        return fields


def outcome_for_plan(
    plan: CollectionPlan,
    info: models.CollectionInfo | None,
    applied: bool,
    aliases: Sequence[str],
    drift_fields: Sequence[str] = (),
    endpoint: Any = KEEP,
) -> PassOutcome:
    """Conditions for a pass that planned (and, unless paused, applied) `plan`, then saw `info`."""
    name = plan.collection_name
    colour = str(info.status.value if info is not None else "missing")
    extra = (PAUSED,) if plan.paused else ()
    drop = () if plan.paused else ("Paused",)
    common: dict[str, Any] = {"extra": extra, "drop": drop, "colour": colour}

    def fields(ready: bool) -> CollectionFields:
        changed = applied and not plan.paused
        return CollectionFields(name, info, aliases, changed, drift_fields, ready, endpoint)

    if plan.blockers:
        message = " ".join(b.message() for b in plan.blockers)
        return stalled_outcome(plan.blockers[0].reason, message, fields=fields(False), **common)
    if plan.paused and plan.actions:
        message = f"paused by annotation qco.dev/paused; pending: {'; '.join(plan.describe())}"
        return waiting_outcome("Paused", message, fields=fields(False), **common)
    if colour == "red":
        message = f"collection {name} is red: {_optimizer_error(info)}"
        return stalled_outcome("CollectionRed", message, fields=fields(False), **common)
    if colour in ("yellow", "grey"):
        message = f"collection {name} is {colour}: Qdrant is optimizing it to match the spec"
        return progressing_outcome("Optimizing", message, fields=fields(False), **common)
    return ready_outcome("Synced", f"collection {name} matches the spec", fields=fields(True), **common)


def _optimizer_error(info: models.CollectionInfo | None) -> str:
    status = info.optimizer_status if info is not None else None
    if isinstance(status, models.OptimizersStatusOneOf1):
        return status.error
    return "unknown optimizer error"


def _mirror(name: str | None, info: models.CollectionInfo, aliases: Sequence[str]) -> dict[str, Any]:
    mirror: dict[str, Any] = {
        "name": name,
        "status": str(info.status.value),
        "pointsCount": info.points_count,
        "indexedVectorsCount": info.indexed_vectors_count,
        "segmentsCount": info.segments_count,
        "aliases": sorted(aliases) or None,
        "optimizerError": _optimizer_error(info) if str(info.status.value) == "red" else None,
    }
    return {key: value for key, value in mirror.items() if value is not None}
