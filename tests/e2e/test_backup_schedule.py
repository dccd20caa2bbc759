"""BackupSchedule end to end: `qco sandbox` with moto's S3 server. A scheduled run and backup-now
runs appear in status and in the bucket with matching SHA-256; retention deletes exactly the
expected objects; verification catches an object corrupted in S3 and reports the run Failed."""

from __future__ import annotations

import copy
import hashlib
import json
import re
from typing import Any

import pytest
from qdrant_client import models

from tests.e2e.backup_helpers import example, finished, run_named, runs, wait_schedule
from tests.e2e.conftest import Sandbox, collection_manifest
from tests.plugins.s3_server import S3Server, s3_fixture

BUCKET = "qdrant-backups"
PREFIX = "e2e/search/nightly/"


s3 = s3_fixture(BUCKET)


def schedule_manifest(s3: S3Server, **spec: Any) -> list[dict[str, Any]]:
    """examples/backups/nightly-s3.yaml pointed at moto, with `spec` overrides."""
    docs = copy.deepcopy(example("nightly-s3.yaml"))
    schedule = docs[1]
    dest = schedule["spec"]["destination"]["s3"]
    dest.update(endpoint=s3.url, prefix="e2e/search", region="us-east-1", forcePathStyle=True)
    schedule["spec"].update(spec)
    return docs


def bucket_sha(s3: S3Server, key: str) -> str:
    return hashlib.sha256(s3.client().get_object(Bucket=BUCKET, Key=key)["Body"].read()).hexdigest()


@pytest.fixture(scope="module")
def docs(sandbox: Sandbox) -> str:
    sandbox.apply(collection_manifest("docs", {"vectors": {"": {"size": 4, "distance": "Cosine"}}}))
    sandbox.wait_ready("docs")
    client = sandbox.qdrant()
    client.upsert(
        "docs",
        [models.PointStruct(id=i, vector=[1.0, i, 0.5, 0.25], payload={"n": i}) for i in range(40)],
        wait=True,
    )
    return "docs"


def backup_now(sandbox: Sandbox, value: str) -> None:
    sandbox.kubectl("annotate", "--overwrite", "backupschedule/nightly", f"qco.dev/backup-now={value}")


def test_scheduled_and_backup_now_runs_land_in_status_and_bucket(
    sandbox: Sandbox, s3: S3Server, docs: str
) -> None:
    for doc in schedule_manifest(s3, schedule="* * * * *", timeZone="UTC", retention={"keepLast": 2}):
        sandbox.apply(doc)
    backup_now(sandbox, "first")
    obj = wait_schedule(
        sandbox, "nightly", lambda o: finished(run_named(o, lambda r: r["trigger"] == "Manual"))
    )
    manual = run_named(obj, lambda r: r["trigger"] == "Manual")
    assert manual is not None
    assert manual["phase"] == "Succeeded", manual
    assert re.fullmatch(r"nightly-now-\d{8}-\d{6}", manual["name"])
    [entry] = manual["collections"]
    assert entry["points"] == 40 and entry["verified"] is True
    assert bucket_sha(s3, entry["key"]) == entry["sha256"]
    assert obj["status"]["backupNow"] == "first"
    assert obj["status"]["nextScheduleTime"]

    # The minute's slot runs on its own, named after the slot.
    obj = wait_schedule(
        sandbox,
        "nightly",
        lambda o: finished(run_named(o, lambda r: r["trigger"] == "Scheduled")),
        timeout=100,
    )
    scheduled = run_named(obj, lambda r: r["trigger"] == "Scheduled")
    assert scheduled is not None and scheduled["phase"] == "Succeeded", scheduled
    assert re.fullmatch(r"nightly-\d{8}-\d{4}", scheduled["name"])
    assert obj["status"]["lastScheduleTime"] == scheduled["scheduledTime"]
    assert obj["status"]["lastSuccessfulTime"]
    key = scheduled["collections"][0]["key"]
    assert bucket_sha(s3, key) == scheduled["collections"][0]["sha256"]
    assert f"{PREFIX}{scheduled['name']}/manifest.json" in s3.keys(BUCKET, PREFIX)

    # Suspend so no further slot interferes, then a third run: keepLast 2 deletes the oldest run.
    sandbox.kubectl("patch", "backupschedule/nightly", "--type=merge", "-p", '{"spec":{"suspend":true}}')
    backup_now(sandbox, "second")
    obj = wait_schedule(sandbox, "nightly", lambda o: o["status"].get("backupNow") == "second")
    names = [r["name"] for r in runs(obj) if r["phase"] == "Succeeded"]
    assert manual["name"] not in names
    kept_runs = sorted({k[len(PREFIX) :].split("/")[0] for k in s3.keys(BUCKET, PREFIX)})
    assert len(kept_runs) == 2 and manual["name"] not in kept_runs
    assert scheduled["name"] in kept_runs
    assert s3.open_uploads(BUCKET) == []
    table = sandbox.kubectl("get", "qbs", "nightly").stdout
    assert table.split("\n")[0].split() == [
        "NAME",
        "SCHEDULE",
        "SUSPEND",
        "LAST",
        "SUCCESS",
        "NEXT",
        "READY",
        "AGE",
    ]


def test_verify_catches_an_object_corrupted_in_s3(sandbox: Sandbox, s3: S3Server, docs: str) -> None:
    # Hold the verification restore for a few seconds so the test can corrupt the object first.
    sandbox.admin.add_fault(r"/snapshots/recover$", "latency", latency_ms=4000, calls=1)
    backup_now(sandbox, "corrupt")
    obj = wait_schedule(
        sandbox,
        "nightly",
        lambda o: (run_named(o, lambda r: r["trigger"] == "Manual") or {}).get("phase") == "Verifying",
    )
    run = run_named(obj, lambda r: r["trigger"] == "Manual")
    assert run is not None
    key = f"{PREFIX}{run['name']}/docs.snapshot"
    body = bytearray(s3.client().get_object(Bucket=BUCKET, Key=key)["Body"].read())
    body[len(body) // 2] ^= 0xFF
    s3.client().put_object(Bucket=BUCKET, Key=key, Body=bytes(body))
    obj = wait_schedule(sandbox, "nightly", lambda o: o["status"].get("backupNow") == "corrupt")
    failed = run_named(obj, lambda r: r["name"] == run["name"])
    assert failed is not None and failed["phase"] == "Failed", failed
    assert "verification restore failed" in failed["collections"][0]["error"]
    ready = next(c for c in obj["status"]["conditions"] if c["type"] == "Ready")
    assert (ready["status"], ready["reason"]) == ("False", "BackupFailed")
    assert not sandbox.qdrant().collection_exists(f"qco-verify-{run['name']}-docs")


def all_points(sandbox: Sandbox, collection: str) -> list[tuple[Any, Any, Any]]:
    points, _ = sandbox.qdrant().scroll(collection, limit=1000, with_vectors=True, with_payload=True)
    return sorted((p.id, p.vector, p.payload) for p in points)


def test_restore_from_the_schedule_and_from_a_url_reproduces_every_point(
    sandbox: Sandbox, s3: S3Server, docs: str
) -> None:
    vectors = {"": {"size": 4, "distance": "Cosine"}}
    restore = {"backupSchedule": "nightly", "run": "latest", "collection": "docs"}
    [manifest] = example("restore.yaml")
    assert manifest["spec"]["restoreFrom"] == restore
    sandbox.apply(manifest)
    obj = sandbox.wait_ready("docs-restored")
    restored = next(c for c in obj["status"]["conditions"] if c["type"] == "Restored")
    assert (restored["status"], restored["reason"]) == ("True", "RestoredFromBackup")
    assert all_points(sandbox, "docs-restored") == all_points(sandbox, "docs")
    assert len(all_points(sandbox, "docs")) == 40

    # A URL with its checksum (here a presigned URL of the newest good backup).
    schedule = wait_schedule(sandbox, "nightly", lambda o: True)
    good = run_named(schedule, lambda r: r["phase"] == "Succeeded")
    assert good is not None
    entry = good["collections"][0]
    url = s3.client().generate_presigned_url(
        "get_object", Params={"Bucket": BUCKET, "Key": entry["key"]}, ExpiresIn=600
    )
    sandbox.apply(
        collection_manifest(
            "docs-from-url", {"vectors": vectors, "restoreFrom": {"url": url, "checksum": entry["sha256"]}}
        )
    )
    sandbox.wait_ready("docs-from-url")
    assert all_points(sandbox, "docs-from-url") == all_points(sandbox, "docs")

    # Once the collection exists, restoreFrom is ignored, and status says so.
    sandbox.apply(collection_manifest("docs", {"vectors": vectors, "restoreFrom": restore}))
    obj = sandbox.wait_for(
        "docs", lambda o: any(c["type"] == "Restored" for c in o.get("status", {}).get("conditions", []))
    )
    ignored = next(c for c in obj["status"]["conditions"] if c["type"] == "Restored")
    assert (ignored["status"], ignored["reason"]) == ("False", "CollectionExists")
    assert len(all_points(sandbox, "docs")) == 40


def test_a_portable_backup_restores_every_point_exactly(sandbox: Sandbox, s3: S3Server) -> None:
    spec = {"vectors": {"dense": {"size": 3, "distance": "Dot"}}, "sparseVectors": {"sparse": {}}}
    sandbox.apply(collection_manifest("catalog", spec))
    sandbox.wait_ready("catalog")
    sandbox.qdrant().upsert(
        "catalog",
        [
            models.PointStruct(
                id=i if i % 2 else f"00000000-0000-0000-0000-{i:012d}",
                vector={
                    "dense": [i / 3, -1.5, 1 / (i + 7)],
                    "sparse": models.SparseVector(indices=[i, i + 100], values=[0.25, i / 9]),
                },
                payload={"n": i, "tags": ["a", f"t{i % 4}"], "deep": {"f": i / 7, "none": None}},
            )
            for i in range(30)
        ],
        wait=True,
    )
    [secret, schedule] = schedule_manifest(
        s3, schedule="0 0 1 1 *", format="portable", collections={"names": ["catalog"]}
    )
    schedule["metadata"]["name"] = "portable"
    del schedule["spec"]["retention"]
    sandbox.apply(secret)
    sandbox.apply(schedule)
    sandbox.kubectl("annotate", "--overwrite", "backupschedule/portable", "qco.dev/backup-now=p1")
    obj = wait_schedule(sandbox, "portable", lambda o: o.get("status", {}).get("backupNow") == "p1")
    run = run_named(obj, lambda r: r["trigger"] == "Manual")
    assert run is not None and run["phase"] == "Succeeded", run
    [entry] = run["collections"]
    assert (entry["points"], entry["verified"]) == (30, True)
    prefix = f"e2e/search/portable/{run['name']}/"
    assert entry["key"] == f"{prefix}catalog.portable/collection.json"
    assert bucket_sha(s3, entry["key"]) == entry["sha256"]
    assert s3.keys(BUCKET, prefix) == [
        f"{prefix}catalog.portable/collection.json",
        f"{prefix}catalog.portable/part-00000.jsonl.gz",
        f"{prefix}manifest.json",
    ]

    restore = {"backupSchedule": "portable", "run": run["name"], "collection": "catalog"}
    sandbox.apply(collection_manifest("catalog-restored", {**spec, "restoreFrom": restore}))
    obj = sandbox.wait_ready("catalog-restored")
    restored = next(c for c in obj["status"]["conditions"] if c["type"] == "Restored")
    assert (restored["status"], restored["reason"]) == ("True", "RestoredFromBackup")
    assert portable_points(sandbox, "catalog-restored") == portable_points(sandbox, "catalog")
    assert len(portable_points(sandbox, "catalog")) == 30


def portable_points(sandbox: Sandbox, collection: str) -> list[tuple[str, str, str]]:
    """Every point with ids, vectors (named, in name order) and payloads, comparable exactly."""
    points, _ = sandbox.qdrant().scroll(collection, limit=1000, with_vectors=True, with_payload=True)
    return sorted(
        (
            str(p.id),
            repr(sorted(p.vector.items()) if isinstance(p.vector, dict) else p.vector),
            json.dumps(p.payload, sort_keys=True),
        )
        for p in points
    )
