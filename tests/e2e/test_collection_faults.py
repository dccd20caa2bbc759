"""Failures: Qdrant down mid-reconcile, changes made behind qco's back that it cannot undo."""

from __future__ import annotations

from qdrant_client.http import models

from tests.e2e.conftest import Sandbox, collection_manifest, reason_of, status_of
from tests.e2e.waits import wait_until

VECTOR = {"": {"size": 4, "distance": "Dot"}}


def test_qdrant_down_then_recovering_loses_nothing(sandbox: Sandbox, unique: str) -> None:
    """Qdrant drops every connection until the test lets it back; how soon qco converges after
    that is measured by bench/drift_and_recovery.py."""
    name = f"outage-{unique}"
    spec = {"vectors": VECTOR, "hnsw": {"m": 16}, "payloadIndexes": [{"field": "a", "type": "keyword"}]}
    sandbox.apply(collection_manifest(name, spec))
    sandbox.wait_ready(name)
    client = sandbox.qdrant()
    client.upsert(
        name, [models.PointStruct(id=i, vector=[float(i), 1, 0, 0], payload={"a": str(i)}) for i in range(50)]
    )

    sandbox.admin.add_fault(f"^/collections/{name}", "drop")
    try:
        spec.update(
            hnsw={"m": 40},
            payloadIndexes=[{"field": "a", "type": "keyword"}, {"field": "b", "type": "integer"}],
        )
        sandbox.apply(collection_manifest(name, spec))
        obj = sandbox.wait_for(name, lambda o: reason_of(o, "Ready") == "QdrantUnreachable")
        assert (status_of(obj, "Reconciling"), status_of(obj, "Stalled")) == ("True", "False")
        # qco keeps trying while Qdrant is away (the fault counts the dropped calls) and stays
        # not Ready: it can only converge once Qdrant is back.
        wait_until(lambda: sandbox.admin.faults()[0]["used"], lambda used: used >= 3, what="retries")
        assert status_of(sandbox.get(name), "Ready") == "False"
    finally:
        sandbox.admin.clear_faults()

    obj = sandbox.wait_ready(name, timeout=90)
    info = client.get_collection(name)
    assert info.config.hnsw_config.m == 40
    assert set(info.payload_schema) == {"a", "b"}
    assert client.count(name).count == 50
    assert obj["status"]["collection"]["pointsCount"] == 50


def test_immutable_change_behind_qcos_back_is_stalled(sandbox: Sandbox, unique: str) -> None:
    name = f"recreated-{unique}"
    sandbox.apply(collection_manifest(name, {"vectors": VECTOR, "driftInterval": "5s"}))
    sandbox.wait_ready(name)
    client = sandbox.qdrant()
    metadata = client.get_collection(name).config.metadata
    client.delete_collection(name)
    client.create_collection(
        name, vectors_config=models.VectorParams(size=8, distance=models.Distance.COSINE), metadata=metadata
    )
    obj = sandbox.wait_for(
        name,
        lambda o: any(c["type"] == "Stalled" and c["status"] == "True" for c in o["status"]["conditions"]),
        timeout=20,
    )
    stalled = next(c for c in obj["status"]["conditions"] if c["type"] == "Stalled")
    assert stalled["reason"] == "ImmutableFieldChanged"
    for text in ("size", "4", "8", "distance", "Dot", "Cosine", "CollectionDeployment"):
        assert text in stalled["message"], stalled["message"]
    assert client.get_collection(name).config.params.vectors.size == 8  # type: ignore[union-attr]
