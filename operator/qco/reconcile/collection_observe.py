"""Observe: read what the planner needs from Qdrant (and, for foreign owner stamps, Kubernetes).

Steady state costs one GET of the collection; aliases come from the gateway's shared
per-pass listing, and other collections are read only when an alias points at them.
"""

from __future__ import annotations

from qco.api.collection import QDRANT_COLLECTION
from qco.api.common import GROUP, VERSION
from qco.clients.kube import KubeClient
from qco.clients.qdrant import QdrantGateway
from qco.plan.inputs import DesiredCollection, ObservedCollection
from qco.plan.ownership import OwnerStamp, parse_owner_stamp

# Kinds that can own a collection; CollectionDeployment joins when its issue lands.
PLURALS = {QDRANT_COLLECTION.kind: QDRANT_COLLECTION.plural, "CollectionDeployment": "collectiondeployments"}


async def observe_collection(
    gateway: QdrantGateway, kube: KubeClient | None, desired: DesiredCollection
) -> ObservedCollection:
    """Everything `plan_collection_changes` needs about the live collection.

    Without Kubernetes (`kube` None, as in `qco plan`), owners named by foreign stamps are
    assumed to exist: the planner then never takes a collection or alias from them.
    """
    name = desired.collection_name
    info = await gateway.get_collection(name)
    stamp = parse_owner_stamp(info.config.metadata) if info is not None else None
    wanted_aliases = set(desired.spec.aliases or ())
    recorded_aliases = set(stamp.aliases) if stamp is not None else set()

    aliases: dict[str, str] = {}
    if wanted_aliases or recorded_aliases:
        aliases = await gateway.list_aliases()
    target_stamps: dict[str, OwnerStamp | None] = {}
    for alias in sorted(wanted_aliases):
        target = aliases.get(alias)
        if target is None or target == name or target in target_stamps:
            continue
        target_info = await gateway.get_collection(target)
        target_stamps[target] = parse_owner_stamp(target_info.config.metadata) if target_info else None

    existing: dict[str, bool] = {}
    foreign = [s for s in (stamp, *target_stamps.values()) if s is not None and s.uid != desired.identity.uid]
    for other in foreign:
        if kube is not None and other.ref not in existing:
            existing[other.ref] = await _owner_exists(kube, other)
    return ObservedCollection(info, aliases, target_stamps, existing)


async def _owner_exists(kube: KubeClient, stamp: OwnerStamp) -> bool:
    plural = PLURALS.get(stamp.kind)
    if plural is None:
        return True  # a kind we do not know: assume it is alive rather than steal from it
    uid = await kube.custom_object_uid(GROUP, VERSION, plural, stamp.namespace, stamp.name)
    return uid == stamp.uid
