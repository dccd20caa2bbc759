"""The same observe -> plan -> act without Kubernetes, for `qco plan` and `qco apply`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from qdrant_client.http import models

from qco.api.collection import QdrantCollectionSpec
from qco.clients.qdrant import QdrantGateway
from qco.plan.actions import Action, CollectionPlan
from qco.plan.collection import plan_collection_changes
from qco.plan.inputs import DesiredCollection, ResourceIdentity
from qco.plan.ownership import parse_owner_stamp
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
    info: models.CollectionInfo | None = None  # after `apply` (when something was applied)
    before: models.CollectionInfo | None = None  # what the plan was made against


def desired_from_manifest(
    manifest: Mapping[str, Any], default_namespace: str = "default"
) -> DesiredCollection:
    """A QdrantCollection manifest as the planner's input (raises pydantic's ValidationError)."""
    meta = manifest.get("metadata") or {}
    spec = QdrantCollectionSpec.model_validate(manifest.get("spec") or {})
    identity = ResourceIdentity.from_metadata(
        meta, default_namespace=default_namespace, default_uid=OFFLINE_UID
    )
    return DesiredCollection(spec, identity)


def as_stamped_owner(desired: DesiredCollection, info: models.CollectionInfo | None) -> DesiredCollection:
    """`desired` with the uid and creationTimestamp of the owner stamp on the live collection
    when that stamp names the same kind, namespace and name: a preview of a cluster object that
    already owns its collection (without a cluster the manifest has no uid of its own). Pure."""
    stamp = parse_owner_stamp(info.config.metadata) if info is not None else None
    me = desired.identity
    if stamp is None or (stamp.kind, stamp.namespace, stamp.name) != (me.kind, me.namespace, me.name):
        return desired
    return replace(desired, identity=replace(me, uid=stamp.uid, creation_timestamp=stamp.created))


async def plan_offline(
    gateway: QdrantGateway, desired: DesiredCollection, apply: bool, match_owner_by_name: bool = False
) -> OfflineResult:
    """Plan one collection against live Qdrant and, when `apply`, perform the plan.

    `match_owner_by_name`: treat a live owner stamp naming the manifest's namespace/name as the
    manifest's own (`qco plan` without `--kubeconfig`), see `as_stamped_owner`.
    """
    observed = await observe_collection(gateway, None, desired)
    if match_owner_by_name:
        desired = as_stamped_owner(desired, observed.info)
    plan = plan_collection_changes(desired, observed)
    if not apply:
        return OfflineResult(plan, (), observed.info, observed.info)
    applied: list[Action] = []
    for action in plan.actions:
        await perform(gateway, action)
        applied.append(action)
    info = await gateway.get_collection(plan.collection_name) if applied else observed.info
    return OfflineResult(plan, tuple(applied), info, observed.info)
