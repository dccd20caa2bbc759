"""One backup run: per collection, a Qdrant snapshot streamed into the bucket (multipart, SHA-256
compared with Qdrant's), the node's copy deleted, optionally verified by a restore into a scratch
collection; or, with format portable, the collection scrolled into compressed JSONL parts with a
collection manifest (reconcile/backup_portable.py); then the run's manifest, written last, so only
a finished run is ever listed as good.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

from qco.api.backup import BackupScheduleSpec
from qco.api.common import API_VERSION
from qco.clients.qdrant_portable import PortableQdrant
from qco.clients.s3 import S3Error, S3Store
from qco.clients.snapshot_stream import SnapshotClient, SnapshotError
from qco.plan.backup_portable import PortableFormatError, portable_prefix
from qco.plan.backup_schedule import RunPlan
from qco.reconcile.backup_portable import export_collection, finish_import, import_collection
from qco.reconcile.backup_targets import Target, run_prefix, schedule_prefix

MANIFEST = "manifest.json"
#: Presigned URLs handed to Qdrant for a verification restore live this long.
PRESIGN_SECONDS = 3600

#: Reports a run's progress (its record so far) while it runs.
Progress = Callable[[dict[str, Any]], Awaitable[None]]


class RunFailed(Exception):
    """One collection of a run failed; the message is what the run records."""


@dataclass
class RunContext:
    """What a run needs: the schedule's name and spec, the bucket, the collections."""

    schedule: str
    spec: BackupScheduleSpec
    store: S3Store | None
    targets: list[Target]
    progress: Progress
    clients: dict[str, SnapshotClient] = field(default_factory=dict)
    points: dict[str, PortableQdrant] = field(default_factory=dict)

    async def close(self) -> None:
        """Close every Qdrant client the run opened."""
        for client in self.clients.values():
            await client.__aexit__(None, None, None)
        for points in self.points.values():
            await points.close()


def rfc3339(moment: datetime) -> str:
    """UTC, seconds precision, Z suffix (what Kubernetes writes)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_record(plan: RunPlan, now: datetime) -> dict[str, Any]:
    """A run's status record as it starts."""
    return {
        "name": plan.name,
        "trigger": plan.trigger,
        "scheduledTime": rfc3339(plan.slot),
        "startTime": rfc3339(now),
        "phase": "Running",
        "attempt": plan.attempt,
        "collections": [],
    }


async def execute_run(run: RunContext, plan: RunPlan, now: datetime) -> dict[str, Any]:
    """Run one backup to its end; returns its final record (phase Succeeded, Failed or PartiallyFailed)."""
    record = new_record(plan, now)
    began = time.monotonic()
    await run.progress(record)
    s3 = run.spec.destination.s3
    if s3 is not None and run.store is not None:
        # A run killed mid-upload, or whose abort failed too, may have left an unfinished upload:
        # abort every one of this schedule (one run of a schedule at a time, so none is live).
        with contextlib.suppress(S3Error):
            await run.store.abort_open_uploads(schedule_prefix(s3, run.schedule))
    results = []
    for target in run.targets:
        results.append(await _one(run, plan, target, record))
        record["collections"] = results
    failed = [r for r in results if r.get("error")]
    if not results:
        record["phase"], record["message"] = "Failed", "no QdrantCollection matched spec.collections"
    elif not failed:
        record["phase"] = "Succeeded"
        record["message"] = f"{len(results)} collection(s) backed up"
    else:
        record["phase"] = "Failed" if len(failed) == len(results) else "PartiallyFailed"
        record["message"] = "; ".join(f"{r['name']}: {r['error']}" for r in failed)[:4000]
    # The pass's clock plus what the run took (tests drive the pass with a fake clock).
    record["completionTime"] = rfc3339(now + timedelta(seconds=time.monotonic() - began))
    if s3 is not None and run.store is not None:
        key = run_prefix(s3, run.schedule, plan.name) + MANIFEST
        try:
            await run.store.put_json(key, manifest(run, record))
            record["manifest"] = key
        except S3Error as exc:
            # Without a manifest the run's objects are never listed as a backup; retention
            # deletes them as an interrupted run's leftovers.
            record["phase"] = "Failed"
            record["message"] = f"manifest not written: {exc}"[:4000]
    return record


def manifest(run: RunContext, record: dict[str, Any]) -> dict[str, Any]:
    """The run's manifest in the bucket: the source of truth for restores and retention."""
    return {
        "apiVersion": API_VERSION,
        "kind": "BackupManifest",
        "schedule": run.schedule,
        "format": run.spec.format,
        **{k: v for k, v in record.items() if k != "manifest"},
    }


def _client(run: RunContext, target: Target) -> SnapshotClient:
    assert target.endpoint is not None
    key = target.endpoint.url
    if key not in run.clients:
        run.clients[key] = SnapshotClient(target.endpoint)
    return run.clients[key]


async def _one(run: RunContext, plan: RunPlan, target: Target, record: dict[str, Any]) -> dict[str, Any]:
    started = time.monotonic()
    result: dict[str, Any] = {"name": target.name, "collection": target.collection}
    if target.error is not None or target.endpoint is None:
        return {**result, "error": target.error or "no endpoint"}
    try:
        if run.spec.format == "portable":
            await _portable_to_store(run, plan, target, result, record)
        else:
            await _snapshot_to_store(run, plan, target, _client(run, target), result, record)
    except (RunFailed, SnapshotError, S3Error, PortableFormatError) as exc:
        result["error"] = str(exc)[:4000]
    except (UnexpectedResponse, ResponseHandlingException, httpx.HTTPError) as exc:
        # Qdrant's errors through qdrant-client (after its retries) in a portable run.
        result["error"] = f"{type(exc).__name__}: {exc}"[:4000]
    result["durationSeconds"] = round(time.monotonic() - started, 3)
    return result


async def _snapshot_to_store(
    run: RunContext,
    plan: RunPlan,
    target: Target,
    qdrant: SnapshotClient,
    result: dict[str, Any],
    record: dict[str, Any],
) -> None:
    result["points"] = await qdrant.count(target.collection)
    info = await qdrant.create(target.collection)
    result["snapshot"] = info.name
    s3 = run.spec.destination.s3
    if s3 is None or run.store is None:  # destination.qdrant: the node keeps it
        result["size"], result["sha256"] = info.size, info.checksum
        return
    key = run_prefix(s3, run.schedule, plan.name) + f"{target.name}.snapshot"
    try:
        record["phase"] = "Uploading"
        await run.progress(record)
        async with qdrant.download(target.collection, info.name) as chunks:
            uploaded = await run.store.upload_stream(key, chunks)
        result.update(key=key, size=uploaded.size, sha256=uploaded.sha256)
        if info.checksum and uploaded.sha256 != info.checksum:
            await run.store.delete_keys([key])
            raise RunFailed(f"SHA-256 of the upload {uploaded.sha256} differs from Qdrant's {info.checksum}")
        stored = await run.store.size(key)
        if stored != uploaded.size:
            raise RunFailed(f"the bucket holds {stored} bytes of {key}, {uploaded.size} were sent")
    finally:
        # A left-over snapshot on the node costs disk, not correctness.
        with contextlib.suppress(SnapshotError):
            await qdrant.delete(target.collection, info.name)
    if run.spec.verify:
        record["phase"] = "Verifying"
        await run.progress(record)
        await verify(
            run.store, qdrant, key, uploaded.sha256, result["points"], scratch_name(plan.name, target)
        )
        result["verified"] = True


def _points(run: RunContext, target: Target) -> PortableQdrant:
    assert target.endpoint is not None
    key = target.endpoint.url
    if key not in run.points:
        run.points[key] = PortableQdrant(target.endpoint)
    return run.points[key]


async def _portable_to_store(
    run: RunContext, plan: RunPlan, target: Target, result: dict[str, Any], record: dict[str, Any]
) -> None:
    """Scroll the collection into the bucket (parts, then its manifest), optionally verify it."""
    s3 = run.spec.destination.s3
    if s3 is None or run.store is None:
        raise RunFailed("format portable needs destination.s3")
    qdrant = _points(run, target)
    result["points"] = await qdrant.count(target.collection)
    record["phase"] = "Uploading"
    await run.progress(record)
    prefix = portable_prefix(run_prefix(s3, run.schedule, plan.name), target.name)
    exported = await export_collection(run.store, qdrant, target.collection, prefix)
    result.update(key=exported.key, size=exported.size, sha256=exported.sha256, points=exported.points)
    if run.spec.verify:
        record["phase"] = "Verifying"
        await run.progress(record)
        scratch = scratch_name(plan.name, target)
        try:
            try:
                restored = await import_collection(
                    run.store, qdrant, exported.key, exported.sha256, scratch, "verification"
                )
                await finish_import(qdrant, scratch)
            except (PortableFormatError, S3Error) as exc:
                raise RunFailed(f"verification restore failed: {exc}") from None
            counted = await qdrant.count(scratch)
            if restored != exported.points or counted != exported.points:
                raise RunFailed(f"verification restored {counted} points, the backup holds {exported.points}")
        finally:
            if await qdrant.exists(scratch):
                await qdrant.delete_collection(scratch)
        result["verified"] = True


def scratch_name(run_name: str, target: Target) -> str:
    """The scratch collection a verification restores into."""
    return f"qco-verify-{run_name}-{target.collection}"[:255]


async def verify(
    store: S3Store, qdrant: SnapshotClient, key: str, sha256: str, points: int, scratch: str
) -> None:
    """Restore the stored object into `scratch` (Qdrant checks the SHA-256), compare the count, delete it."""
    url = await store.presigned_get(key, PRESIGN_SECONDS)
    try:
        try:
            await qdrant.recover(scratch, url, sha256)
        except SnapshotError as exc:
            raise RunFailed(f"verification restore failed: {exc}") from None
        restored = await qdrant.count(scratch)
        if restored != points:
            raise RunFailed(f"verification restored {restored} points, the collection had {points}")
    finally:
        if await qdrant.exists(scratch):
            await qdrant.delete_collection(scratch)
