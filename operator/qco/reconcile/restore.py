"""Declarative restore: a QdrantCollection with `spec.restoreFrom` whose collection does not exist
yet is filled from a backup (Qdrant recovers the snapshot from a presigned URL and checks its
SHA-256; a portable backup is created from its manifest's config and its parts upserted), stamped
as this object's, and then reconciled to the spec as usual. Once the collection exists, restoreFrom
is ignored, and the `Restored` condition says so; a portable restore that was interrupted (the
collection still carries `qco.dev/restoring`) is resumed, upserting by id again."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from qdrant_client.http import models

from qco.api.backup import BACKUP_SCHEDULE, BackupScheduleSpec
from qco.api.backup_restore import RestoreFrom
from qco.api.common import GROUP, VERSION
from qco.clients.qdrant import Endpoint, QdrantGateway
from qco.clients.qdrant_portable import PortableQdrant
from qco.clients.s3 import S3Error, S3Store
from qco.clients.snapshot_stream import SnapshotClient, SnapshotError
from qco.plan.backup_portable import PortableFormatError
from qco.plan.ownership import OwnerStamp, build_stamp_metadata, parse_owner_stamp
from qco.reconcile.backup_portable import finish_import, import_collection, is_restoring
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
    info = await gateway.get_collection(collection)
    resuming = info is not None and is_restoring(info.config.metadata)
    if info is not None and not resuming:
        if previous is not None and previous.get("reason") == "RestoredFromBackup":
            return ConditionUpdate(CONDITION, "True", "RestoredFromBackup", str(previous.get("message", "")))
        return ConditionUpdate(
            CONDITION, "False", "CollectionExists", "restoreFrom is ignored: the collection already exists"
        )
    source = await _source(ctx, snapshot, restore)
    try:
        if source.portable:
            assert source.store is not None and source.key is not None
            async with PortableQdrant(endpoint) as qdrant:
                await import_collection(
                    source.store, qdrant, source.key, source.checksum, collection, source.name
                )
                await finish_import(qdrant, collection)
        else:
            assert source.url is not None
            async with SnapshotClient(endpoint) as qdrant:
                await qdrant.recover(collection, source.url, source.checksum)
    except (SnapshotError, PortableFormatError, S3Error) as exc:
        raise ConnectionProblem(
            "RestoreFailed", f"restore of {collection} from {source.name} failed: {exc}"
        ) from None
    await _stamp(gateway, snapshot, collection)
    message = f"restored from {source.name}"
    log.info("collection %s %s", collection, message)
    post_event(ctx, snapshot.object_ref(), "Normal", "Restored", f"collection {collection} {message}")
    return ConditionUpdate(CONDITION, "True", "RestoredFromBackup", message)


@dataclass(frozen=True)
class Source:
    """Where a restore reads from: a snapshot URL, or a portable backup's manifest in a bucket."""

    name: str  # what to call it in messages
    checksum: str | None
    url: str | None = None
    store: S3Store | None = None
    key: str | None = None

    @property
    def portable(self) -> bool:
        """A portable backup (upserted by qco) rather than a snapshot (recovered by Qdrant)."""
        return self.key is not None


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
        shard_keys=old.shard_keys if old else frozenset(),
    )
    await gateway.update_collection(collection, models.UpdateCollection(metadata=build_stamp_metadata(stamp)))


async def _source(ctx: Context, snapshot: PassSnapshot, restore: RestoreFrom) -> Source:
    """Where the backup is, with its SHA-256."""
    if restore.url is not None:
        return Source("the snapshot URL", restore.checksum, url=restore.url)
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
    name = f"{restore.backup_schedule}/{manifest['name']} ({wanted})"
    if manifest.get("format") == "portable":
        return Source(name, entry.get("sha256"), store=store, key=str(entry["key"]))
    url = await store.presigned_get(str(entry["key"]), PRESIGN_SECONDS)
    return Source(name, entry.get("sha256"), url=url)


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
