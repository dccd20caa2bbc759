"""Letting go of a collection: on deletion (Retain, Delete, or hand over to another claimant) and
when `spec.connection.url` moves the collection to another Qdrant."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError
from qdrant_client.http import models

from qco.api.collection import QDRANT_COLLECTION, QdrantCollectionSpec
from qco.api.common import GROUP, VERSION, ConnectionSpec
from qco.clients.errors import classify
from qco.plan.inputs import ResourceIdentity
from qco.plan.ownership import OwnerStamp, build_stamp_metadata, parse_owner_stamp, removed_stamp_metadata
from qco.reconcile.context import ConnectionProblem, Context, resolve_endpoint
from qco.reconcile.machinery import Logger, post_event
from qco.reconcile.snapshot import PassSnapshot, object_ref


async def finalize_collection(
    ctx: Context, snapshot: PassSnapshot, spec: QdrantCollectionSpec, log: Logger
) -> None:
    """Retain drops qco's stamp; Delete deletes the collection, or hands it over to another live
    QdrantCollection that claims it (a GitOps rename). Only ever a collection this object owns."""
    identity = snapshot.identity
    name = spec.collection_name or identity.name
    try:
        endpoint = await resolve_endpoint(ctx, identity.namespace, spec.connection)
    except ConnectionProblem as exc:
        if not snapshot.status.get("endpoint"):
            # Nothing was ever created or adopted by this object: nothing to clean up anywhere.
            post_event(
                ctx,
                snapshot.object_ref(),
                "Normal",
                "Released",
                f"released: it never managed a collection ({exc})",
            )
            return
        raise
    gateway = ctx.qdrant.gateway(endpoint)
    info = await gateway.get_collection(name)
    stamp = parse_owner_stamp(info.config.metadata) if info is not None else None
    if info is None or stamp is None or stamp.uid != identity.uid:
        return  # not ours (any more): leave it alone
    claimant = await _claimant(ctx, snapshot, endpoint.url, name)
    if claimant is not None:
        new_owner = _handed_over(stamp, claimant)
        await gateway.update_collection(
            name, models.UpdateCollection(metadata=build_stamp_metadata(new_owner))
        )
        ctx.wake(claimant.uid)
        claimant_ref = object_ref(claimant)
        post_event(
            ctx,
            snapshot.object_ref(),
            "Normal",
            "HandedOver",
            f"handed collection {name} over to {claimant.namespace}/{claimant.name}, which claims it"
            f" (deletionPolicy {spec.deletion_policy} not applied)",
        )
        post_event(
            ctx,
            claimant_ref,
            "Normal",
            "TookOver",
            f"took over collection {name} from {identity.namespace}/{identity.name}, which was deleted",
        )
        log.info("handed collection %s over to %s/%s", name, claimant.namespace, claimant.name)
        return
    if spec.deletion_policy == "Delete":
        await gateway.delete_collection(name)
        post_event(
            ctx,
            snapshot.object_ref(),
            "Normal",
            "Deleted",
            f"deleted collection {name} (deletionPolicy Delete)",
        )
    else:
        await gateway.update_collection(name, models.UpdateCollection(metadata=removed_stamp_metadata()))
        post_event(
            ctx,
            snapshot.object_ref(),
            "Normal",
            "Released",
            f"left collection {name} in Qdrant without qco's stamp (Retain)",
        )


async def release_previous_endpoint(
    ctx: Context, snapshot: PassSnapshot, spec: QdrantCollectionSpec, previous: Mapping[str, Any], log: Logger
) -> None:
    """`spec.connection.url` changed: drop qco's stamp on the old Qdrant, or say what was left there.

    Never raises: the move goes on either way, and this runs once (status records the new endpoint).
    """
    identity = snapshot.identity
    name = spec.collection_name or identity.name
    url = str(previous["url"])
    try:
        connection = ConnectionSpec.model_validate(
            {k: v for k, v in previous.items() if k in ("url", "apiKeySecretRef")}
        )
        gateway = ctx.qdrant.gateway(await resolve_endpoint(ctx, identity.namespace, connection))
        info = await gateway.get_collection(name)
        stamp = parse_owner_stamp(info.config.metadata) if info is not None else None
        if info is None or stamp is None or stamp.uid != identity.uid:
            return
        await gateway.update_collection(name, models.UpdateCollection(metadata=removed_stamp_metadata()))
    except (ConnectionProblem, ValidationError) as exc:
        _left_behind(ctx, snapshot, name, url, str(exc), log)
        return
    except Exception as exc:
        _left_behind(ctx, snapshot, name, url, classify(exc).message, log)
        return
    post_event(
        ctx,
        snapshot.object_ref(),
        "Normal",
        "Released",
        f"connection.url changed: released collection {name} on {url} (left in place without qco's stamp)",
    )


def _left_behind(ctx: Context, snapshot: PassSnapshot, name: str, url: str, why: str, log: Logger) -> None:
    message = (
        f"connection.url changed but collection {name} on {url} could not be released ({why});"
        " it stays there with qco's stamp: delete it or remove its qco.dev/ metadata by hand"
    )
    log.warning(message)
    post_event(ctx, snapshot.object_ref(), "Warning", "LeftBehind", message)


async def _claimant(ctx: Context, snapshot: PassSnapshot, url: str, name: str) -> ResourceIdentity | None:
    """The oldest other live QdrantCollection that names the same collection on the same Qdrant."""
    items = await ctx.kube.list_custom_objects(
        GROUP, VERSION, QDRANT_COLLECTION.plural, ctx.settings.namespaces
    )
    candidates: list[ResourceIdentity] = []
    for item in items:
        meta = item.get("metadata") or {}
        if meta.get("uid") == snapshot.identity.uid or meta.get("deletionTimestamp"):
            continue
        try:
            other = QdrantCollectionSpec.model_validate(item.get("spec") or {})
        except ValidationError:
            continue
        other_url = (other.connection.url if other.connection else None) or ctx.settings.qdrant_url or ""
        if (other.collection_name or meta.get("name")) == name and other_url.rstrip("/") == url.rstrip("/"):
            candidates.append(ResourceIdentity.from_metadata(meta, kind=QDRANT_COLLECTION.kind))
    candidates.sort(key=lambda c: (c.creation_timestamp or "~", c.namespace, c.name))
    return candidates[0] if candidates else None


def _handed_over(stamp: OwnerStamp, claimant: ResourceIdentity) -> OwnerStamp:
    """The claimant's stamp, keeping what qco recorded (it now manages those indexes, aliases, vectors)."""
    return OwnerStamp(
        claimant.namespace,
        claimant.name,
        claimant.uid,
        claimant.creation_timestamp,
        claimant.kind,
        payload_indexes=stamp.payload_indexes,
        aliases=stamp.aliases,
        vectors=stamp.vectors,
    )
