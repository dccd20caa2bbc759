"""The same observe -> plan -> act without Kubernetes, for `qco plan` and `qco apply`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from qdrant_client.http import models

from qco.api.collection import QdrantCollectionSpec
from qco.clients.qdrant import QdrantGateway
from qco.plan.actions import Action, CollectionPlan
from qco.plan.collection import plan_collection_changes
from qco.plan.inputs import DesiredCollection, ResourceIdentity
from qco.reconcile.collection_act import perform
from qco.reconcile.collection_observe import observe_collection

# Without a cluster there is no uid; the stamp says so, and a cluster resource adopting the
# collection later sees an owner that does not exist and applies its adoptionPolicy.
OFFLINE_UID = "qco-cli"


@dataclass(frozen=True)
class OfflineResult:
    """What `qco plan` / `qco apply` did for one manifest."""

    plan: CollectionPlan
    applied: tuple[Action, ...] = ()
    info: models.CollectionInfo | None = None


def desired_from_manifest(manifest: Mapping[str, Any]) -> DesiredCollection:
    """A QdrantCollection manifest as the planner's input (raises pydantic's ValidationError)."""
    meta = manifest.get("metadata") or {}
    spec = QdrantCollectionSpec.model_validate(manifest.get("spec") or {})
    identity = ResourceIdentity.from_metadata(meta, default_namespace="default", default_uid=OFFLINE_UID)
    return DesiredCollection(spec, identity)


async def plan_offline(gateway: QdrantGateway, desired: DesiredCollection, apply: bool) -> OfflineResult:
    """Plan one collection against live Qdrant and, when `apply`, perform the plan."""
    observed = await observe_collection(gateway, None, desired)
    plan = plan_collection_changes(desired, observed)
    if not apply:
        return OfflineResult(plan, (), observed.info)
    applied: list[Action] = []
    for action in plan.actions:
        await perform(gateway, action)
        applied.append(action)
    info = await gateway.get_collection(plan.collection_name) if applied else observed.info
    return OfflineResult(plan, tuple(applied), info)
