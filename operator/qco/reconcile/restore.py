"""Declarative restore: a QdrantCollection with `spec.restoreFrom` whose collection does not exist
yet is filled from a backup (Qdrant recovers the snapshot from a presigned URL and checks its
SHA-256), stamped as this object's, and then reconciled to the spec as usual. Once the collection
exists, restoreFrom is ignored, and the `Restored` condition says so."""

from __future__ import annotations

from typing import Any

from qdrant_client.http import models

from qco.api.backup import BACKUP_SCHEDULE, BackupScheduleSpec
from qco.api.backup_restore import RestoreFrom
from qco.api.common import GROUP, VERSION
from qco.clients.qdrant import Endpoint, QdrantGateway
from qco.clients.s3 import S3Error, S3Store
from qco.clients.snapshot_stream import SnapshotClient, SnapshotError
from qco.plan.ownership import OwnerStamp, build_stamp_metadata, parse_owner_stamp
from qco.reconcile.backup_run import MANIFEST, PRESIGN_SECONDS
from qco.reconcile.backup_targets import open_bucket, schedule_prefix
from qco.reconcile.conditions import ConditionUpdate
from qco.reconcile.context import ConnectionProblem, Context
from qco.reconcile.machinery import Logger, post_event
from qco.reconcile.snapshot import PassSnapshot

CONDITION = "Restored"


async def restore_if_absent(
    ctx: Context,
    snapshot: PassSnapshot,
    restore: RestoreFrom,
    collection: str,
    endpoint: Endpoint,
    gateway: QdrantGateway,
    log: Logger,
) -> ConditionUpdate:
    """Restore `collection` when it does not exist; the `Restored` condition to report either way."""
    previous = next((c for c in snapshot.status.get("conditions") or () if c.get("type") == CONDITION), None)
    if await gateway.get_collection(collection) is not None:
        if previous is not None and previous.get("reason") == "RestoredFromBackup":
            return ConditionUpdate(CONDITION, "True", "RestoredFromBackup", str(previous.get("message", "")))
        return ConditionUpdate(
            CONDITION, "False", "CollectionExists", "restoreFrom is ignored: the collection already exists"
        )
    url, checksum, source = await _source(ctx, snapshot, restore)
    async with SnapshotClient(endpoint) as qdrant:
        try:
            await qdrant.recover(collection, url, checksum)
        except SnapshotError as exc:
            raise ConnectionProblem(
                "RestoreFailed", f"restore of {collection} from {source} failed: {exc}"
            ) from None
    await _stamp(gateway, snapshot, collection)
    message = f"restored from {source}"
    log.info("collection %s %s", collection, message)
    post_event(ctx, snapshot.object_ref(), "Normal", "Restored", f"collection {collection} {message}")
    return ConditionUpdate(CONDITION, "True", "RestoredFromBackup", message)


async def _stamp(gateway: QdrantGateway, snapshot: PassSnapshot, collection: str) -> None:
    """The restored collection carries its source's owner stamp: make it this object's."""
    info = await gateway.get_collection(collection)
    old = parse_owner_stamp(info.config.metadata if info is not None else None)
    identity = snapshot.identity
    stamp = OwnerStamp(
        identity.namespace,
        identity.name,
        identity.uid,
        created=identity.creation_timestamp,
        kind=identity.kind,
        payload_indexes=old.payload_indexes if old else frozenset(),
        vectors=old.vectors if old else frozenset(),
    )
    await gateway.update_collection(collection, models.UpdateCollection(metadata=build_stamp_metadata(stamp)))


async def _source(ctx: Context, snapshot: PassSnapshot, restore: RestoreFrom) -> tuple[str, str | None, str]:
    """(URL Qdrant downloads from, SHA-256, what to call the source in messages)."""
    if restore.url is not None:
        return restore.url, restore.checksum, "the snapshot URL"
    namespace = snapshot.identity.namespace
    items = await ctx.kube.list_custom_objects(GROUP, VERSION, BACKUP_SCHEDULE.plural, [namespace])
    found = next((i for i in items if i["metadata"]["name"] == restore.backup_schedule), None)
    if found is None:
        raise ConnectionProblem(
            "RestoreSourceNotFound",
            f"spec.restoreFrom.backupSchedule: no BackupSchedule {namespace}/{restore.backup_schedule}",
        )
    spec = BackupScheduleSpec.model_validate(found.get("spec") or {})
    s3 = spec.destination.s3
    if s3 is None:
        raise ConnectionProblem(
            "RestoreSourceNotFound",
            "spec.restoreFrom: the BackupSchedule keeps backups on the Qdrant node only",
        )
    store = await open_bucket(ctx, namespace, s3)
    base = schedule_prefix(s3, str(restore.backup_schedule))
    try:
        manifest = await _manifest(store, base, restore.run)
    except S3Error as exc:
        raise ConnectionProblem("RestoreSourceNotFound", f"spec.restoreFrom: {exc}") from None
    if manifest is None:
        raise ConnectionProblem(
            "RestoreSourceNotFound",
            f"spec.restoreFrom.run: no successful run {restore.run!r} of {restore.backup_schedule}",
        )
    entries = [c for c in manifest.get("collections") or [] if c.get("key") and not c.get("error")]
    wanted = restore.collection or (entries[0]["name"] if len(entries) == 1 else snapshot.identity.name)
    entry = next((c for c in entries if c.get("name") == wanted), None)
    if entry is None:
        raise ConnectionProblem(
            "RestoreSourceNotFound",
            f"spec.restoreFrom.collection: run {manifest['name']} has no backup of {wanted};"
            f" it has {', '.join(c['name'] for c in entries) or 'none'}",
        )
    url = await store.presigned_get(str(entry["key"]), PRESIGN_SECONDS)
    return url, entry.get("sha256"), f"{restore.backup_schedule}/{manifest['name']} ({wanted})"


async def _manifest(store: S3Store, base: str, run: str) -> dict[str, Any] | None:
    if run != "latest":
        keys = await store.list_keys(f"{base}{run}/{MANIFEST}")
        if not keys:
            return None
        manifest: dict[str, Any] = await store.get_json(keys[0])
        return manifest if manifest.get("phase") == "Succeeded" else None
    names = sorted(
        {k[len(base) :].split("/")[0] for k in await store.list_keys(base) if k.endswith("/" + MANIFEST)},
        reverse=True,
    )
    best: dict[str, Any] | None = None
    for name in names:
        candidate = await store.get_json(f"{base}{name}/{MANIFEST}")
        if candidate.get("phase") != "Succeeded":
            continue
        if best is None or str(candidate.get("scheduledTime")) > str(best.get("scheduledTime")):
            best = candidate
    return best
