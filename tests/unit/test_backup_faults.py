"""S3 answering 500s mid-upload, through a fault proxy in front of moto's server: a transient 500 is
retried and the object is whole; persistent 500s on a part or on the completion fail the upload
with no object and no open multipart upload; when even the abort fails, the next run aborts the
leftover and succeeds; a run whose manifest cannot be written is Failed and never listed."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from qdrant_client import QdrantClient, models

from qco.api.backup import BackupScheduleSpec
from qco.clients.qdrant import Endpoint
from qco.clients.s3 import S3Error, S3Location, S3Store
from qco.plan.backup_schedule import RunPlan
from qco.reconcile.backup_run import RunContext, execute_run
from qco.reconcile.backup_targets import Target
from tests.plugins.s3_fault_proxy import S3FaultProxy
from tests.plugins.s3_server import ACCESS_KEY, REGION, SECRET_KEY, S3Server, s3_fixture

BUCKET = "qco-faults"
MIB = 1 << 20


s3 = s3_fixture(BUCKET)


@pytest.fixture
def proxy(s3: S3Server) -> Iterator[S3FaultProxy]:
    running = S3FaultProxy(s3.url).start()
    try:
        yield running
    finally:
        running.stop()


def store(url: str) -> S3Store:
    return S3Store(S3Location(BUCKET, url, REGION, True, ACCESS_KEY, SECRET_KEY))


def data() -> list[bytes]:
    return [bytes([n]) * (3 * MIB) for n in range(4)]  # 12 MiB: parts of 5, 5 and 2 MiB


async def stream(chunks: list[bytes]) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


async def test_a_transient_500_on_a_part_is_retried_and_the_object_is_whole(
    s3: S3Server, proxy: S3FaultProxy
) -> None:
    proxy.fail("PUT", "partNumber=2", calls=1)
    uploaded = await store(proxy.url).upload_stream("t/whole.bin", stream(data()), part_bytes=5 * MIB)
    body = s3.client().get_object(Bucket=BUCKET, Key="t/whole.bin")["Body"].read()
    assert body == b"".join(data())
    assert uploaded.sha256 == hashlib.sha256(body).hexdigest()
    assert proxy.count("PUT", "partNumber=2", status=500) == 1
    assert proxy.count("PUT", "partNumber=2", status=200) == 1
    assert s3.open_uploads(BUCKET) == []


@pytest.mark.parametrize(
    ("method", "query"),
    [("PUT", "partNumber=2"), ("POST", "uploadId=")],  # the second part; the completion
    ids=["part", "complete"],
)
async def test_persistent_500s_mid_upload_leave_no_object_and_no_open_upload(
    s3: S3Server, proxy: S3FaultProxy, method: str, query: str
) -> None:
    proxy.fail(method, query, calls=100)
    with pytest.raises(S3Error, match="InternalError"):
        await store(proxy.url).upload_stream(f"f/{method}.bin", stream(data()), part_bytes=5 * MIB)
    assert s3.keys(BUCKET, f"f/{method}") == []
    assert s3.open_uploads(BUCKET) == []
    assert proxy.count("DELETE", "uploadId=", status=204) == 1  # aborted once
    proxy.clear()
    await store(proxy.url).upload_stream(f"f/{method}.bin", stream(data()), part_bytes=5 * MIB)
    assert s3.keys(BUCKET, f"f/{method}") == [f"f/{method}.bin"]


def spec() -> BackupScheduleSpec:
    return BackupScheduleSpec.model_validate(
        {
            "schedule": "0 3 * * *",
            "collections": {"names": ["docs"]},
            "destination": {
                "s3": {
                    "bucket": BUCKET,
                    "prefix": "runs",
                    "forcePathStyle": True,
                    "accessKeyId": {"name": "s3", "key": "id"},
                    "secretAccessKey": {"name": "s3", "key": "secret"},
                }
            },
        }
    )


async def no_progress(record: dict[str, Any]) -> None:
    del record


async def run_once(s3_url: str, qdrant_url: str, name: str, hour: int) -> dict[str, Any]:
    run = RunContext(
        "nightly", spec(), store(s3_url), [Target("docs", "docs", Endpoint(qdrant_url))], no_progress
    )
    slot = datetime(2026, 11, 29, hour, 0, tzinfo=UTC)
    try:
        return await execute_run(run, RunPlan(name, slot, "Scheduled"), slot)
    finally:
        await run.close()


async def test_a_leftover_upload_whose_abort_failed_is_aborted_by_the_next_run(
    s3: S3Server, proxy: S3FaultProxy, qdrant_server: Any
) -> None:
    client = QdrantClient(url=qdrant_server.url, check_compatibility=False)
    client.create_collection("docs", vectors_config=models.VectorParams(size=4, distance=models.Distance.DOT))
    client.upsert("docs", [models.PointStruct(id=i, vector=[1.0, i, 0, 0]) for i in range(9)], wait=True)
    client.close()
    # Every part upload and every abort answers 500: the failed run's upload stays open.
    proxy.fail("PUT", "partNumber=", calls=100)
    proxy.fail("DELETE", "uploadId=", calls=100)
    failed = await run_once(proxy.url, qdrant_server.url, "nightly-20261129-0100", 1)
    assert failed["phase"] == "Failed", failed
    assert "InternalError" in failed["collections"][0]["error"]
    assert s3.open_uploads(BUCKET) == ["runs/nightly/nightly-20261129-0100/docs.snapshot"]
    assert s3.keys(BUCKET, "runs/nightly/nightly-20261129-0100/docs") == []
    manifest = s3.client().get_object(Bucket=BUCKET, Key="runs/nightly/nightly-20261129-0100/manifest.json")
    assert b'"phase": "Failed"' in manifest["Body"].read()  # listed, but as a failure

    proxy.clear()
    record = await run_once(proxy.url, qdrant_server.url, "nightly-20261129-0200", 2)
    assert record["phase"] == "Succeeded", record["message"]
    assert s3.open_uploads(BUCKET) == []
    assert s3.keys(BUCKET, "runs/nightly/nightly-20261129-0200/") == [
        "runs/nightly/nightly-20261129-0200/docs.snapshot",
        "runs/nightly/nightly-20261129-0200/manifest.json",
    ]

    # The manifest cannot be written: the run is Failed and nothing lists it as a backup.
    proxy.fail("PUT", "manifest.json", calls=100)
    lost = await run_once(proxy.url, qdrant_server.url, "nightly-20261129-0300", 3)
    assert lost["phase"] == "Failed" and lost["message"].startswith("manifest not written"), lost
    assert "manifest" not in lost
    assert s3.keys(BUCKET, "runs/nightly/nightly-20261129-0300/") == [
        "runs/nightly/nightly-20261129-0300/docs.snapshot"  # an orphan: retention deletes it
    ]
