"""CollectionDeployment `source.backup` from a BackupSchedule that keeps its runs in a bucket, on the
deployment fakes: the run is resolved from the schedule's status, the revision's child carries
`restoreFrom` for exactly that run (the child restores its collection, as any QdrantCollection with
restoreFrom does), no fill copies anything, and the alias switches once validation passes."""

from __future__ import annotations

from typing import Any

from tests.unit.deployment_fakes import Deployment, deployment

TEMPLATE: dict[str, Any] = {"vectors": {"": {"size": 2, "distance": "Dot"}}}
BACKED_UP = {i: ([1.0, float(i)], {"from": "backup"}) for i in range(5)}
S3 = {"s3": {"endpoint": "http://s3", "bucket": "b", "accessKeyId": {"name": "s", "key": "k"}}}


def schedule(runs: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "metadata": {"name": "nightly", "namespace": "team"},
        "spec": {"destination": S3},
        "status": {"runs": runs},
    }


def run(name: str, phase: str, collection: str) -> dict[str, Any]:
    entry = {"name": "docs", "collection": collection, "key": f"p/{name}/docs.snapshot", "sha256": "cd" * 32}
    return {"name": name, "phase": phase, "collections": [entry]}


def restore_children(d: Deployment, bucket: dict[str, dict[Any, Any]], restored: set[str]) -> None:
    """What the child's restoreFrom does (reconcile/restore.py, tested with moto elsewhere): fill
    its collection once from the named run (the fake's settle_children created it empty)."""
    for (plural, _, _), child in d.objects.items.items():
        restore = (child.get("spec") or {}).get("restoreFrom") if plural == "qdrantcollections" else None
        name = str((child.get("spec") or {}).get("collectionName"))
        if restore is not None and name not in restored:
            d.store.collections[name] = dict(bucket[restore["run"]])
            restored.add(name)


async def passes(d: Deployment, bucket: dict[str, dict[Any, Any]], phase: str) -> None:
    restored: set[str] = set()
    for _ in range(20):
        await d.run()
        restore_children(d, bucket, restored)
        if d.status.get("phase") == phase:
            return
    raise AssertionError(f"never reached {phase}: {d.status}")


async def test_a_backup_in_a_bucket_is_restored_by_the_child_and_switched_to() -> None:
    d = deployment({"alias": "docs", "template": TEMPLATE, "validation": {"minPointRatio": 0.5}})
    await d.until("Complete")
    rev1 = d.status["activeCollection"]
    d.store.collections[rev1] = {i: ([float(i), 1.0], {"n": i}) for i in range(8)}
    runs = [
        run("nightly-3", "Failed", rev1),
        run("nightly-2", "Succeeded", rev1),
        run("nightly-1", "Succeeded", rev1),
    ]
    d.objects.items[("backupschedules", "team", "nightly")] = schedule(runs)
    d.apply(template={**TEMPLATE, "hnsw": {"m": 8}}, source={"backup": {"schedule": "nightly"}})
    bucket: dict[str, dict[Any, Any]] = {"nightly-2": BACKED_UP, "nightly-1": {0: ([0.0, 0.0], {})}}
    await passes(d, bucket, "Complete")
    rev2 = d.status["activeCollection"]
    record = d.status["revisions"][-1]
    child = d.objects.items[("qdrantcollections", "team", record["child"])]
    assert child["spec"]["restoreFrom"] == {
        "backupSchedule": "nightly",
        "run": "nightly-2",
        "collection": "docs",
    }
    assert rev2 != rev1 and d.gateway.aliases == {"docs": rev2}
    assert d.store.collections[rev2] == BACKED_UP
    assert d.store.upserts == 0 and d.store.recovered == []  # restored by the child, nothing copied
    assert record["sourceSnapshot"] == "backupschedule:nightly/nightly-2/docs"
    assert record["sourceChecksum"] == "cd" * 32 and record.get("sourceCollection") is None
    assert d.status["validation"]["passed"]
    assert child["spec"]["optimizers"] == {"indexingThreshold": 10000}  # back after the bulk restore


async def test_a_named_run_kept_only_in_the_bucket_is_restored_by_name() -> None:
    d = deployment({"alias": "docs", "template": TEMPLATE})
    await d.until("Complete")
    d.objects.items[("backupschedules", "team", "nightly")] = schedule([])
    d.apply(template={**TEMPLATE, "hnsw": {"m": 8}}, source={"backup": {"schedule": "nightly", "run": "old"}})
    await passes(d, {"old": BACKED_UP}, "Complete")
    child = d.objects.items[("qdrantcollections", "team", d.status["revisions"][-1]["child"])]
    # Status no longer lists it: the restore reads the run's manifest (its only collection).
    assert child["spec"]["restoreFrom"] == {"backupSchedule": "nightly", "run": "old"}
    assert d.store.collections[d.status["activeCollection"]] == BACKED_UP


async def test_no_succeeded_run_in_the_bucket_is_stalled_and_the_alias_stays() -> None:
    d = deployment({"alias": "docs", "template": TEMPLATE})
    await d.until("Complete")
    rev1 = d.status["activeCollection"]
    d.objects.items[("backupschedules", "team", "nightly")] = schedule([run("nightly-1", "Failed", rev1)])
    d.apply(template={**TEMPLATE, "hnsw": {"m": 8}}, source={"backup": {"schedule": "nightly"}})
    for _ in range(3):
        await d.run()
    stalled = d.condition("Stalled")
    assert (stalled["status"], stalled["reason"]) == ("True", "SourceNotFound")
    assert "has no succeeded run 'latest'" in stalled["message"]
    assert d.gateway.aliases == {"docs": rev1}
    assert not [
        c for k, c in d.objects.items.items() if k[0] == "qdrantcollections" and "restoreFrom" in c["spec"]
    ]
