"""Deletion of a CollectionDeployment: its children go, and with them (deletionPolicy Delete) or
without them (Retain) their collections; the alias stays on the active collection with Retain."""

from __future__ import annotations

from qco.api.collection import QDRANT_COLLECTION
from qco.api.deployment import CollectionDeploymentSpec
from qco.clients.kube_objects import KubeObjects
from qco.plan.deployment import DEPLOYMENT_LABEL
from qco.reconcile.context import Context
from qco.reconcile.machinery import Logger, post_event
from qco.reconcile.snapshot import PassSnapshot


async def finalize_deployment(
    ctx: Context, snapshot: PassSnapshot, spec: CollectionDeploymentSpec, log: Logger, objects: KubeObjects
) -> None:
    """Delete every child QdrantCollection this deployment owns, after telling each to retain its
    collection when the deployment's deletionPolicy is Retain."""
    identity = snapshot.identity
    plural = QDRANT_COLLECTION.plural
    children = await objects.list(plural, identity.namespace, f"{DEPLOYMENT_LABEL}={identity.name}")
    for child in children:
        meta = child.get("metadata") or {}
        owners = meta.get("ownerReferences") or ()
        if not any(ref.get("uid") == identity.uid for ref in owners):
            continue  # a namesake's child, or one a human took over: not ours to delete
        name = str(meta.get("name"))
        if (child.get("spec") or {}).get("deletionPolicy") != spec.deletion_policy:
            patch = {"spec": {"deletionPolicy": spec.deletion_policy}}
            await objects.patch(plural, identity.namespace, name, patch)
        if await objects.delete(plural, identity.namespace, name):
            log.info("deleting revision %s (deletionPolicy %s)", name, spec.deletion_policy)
            post_event(
                ctx,
                snapshot.object_ref(),
                "Normal",
                "DeleteRevision",
                f"QdrantCollection {name} deleted; its collection is {spec.deletion_policy.lower()}ed",
            )
