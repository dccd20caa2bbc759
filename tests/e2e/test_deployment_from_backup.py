"""Restore and switch end to end: `qco sandbox` with moto's S3 server. A BackupSchedule backs up a
collection to the bucket (both formats); points written after the backup stay out; a
CollectionDeployment with `source.backup` restores the run into a revision through its child's
restoreFrom, validates and switches, and the alias then serves exactly the backed-up points."""

from __future__ import annotations

import copy

import pytest
from qdrant_client import models

from qco.plan.ownership import parse_owner_stamp
from tests.e2e.backup_helpers import example, finished, run_named, wait_schedule
from tests.e2e.conftest import Sandbox, collection_manifest
from tests.e2e.deployments import alias_target, deployment_manifest, wait_complete
from tests.plugins.s3_server import S3Server, s3_fixture

BUCKET = "qdrant-backups"
VECTORS = {"": {"size": 3, "distance": "Dot"}}


s3 = s3_fixture(BUCKET)


def every_point(sandbox: Sandbox, collection: str) -> list[tuple[str, list[float], str]]:
    """Every point (id, vector, payload) of a collection or alias, in id order."""
    records, _ = sandbox.qdrant().scroll(collection, limit=1000, with_vectors=True, with_payload=True)
    return sorted((str(r.id), list(r.vector), repr(sorted((r.payload or {}).items()))) for r in records)  # type: ignore[arg-type]


@pytest.mark.parametrize("backup_format", ["snapshot", "portable"])
def test_a_backup_in_the_bucket_is_restored_into_a_revision_and_served(
    sandbox: Sandbox, s3: S3Server, backup_format: str
) -> None:
    source = f"shelf-{backup_format}"
    sandbox.apply(collection_manifest(source, {"vectors": VECTORS}))
    sandbox.wait_ready(source)
    client = sandbox.qdrant()
    client.upsert(
        source,
        [
            models.PointStruct(id=i, vector=[1.0, i / 4, -0.5], payload={"n": i, "f": backup_format})
            for i in range(20)
        ],
        wait=True,
    )
    backed_up = every_point(sandbox, source)

    secret, schedule = copy.deepcopy(example("nightly-s3.yaml"))
    name = f"books-{backup_format}"
    schedule["metadata"]["name"] = name
    schedule["spec"].update(
        schedule="0 0 1 1 *", timeZone="UTC", format=backup_format, collections={"names": [source]}
    )
    schedule["spec"]["destination"]["s3"].update(
        endpoint=s3.url, prefix="e2e/restore-switch", region="us-east-1", forcePathStyle=True
    )
    sandbox.apply(secret)
    sandbox.apply(schedule)
    sandbox.kubectl("annotate", "--overwrite", f"backupschedule/{name}", "qco.dev/backup-now=now")
    obj = wait_schedule(sandbox, name, lambda o: finished(run_named(o, lambda r: r["trigger"] == "Manual")))
    run = run_named(obj, lambda r: r["trigger"] == "Manual")
    assert run is not None and run["phase"] == "Succeeded", run
    [entry] = run["collections"]
    assert entry["points"] == 20 and entry["key"].startswith(f"e2e/restore-switch/{name}/{run['name']}/")

    # Written after the backup: the restored revision must not have these.
    client.upsert(
        source, [models.PointStruct(id=99, vector=[0.0, 1.0, 0.0], payload={"late": True})], wait=True
    )

    alias = f"books-live-{backup_format}"
    sandbox.apply(
        deployment_manifest(
            alias,
            {
                "alias": alias,
                "template": {"vectors": VECTORS},
                "source": {"backup": {"schedule": name, "run": "latest"}},
                "validation": {"minPointRatio": 1.0},
            },
        )
    )
    deployed = wait_complete(sandbox, alias)
    record = deployed["status"]["revisions"][-1]
    assert record["source"] == "backup"
    assert record["sourceSnapshot"] == f"backupschedule:{name}/{run['name']}/{source}"
    assert record["sourceChecksum"] == entry["sha256"]
    assert record.get("sourceCollection") is None  # no staging collection to copy from
    assert (deployed["status"].get("progress") or {}).get("copied") is None  # nothing was copied
    assert alias_target(client, alias) == record["collection"]
    assert every_point(sandbox, alias) == backed_up

    child = sandbox.get(record["child"])
    assert child["spec"]["restoreFrom"] == {"backupSchedule": name, "run": run["name"], "collection": source}
    restored = next(c for c in child["status"]["conditions"] if c["type"] == "Restored")
    assert (restored["status"], restored["reason"]) == ("True", "RestoredFromBackup")
    stamp = parse_owner_stamp(client.get_collection(record["collection"]).config.metadata)
    assert stamp is not None  # the restored collection was adopted by its child
    owner = ("QdrantCollection", record["child"], child["metadata"]["uid"])
    assert (stamp.kind, stamp.name, stamp.uid) == owner
