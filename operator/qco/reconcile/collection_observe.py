"""Observe: read what the planner needs from Qdrant (and, for foreign owner stamps, Kubernetes).

Steady state costs one GET of the collection; aliases come from the gateway's shared
per-pass listing, and other collections are read only when an alias points at them.
"""

from __future__ import annotations

import logging
from typing import Any

from qco.api.common import GROUP, VERSION
from qco.api.kinds import BY_NAME
from qco.clients.kube import KubeClient, LookupRefused
from qco.clients.qdrant import QdrantGateway
from qco.plan.inputs import DesiredCollection, ObservedCollection
from qco.plan.ownership import OwnerStamp, parse_owner_stamp

_logger = logging.getLogger(__name__)


async def observe_collection(
    gateway: QdrantGateway, kube: KubeClient | None, desired: DesiredCollection, log: Any = _logger
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
            existing[other.ref] = await _owner_exists(kube, other, log)
    return ObservedCollection(info, aliases, target_stamps, existing)


async def _owner_exists(kube: KubeClient, stamp: OwnerStamp, log: Any) -> bool:
    """Whether the owner a stamp names still exists; when Kubernetes cannot say, assume it does
    (never adopt from an owner that may be alive)."""
    kind = BY_NAME.get(stamp.kind)
    if kind is None:
        return True  # a kind this operator does not serve (yet): assume it is alive
    try:
        uid = await kube.custom_object_uid(GROUP, VERSION, kind.plural, stamp.namespace, stamp.name)
    except LookupRefused as exc:
        log.warning("owner of a collection assumed alive: %s", exc)
        return True
    return uid == stamp.uid
