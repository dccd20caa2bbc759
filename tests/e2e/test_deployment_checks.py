"""CollectionDeployment checks end to end: validation that fails leaves the alias alone and says
what it measured; catch-up copies writes made during the fill; 503 bursts and latency during the
fill slow it but lose nothing."""

from __future__ import annotations

import threading
import time

import pytest
from qdrant_client import models

from tests.e2e.conftest import Sandbox, message_of, reason_of, status_of
from tests.e2e.deployments import (
    alias_target,
    checksum,
    deployment_manifest,
    get_deployment,
    points,
    wait_complete,
    wait_deployment,
)
from tests.e2e.waits import metrics_base, scrape, value, wait_until

pytestmark = pytest.mark.slow

TEMPLATE = {
    "vectors": {"": {"size": 8, "distance": "Cosine"}},
    "payloadIndexes": [{"field": "updated_at", "type": "datetime"}],
}


def first_revision(sandbox: Sandbox, name: str, count: int) -> str:
    """Deploy `name` (alias `name`) empty, then write `count` points through the alias."""
    sandbox.apply(deployment_manifest(name, {"alias": name, "template": TEMPLATE}))
    collection = str(wait_complete(sandbox, name)["status"]["activeCollection"])
    client = sandbox.qdrant()
    for start in range(0, count, 500):
        client.upsert(name, points(start, min(500, count - start), 8), wait=True)
    return collection


def test_failed_validation_keeps_the_alias_and_reports_the_numbers(sandbox: Sandbox) -> None:
    client = sandbox.qdrant()
    rev1 = first_revision(sandbox, "val", 300)
    # Another collection with the same ids but other vectors: its neighbours differ.
    client.create_collection("val_other", vectors_config={"size": 8, "distance": "Cosine"})  # type: ignore[arg-type]
    client.upsert("val_other", points(10_000, 300, 8), wait=True)
    client.upsert("val_other", [p.model_copy(update={"id": p.id - 10_000}) for p in points(10_000, 300, 8)])
    client.delete("val_other", points_selector=list(range(10_000, 10_300)), wait=True)
    spec = {
        "alias": "val",
        "template": TEMPLATE,
        "source": {"collection": {"name": "val_other"}},
        "validation": {
            "minPointRatio": 1.5,
            "queries": [{"vector": [0.5] * 8, "limit": 10, "minOverlap": 0.9}],
        },
    }
    sandbox.apply(deployment_manifest("val", spec))
    failed = wait_deployment(sandbox, "val", lambda o: status_of(o, "Stalled") == "True", timeout=120)
    assert reason_of(failed, "Stalled") == "ValidationFailed"
    message = message_of(failed, "Stalled")
    assert "point ratio 1.0000 (300/300) is below minPointRatio 1.5" in message
    assert "query 0: overlap" in message and "below minOverlap 0.9" in message
    report = failed["status"]["validation"]
    assert report["passed"] is False and report["queries"][0]["overlap"] < 0.9
    assert failed["status"]["phase"] == "Failed" and failed["status"]["revisions"][-1]["phase"] == "Failed"
    assert alias_target(client, "val") == rev1  # the alias never moved
    assert any(e["reason"] == "ValidationFailed" for e in sandbox.events("val"))

    # A change of the validation alone validates the same revision again.
    spec["validation"] = {"minPointRatio": 1.2}
    sandbox.apply(deployment_manifest("val", spec))
    again = wait_deployment(sandbox, "val", lambda o: "below minPointRatio 1.2" in message_of(o, "Stalled"))
    assert [r["phase"] for r in again["status"]["revisions"]] == ["Active", "Failed"]
    assert alias_target(client, "val") == rev1

    # A later change of the template starts a new revision, which passes and switches.
    spec["validation"] = {"minPointRatio": 0.99}
    spec["template"] = {**TEMPLATE, "hnsw": {"m": 24}}
    sandbox.apply(deployment_manifest("val", spec))
    done = wait_complete(sandbox, "val")
    assert done["status"]["activeRevision"] == 3
    assert alias_target(client, "val") == done["status"]["activeCollection"] != rev1
    assert checksum(client, "val") == checksum(client, "val_other")


def test_catch_up_copies_writes_made_during_the_fill(sandbox: Sandbox) -> None:
    client = sandbox.qdrant()
    first_revision(sandbox, "cu", 2000)
    sandbox.admin.add_fault(r"^/collections/cu-[0-9a-f]{8}/points$", "latency", method="PUT", latency_ms=100)
    writes = {"count": 0}
    stop = threading.Event()

    def writer() -> None:
        # The application goes on writing through the alias: new points and changed payloads.
        next_id = 50_000
        while not stop.is_set():
            batch = points(next_id, 10, 8, text=lambda i: f"written during the fill {i}")
            changed = points(writes["count"] % 2000, 5, 8, text=lambda i: f"changed during the fill {i}")
            client.upsert("cu", batch + changed, wait=True)
            writes["count"] += 15
            next_id += 10
            time.sleep(0.05)

    spec = {
        "alias": "cu",
        "template": {**TEMPLATE, "hnsw": {"m": 20}},
        "catchUp": {"updatedAtField": "updated_at", "maxDelta": 0},
        "copyBatchSize": 50,
        "copyConcurrency": 2,
    }
    sandbox.apply(deployment_manifest("cu", spec))
    thread = threading.Thread(target=writer, daemon=True)
    try:
        wait_deployment(sandbox, "cu", lambda o: (o["status"].get("progress") or {}).get("copied", 0) > 0)
        thread.start()
        wait_deployment(sandbox, "cu", lambda o: o["status"].get("phase") in ("CatchingUp", "Indexing"))
    finally:
        stop.set()
        thread.join(30)
        sandbox.admin.clear_faults()
    old = get_deployment(sandbox, "cu")["status"]["revisions"][0]["collection"]
    done = wait_complete(sandbox, "cu")
    assert writes["count"] > 0
    assert done["status"]["progress"]["catchUpPasses"] >= 1
    assert "writesNotice" not in done["status"]["progress"]
    assert checksum(client, done["status"]["activeCollection"]) == checksum(client, old)


def test_503_bursts_and_latency_during_the_fill_lose_nothing(sandbox: Sandbox) -> None:
    client = sandbox.qdrant()
    rev1 = first_revision(sandbox, "flt", 1500)
    source = checksum(client, rev1)
    admin = sandbox.admin
    # The first matching fault answers: three 503s on scroll, then slow scrolls; 503 bursts on upserts.
    admin.add_fault(r"^/collections/flt-[0-9a-f]{8}/points/scroll$", "error", status=503, calls=3)
    admin.add_fault(r"^/collections/flt-[0-9a-f]{8}/points/scroll$", "latency", latency_ms=150, calls=10)
    admin.add_fault(r"^/collections/flt-[0-9a-f]{8}/points$", "error", method="PUT", status=503, calls=12)
    spec = {"alias": "flt", "template": {**TEMPLATE, "hnsw": {"m": 12}}, "copyBatchSize": 100}
    sandbox.apply(deployment_manifest("flt", spec))
    done = wait_complete(sandbox, "flt")
    assert admin.faults() == []  # every fault was spent on the fill
    admin.clear_faults()
    assert checksum(client, done["status"]["activeCollection"]) == source
    assert "writesNotice" in done["status"]["progress"]  # no catchUp: status says so


def test_copy_metrics(sandbox: Sandbox) -> None:
    samples = scrape(metrics_base(sandbox.operator_log()))
    assert value(samples, "qco_deployment_points_copied_total", phase="Filling") >= 1500
    assert value(samples, "qco_deployment_phases_total", phase="Validating") >= 1
    assert value(samples, "qco_deployment_alias_switches_total") >= 3


def test_an_alias_owned_elsewhere_is_never_switched(sandbox: Sandbox) -> None:
    client = sandbox.qdrant()
    client.create_collection(
        "foreign", vectors_config=models.VectorParams(size=4, distance=models.Distance.DOT)
    )
    create = models.CreateAlias(collection_name="foreign", alias_name="conf")
    client.update_collection_aliases([models.CreateAliasOperation(create_alias=create)])
    sandbox.apply(deployment_manifest("conf", {"alias": "conf", "template": TEMPLATE}))
    stalled = wait_deployment(sandbox, "conf", lambda o: status_of(o, "Stalled") == "True")
    assert reason_of(stalled, "Stalled") == "AliasConflict"
    assert "points at collection foreign" in message_of(stalled, "Stalled")
    assert alias_target(client, "conf") == "foreign"
    # Once the alias is free, the deployment takes it.
    client.update_collection_aliases(
        [models.DeleteAliasOperation(delete_alias=models.DeleteAlias(alias_name="conf"))]
    )
    sandbox.kubectl("annotate", "qcd", "conf", "qco.dev/reconcile-requested-at=now", "--overwrite")
    done = wait_complete(sandbox, "conf")
    assert alias_target(client, "conf") == done["status"]["activeCollection"]


@pytest.mark.parametrize("policy", ["Retain", "Delete"])
def test_deletion_policy(sandbox: Sandbox, policy: str) -> None:
    client = sandbox.qdrant()
    name = f"del-{policy.lower()}"
    spec = {"alias": name, "template": TEMPLATE, "deletionPolicy": policy}
    sandbox.apply(deployment_manifest(name, spec))
    rev1 = wait_complete(sandbox, name)["status"]["activeCollection"]
    client.upsert(name, points(0, 50, 8), wait=True)
    sandbox.apply(deployment_manifest(name, {**spec, "template": {**TEMPLATE, "hnsw": {"m": 8}}}))
    rev2 = wait_complete(sandbox, name)["status"]["activeCollection"]
    sandbox.kubectl("delete", "qcd", name, "--timeout=60s")
    wait_until(
        lambda: sandbox.kubectl("get", "qc", "-l", f"qco.dev/deployment={name}", "-o", "name").stdout,
        lambda out: out.strip() == "",
        60,
        "children deleted",
    )
    if policy == "Delete":
        assert not client.collection_exists(rev1) and not client.collection_exists(rev2)
        assert alias_target(client, name) is None
    else:
        assert client.count(rev2).count == 50 and alias_target(client, name) == rev2
        metadata = client.get_collection(rev2).config.metadata or {}
        assert "qco.dev/owner" not in metadata  # released: qco no longer claims it


def test_not_green_within_the_validation_timeout_fails(sandbox: Sandbox) -> None:
    client = sandbox.qdrant()
    rev1 = first_revision(sandbox, "slow", 200)
    # Qdrant refuses the PATCH that turns indexing back on: the new revision never gets in sync.
    sandbox.admin.add_fault(r"^/collections/slow-[0-9a-f]{8}$", "error", method="PATCH", status=503)
    try:
        spec = {"alias": "slow", "template": {**TEMPLATE, "hnsw": {"m": 10}}, "validation": {"timeout": "3s"}}
        sandbox.apply(deployment_manifest("slow", spec))
        failed = wait_deployment(sandbox, "slow", lambda o: status_of(o, "Stalled") == "True")
    finally:
        sandbox.admin.clear_faults()
    assert reason_of(failed, "Stalled") == "ValidationFailed"
    assert "was not green and synced within 3s" in message_of(failed, "Stalled")
    assert alias_target(client, "slow") == rev1
