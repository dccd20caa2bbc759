"""A backup run against the Qdrant stand-in and moto's S3 server, without Kubernetes: the snapshot
streamed into the bucket with Qdrant's SHA-256, the node's copy deleted, the manifest written last,
verification catching a corrupted object, retention deleting exactly the expected objects, and a
failed upload leaving no object and no open multipart upload."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from qdrant_client import QdrantClient, models

from qco.api.backup import BackupScheduleSpec
from qco.clients.qdrant import Endpoint
from qco.clients.s3 import S3Error, S3Location, S3Store
from qco.clients.snapshot_stream import SnapshotClient
from qco.plan.backup_schedule import RunPlan, Schedule
from qco.reconcile.backup_retention import apply_retention
from qco.reconcile.backup_run import RunContext, execute_run, verify
from qco.reconcile.backup_targets import Target
from tests.plugins.s3_server import ACCESS_KEY, REGION, SECRET_KEY, S3Server, s3_fixture

BUCKET = "qco-backups"


s3 = s3_fixture(BUCKET)


def spec(**extra: Any) -> BackupScheduleSpec:
    return BackupScheduleSpec.model_validate(
        {
            "schedule": "0 3 * * *",
            "collections": {"names": ["docs"]},
            "destination": {
                "s3": {
                    "bucket": BUCKET,
                    "prefix": "prod/search",
                    "forcePathStyle": True,
                    "accessKeyId": {"name": "s3", "key": "id"},
                    "secretAccessKey": {"name": "s3", "key": "secret"},
                }
            },
            **extra,
        }
    )


def store(s3: S3Server) -> S3Store:
    return S3Store(S3Location(BUCKET, s3.url, REGION, True, ACCESS_KEY, SECRET_KEY))


def fill(url: str, name: str, points: int) -> None:
    client = QdrantClient(url=url, check_compatibility=False)
    client.create_collection(
        name, vectors_config=models.VectorParams(size=4, distance=models.Distance.COSINE)
    )
    client.upsert(
        name,
        [models.PointStruct(id=i, vector=[i + 1.0, 1.0, 0.5, 0.25], payload={"n": i}) for i in range(points)],
        wait=True,
    )
    client.close()


async def no_progress(record: dict[str, Any]) -> None:
    del record


async def run_once(s3: S3Server, url: str, name: str, **extra: Any) -> dict[str, Any]:
    run = RunContext(
        "nightly", spec(**extra), store(s3), [Target("docs", "docs", Endpoint(url))], no_progress
    )
    slot = datetime(2026, 11, 29, 2, 0, tzinfo=UTC)
    try:
        return await execute_run(run, RunPlan(name, slot, "Scheduled"), slot)
    finally:
        for client in run.clients.values():
            await client.__aexit__(None, None, None)


async def test_a_run_streams_the_snapshot_with_qdrants_checksum(s3: S3Server, qdrant_server: Any) -> None:
    fill(qdrant_server.url, "docs", 25)
    record = await run_once(s3, qdrant_server.url, "nightly-20261129-0300", verify=True)
    assert record["phase"] == "Succeeded", record
    [entry] = record["collections"]
    key = "prod/search/nightly/nightly-20261129-0300/docs.snapshot"
    assert entry["key"] == key
    assert entry["points"] == 25
    assert entry["verified"] is True
    body = s3.client().get_object(Bucket=BUCKET, Key=key)["Body"].read()
    assert hashlib.sha256(body).hexdigest() == entry["sha256"]
    assert len(body) == entry["size"]
    manifest = await store(s3).get_json("prod/search/nightly/nightly-20261129-0300/manifest.json")
    assert manifest["phase"] == "Succeeded"
    assert manifest["collections"][0]["sha256"] == entry["sha256"]
    # The node's snapshot is gone, the scratch collection too, and no upload is left open.
    async with SnapshotClient(Endpoint(qdrant_server.url)) as qdrant:
        assert await qdrant.list("docs") == []
        assert not await qdrant.exists("qco-verify-nightly-20261129-0300-docs")
    assert s3.open_uploads(BUCKET) == []
    # Exactly one snapshot was created and one downloaded for this run.
    assert qdrant_server.admin.count("POST", "/collections/{collection_name}/snapshots") == 1
    assert qdrant_server.admin.count("GET", "/collections/{collection_name}/snapshots/{snapshot_name}") == 1


async def test_verification_catches_a_corrupted_object(s3: S3Server, qdrant_server: Any) -> None:
    fill(qdrant_server.url, "docs", 10)
    record = await run_once(s3, qdrant_server.url, "nightly-20261128-0300")
    entry = record["collections"][0]
    body = bytearray(s3.client().get_object(Bucket=BUCKET, Key=entry["key"])["Body"].read())
    body[len(body) // 2] ^= 0xFF
    s3.client().put_object(Bucket=BUCKET, Key=entry["key"], Body=bytes(body))
    async with SnapshotClient(Endpoint(qdrant_server.url)) as qdrant:
        with pytest.raises(Exception, match="verification restore failed"):
            await verify(store(s3), qdrant, entry["key"], entry["sha256"], 10, "scratch")
        assert not await qdrant.exists("scratch")


async def test_a_failed_upload_leaves_no_object_and_no_open_upload(s3: S3Server) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b"x" * (5 << 20)
        yield b"y" * (5 << 20)
        raise ConnectionError("Qdrant went away mid-download")

    with pytest.raises(ConnectionError):
        await store(s3).upload_stream("broken/docs.snapshot", chunks(), part_bytes=5 << 20)
    assert s3.keys(BUCKET, "broken/") == []
    assert s3.open_uploads(BUCKET) == []


async def test_a_missing_bucket_fails_with_the_bucket_named(s3: S3Server) -> None:
    missing = S3Store(S3Location("no-such-bucket", s3.url, REGION, True, ACCESS_KEY, SECRET_KEY))

    async def chunks() -> AsyncIterator[bytes]:
        yield b"data"

    with pytest.raises(S3Error, match="NoSuchBucket"):
        await missing.upload_stream("k", chunks())


async def test_retention_deletes_exactly_the_expected_runs(s3: S3Server) -> None:
    bucket = store(s3)
    base = "prod/search/keep/"
    now = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
    for day in range(6):
        slot = now.replace(hour=3) - timedelta(days=day)
        name = f"keep-{slot:%Y%m%d-%H%M}"
        phase = "Failed" if day == 0 else "Succeeded"
        await bucket.put_json(f"{base}{name}/docs.snapshot", {"data": day})
        await bucket.put_json(
            f"{base}{name}/manifest.json", {"scheduledTime": f"{slot:%Y-%m-%dT%H:%M:%SZ}", "phase": phase}
        )
    # An interrupted run: data but no manifest.
    await bucket.put_json(f"{base}keep-orphan/docs.snapshot", {"data": "partial"})
    policy = spec(retention={"keepLast": 2})
    deleted = await apply_retention(bucket, policy, "keep", Schedule.parse("0 3 * * *"), now)
    assert sorted(deleted) == ["keep-20261124-0300", "keep-20261125-0300", "keep-20261126-0300"]
    assert s3.keys(BUCKET, base) == sorted(
        f"{base}{name}/{leaf}"
        for name in ("keep-20261127-0300", "keep-20261128-0300", "keep-20261129-0300")
        for leaf in ("docs.snapshot", "manifest.json")
    )
