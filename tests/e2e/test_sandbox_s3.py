"""`qco sandbox --s3`: the sandbox serves an S3 bucket and a Secret with its keys, so a laptop can
run the backup and restore of docs/backups.md: a backup-now run lands in the bucket with the
SHA-256 status reports, and a new collection restored from it holds the same points."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from qdrant_client import models

from qco.cli.sandbox import S3_BUCKET, S3_SECRET
from tests.e2e.backup_helpers import run_named, wait_schedule
from tests.e2e.conftest import Sandbox, collection_manifest, start_sandbox, stop_sandbox


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    running = start_sandbox(tmp_path_factory.mktemp("sandbox-s3"), s3=True)
    try:
        yield running
    finally:
        assert stop_sandbox(running) == 0


def bucket(sandbox: Sandbox) -> Any:
    """A boto3 client with the keys of the Secret the sandbox applied (read back with kubectl)."""
    data = json.loads(sandbox.kubectl("get", "secret", S3_SECRET, "-o", "json").stdout)["data"]
    key_id, secret = (
        base64.b64decode(data[k]).decode() for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
    )
    return boto3.session.Session().client(
        "s3",
        endpoint_url=sandbox.s3_url,
        region_name="us-east-1",
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
        config=Config(s3={"addressing_style": "path"}),
    )


def test_a_backup_to_the_sandbox_bucket_and_a_restore_from_it(sandbox: Sandbox) -> None:
    assert sandbox.s3_url is not None and sandbox.s3_url.startswith("http://127.0.0.1:")
    labels = json.loads(sandbox.kubectl("get", "secret", S3_SECRET, "-o", "json").stdout)["metadata"][
        "labels"
    ]
    assert labels == {"qco.dev/credentials": "true"}

    vectors = {"": {"size": 4, "distance": "Cosine"}}
    sandbox.apply(collection_manifest("docs", {"vectors": vectors}))
    sandbox.wait_ready("docs")
    client = sandbox.qdrant()
    points = [models.PointStruct(id=i, vector=[1.0, i, 0.5, 0.25], payload={"n": i}) for i in range(25)]
    client.upsert("docs", points, wait=True)

    creds = {"name": S3_SECRET}
    sandbox.apply(
        {
            "apiVersion": "qco.dev/v1alpha1",
            "kind": "BackupSchedule",
            "metadata": {"name": "nightly", "namespace": "default"},
            "spec": {
                "schedule": "0 3 * * *",
                "collections": {"names": ["docs"]},
                "destination": {
                    "s3": {
                        "endpoint": sandbox.s3_url,
                        "bucket": S3_BUCKET,
                        "region": "us-east-1",
                        "forcePathStyle": True,
                        "accessKeyId": {**creds, "key": "AWS_ACCESS_KEY_ID"},
                        "secretAccessKey": {**creds, "key": "AWS_SECRET_ACCESS_KEY"},
                    }
                },
            },
        }
    )
    sandbox.kubectl("annotate", "backupschedule/nightly", "qco.dev/backup-now=demo")
    obj = wait_schedule(
        sandbox,
        "nightly",
        lambda o: (run_named(o, lambda r: r["trigger"] == "Manual") or {}).get("phase") == "Succeeded",
    )
    run = run_named(obj, lambda r: r["trigger"] == "Manual")
    assert run is not None
    [entry] = run["collections"]
    body = bucket(sandbox).get_object(Bucket=S3_BUCKET, Key=entry["key"])["Body"].read()
    assert hashlib.sha256(body).hexdigest() == entry["sha256"]

    sandbox.apply(
        collection_manifest(
            "docs-restored",
            {"vectors": vectors, "restoreFrom": {"backupSchedule": "nightly", "run": run["name"]}},
        )
    )
    sandbox.wait_ready("docs-restored", timeout=120)
    restored, _ = client.scroll("docs-restored", limit=100, with_vectors=True, with_payload=True)
    original, _ = client.scroll("docs", limit=100, with_vectors=True, with_payload=True)
    assert [(p.id, p.vector, p.payload) for p in restored] == [(p.id, p.vector, p.payload) for p in original]
    assert len(restored) == 25
