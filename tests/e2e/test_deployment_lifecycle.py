"""CollectionDeployment end to end with kubectl against `qco sandbox`: an empty first revision, an
immutable change copied, validated and switched, a re-embedding through the embeddings stand-in,
a Git revert and an annotation that roll back without a copy, and history GC; all under a load
that queries the alias continuously."""

from __future__ import annotations

import copy
import importlib
import math
from typing import Any

import pytest

from tests.e2e.conftest import Sandbox
from tests.e2e.deployments import (
    alias_load,
    alias_target,
    checksum,
    embeddings_server,
    example,
    get_deployment,
    points,
    wait_complete,
    wait_deployment,
)

pytestmark = pytest.mark.slow

POINTS = 600


def children(sandbox: Sandbox) -> set[str]:
    """The child QdrantCollections of deployment docs (`kubectl get qc -l …`)."""
    out = sandbox.kubectl("get", "qc", "-l", "qco.dev/deployment=docs", "-o", "name").stdout
    return {line.split("/", 1)[1] for line in out.split()}


def with_url(manifest: dict[str, Any], url: str) -> dict[str, Any]:
    """The example with the embeddings URL of this test's server."""
    manifest = copy.deepcopy(manifest)
    manifest["spec"]["transform"]["embeddings"]["url"] = url
    return manifest


def test_deploy_copy_reembed_rollback_under_load(sandbox: Sandbox) -> None:
    client = sandbox.qdrant()
    sandbox.apply(example("first.yaml"))
    first = wait_complete(sandbox, "docs")
    rev1 = first["status"]["activeCollection"]
    assert first["status"]["activeRevision"] == 1 and alias_target(client, "docs") == rev1
    assert children(sandbox) == {first["status"]["revisions"][0]["child"]}

    client.upsert("docs", points(0, POINTS, 8), wait=True)  # the application writes through the alias
    source_sum = checksum(client, rev1)
    assert source_sum[0] == POINTS

    with embeddings_server() as url, alias_load(sandbox.qdrant_url, "docs", POINTS) as load:
        # An immutable change: copied, validated, switched.
        sandbox.apply(example("reshard.yaml"))
        second = wait_complete(sandbox, "docs")
        rev2 = second["status"]["activeCollection"]
        assert second["status"]["activeRevision"] == 2 and rev2 != rev1
        assert alias_target(client, "docs") == rev2
        info = client.get_collection(rev2)
        assert info.config.params.shard_number == 2
        assert (info.config.hnsw_config.m, info.config.hnsw_config.ef_construct) == (32, 200)
        assert info.config.optimizer_config.indexing_threshold == 10000  # restored after the bulk fill
        assert checksum(client, rev2) == source_sum
        report = second["status"]["validation"]
        assert report["passed"] and report["pointRatio"] == 1.0 and report["newPoints"] == POINTS
        assert all(q["overlap"] >= q["minOverlap"] for q in report["queries"])

        # A new model and vector size: re-embedded from the payload text.
        sandbox.apply(with_url(example("reembed.yaml"), url))
        third = wait_complete(sandbox, "docs")
        rev3 = third["status"]["activeCollection"]
        assert third["status"]["activeRevision"] == 3 and alias_target(client, "docs") == rev3
        assert checksum(client, rev3) == source_sum
        sample = client.retrieve(rev3, [0, 1, 42, 599], with_payload=True, with_vectors=True)
        embed = importlib.import_module("static_model").get_embeddings
        for record in sample:
            expected = embed([record.payload["text"]])[0]
            assert isinstance(record.vector, list) and len(record.vector) == 64
            assert math.dist(record.vector, expected) < 1e-4, record.id
        # History: revision 1 is beyond revisionHistoryLimit 1 and is gone with its collection.
        kept = {r["number"] for r in third["status"]["revisions"]}
        assert kept == {2, 3}
        assert not client.collection_exists(rev1)
        before_revert = children(sandbox)

        # A revert in Git: the old spec hashes to revision 2, which is switched back without a copy.
        sandbox.apply(example("reshard.yaml"))
        reverted = wait_complete(sandbox, "docs")
        assert reverted["status"]["activeRevision"] == 2 and alias_target(client, "docs") == rev2
        assert children(sandbox) == before_revert
        assert reverted["status"]["progress"]["revision"] == 3  # no fill since revision 3's

        # Forward again (no copy either), then the emergency annotation back to revision 2.
        sandbox.apply(with_url(example("reembed.yaml"), url))
        wait_deployment(sandbox, "docs", lambda o: alias_target(client, "docs") == rev3 and _done(o))
        sandbox.apply(with_url(example("rollback.yaml"), url))
        rolled = wait_deployment(
            sandbox,
            "docs",
            lambda o: (o["status"].get("rollback") or {}).get("time") is not None and _done(o),
        )
        assert alias_target(client, "docs") == rev2 and rolled["status"]["activeRevision"] == 2
        assert children(sandbox) == before_revert

    print(
        f"\nload through the alias: {load.queries} queries in {load.seconds:.0f}s ({load.rate:.0f}/s),"
        f" {load.failed} failed, {load.empty} empty"
    )
    assert load.failed == 0, load.errors[:5]
    assert load.empty == 0
    assert load.rate >= 100
    final = get_deployment(sandbox, "docs")
    revisions = final["status"]["revisions"]
    old = [r for r in revisions if r["number"] != final["status"]["activeRevision"]]
    assert len(old) == final["spec"]["revisionHistoryLimit"]
    switches = [e for e in sandbox.events("docs") if e["reason"] == "SwitchAlias"]
    assert len(switches) >= 5


def _done(obj: dict[str, Any]) -> bool:
    status = obj.get("status") or {}
    return (
        status.get("observedGeneration") == obj["metadata"]["generation"]
        and status.get("phase") == "Complete"
    )
