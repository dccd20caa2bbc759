"""The same observe -> plan -> act without Kubernetes, for `qco plan` and `qco apply`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from qdrant_client.http import models

from qco.api.collection import QdrantCollectionSpec
from qco.clients.qdrant import QdrantGateway
from qco.plan.actions import Action, CollectionPlan
from qco.plan.collection import plan_collection_changes
from qco.plan.inputs import DesiredCollection, ResourceIdentity
from qco.plan.ownership import parse_owner_stamp
from qco.plan.shard_keys import ShardKeyPlan, plan_shard_keys
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
    shard_keys: ShardKeyPlan | None = None  # `qco plan` with spec.shardKeys: what the operator would do

    @property
    def changes(self) -> bool:
        """Actions to perform, shard keys included."""
        return bool(self.plan.actions) or (self.shard_keys is not None and not self.shard_keys.empty)

    @property
    def blocked(self) -> bool:
        """A blocker, or a shard key removal without consent."""
        return bool(self.plan.blockers) or bool(self.shard_keys and self.shard_keys.refused)


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


LiveShardKeys = Callable[[str], Awaitable[Mapping[str, int]]]


async def plan_offline(
    gateway: QdrantGateway,
    desired: DesiredCollection,
    apply: bool,
    match_owner_by_name: bool = False,
    live_shard_keys: LiveShardKeys | None = None,
) -> OfflineResult:
    """Plan one collection against live Qdrant and, when `apply`, perform the plan.

    `match_owner_by_name`: treat a live owner stamp naming the manifest's namespace/name as the
    manifest's own (`qco plan` without `--kubeconfig`), see `as_stamped_owner`.
    `live_shard_keys`: collection -> live shard keys (key -> points); given, a plan also shows the
    shard-key changes the operator would make (`qco apply` leaves shard keys to the operator).
    """
    observed = await observe_collection(gateway, None, desired)
    if match_owner_by_name:
        desired = as_stamped_owner(desired, observed.info)
    plan = plan_collection_changes(desired, observed)
    if not apply:
        keys = await _shard_keys(desired, plan, observed.info, live_shard_keys)
        return OfflineResult(plan, (), observed.info, observed.info, keys)
    applied: list[Action] = []
    for action in plan.actions:
        await perform(gateway, action)
        applied.append(action)
    info = await gateway.get_collection(plan.collection_name) if applied else observed.info
    return OfflineResult(plan, tuple(applied), info, observed.info)


async def _shard_keys(
    desired: DesiredCollection,
    plan: CollectionPlan,
    info: models.CollectionInfo | None,
    live_shard_keys: LiveShardKeys | None,
) -> ShardKeyPlan | None:
    """The shard-key step's plan as the operator would make it after `plan` (None: not managed)."""
    spec = desired.spec
    if live_shard_keys is None or spec.shard_keys is None or not plan.owned or plan.blockers:
        return None
    live: Mapping[str, int] = {} if info is None else await live_shard_keys(plan.collection_name)
    stamp = parse_owner_stamp(info.config.metadata) if info is not None else None
    ours = stamp is not None and stamp.uid == desired.identity.uid
    recorded = stamp.shard_keys if stamp is not None and ours else frozenset()
    return plan_shard_keys(spec.shard_keys, live, spec.shard_key_removal_policy == "Allow", recorded=recorded)
