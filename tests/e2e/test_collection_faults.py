"""Failures: Qdrant down mid-reconcile, changes made behind qco's back that it cannot undo."""

from __future__ import annotations

import time

from qdrant_client.http import models

from tests.e2e.conftest import Sandbox, collection_manifest

VECTOR = {"": {"size": 4, "distance": "Dot"}}


def test_qdrant_down_for_30s_then_recovering_loses_nothing(sandbox: Sandbox, unique: str) -> None:
    name = f"outage-{unique}"
    spec = {"vectors": VECTOR, "hnsw": {"m": 16}, "payloadIndexes": [{"field": "a", "type": "keyword"}]}
    sandbox.apply(collection_manifest(name, spec))
    sandbox.wait_ready(name)
    client = sandbox.qdrant()
    client.upsert(
        name, [models.PointStruct(id=i, vector=[float(i), 1, 0, 0], payload={"a": str(i)}) for i in range(50)]
    )

    sandbox.admin.add_fault("^/collections", "drop", seconds=30)
    outage_started = time.monotonic()
    spec.update(
        hnsw={"m": 40}, payloadIndexes=[{"field": "a", "type": "keyword"}, {"field": "b", "type": "integer"}]
    )
    sandbox.apply(collection_manifest(name, spec))
    obj = sandbox.wait_for(
        name,
        lambda o: any(
            c["type"] == "Ready" and c["reason"] == "QdrantUnreachable" for c in o["status"]["conditions"]
        ),
        timeout=30,
    )
    reconciling = next(c for c in obj["status"]["conditions"] if c["type"] == "Reconciling")
    stalled = next(c for c in obj["status"]["conditions"] if c["type"] == "Stalled")
    assert (reconciling["status"], stalled["status"]) == ("True", "False")

    obj = sandbox.wait_ready(name, timeout=90)
    assert time.monotonic() - outage_started >= 29  # it could only converge once Qdrant was back
    info = client.get_collection(name)
    assert info.config.hnsw_config.m == 40
    assert set(info.payload_schema) == {"a", "b"}
    assert client.count(name).count == 50
    assert obj["status"]["collection"]["pointsCount"] == 50


def test_immutable_change_behind_qcos_back_is_stalled(sandbox: Sandbox, unique: str) -> None:
    name = f"recreated-{unique}"
    sandbox.apply(collection_manifest(name, {"vectors": VECTOR, "driftInterval": "2s"}))
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
