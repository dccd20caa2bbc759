"""A grey collection (optimizers stopped with outdated segments) is nudged back to green by qco."""

from __future__ import annotations

import numpy as np
from qdrant_client.http import models

from tests.e2e.conftest import Sandbox, collection_manifest, reason_of, status_of


def test_grey_collection_is_nudged_then_ready(sandbox: Sandbox, unique: str) -> None:
    name = f"grey-{unique}"
    spec = {
        "vectors": {"": {"size": 16, "distance": "Cosine"}},
        "hnsw": {"m": 16},
        "optimizers": {"indexingThreshold": 10},  # KiB: 2,000 x 16 floats get an HNSW index
        "driftInterval": "5s",
    }
    sandbox.apply(collection_manifest(name, spec))
    sandbox.wait_ready(name)
    client = sandbox.qdrant()
    vectors = np.random.default_rng(7).random((2000, 16), dtype=np.float32)
    client.upsert(name, [models.PointStruct(id=i, vector=v.tolist()) for i, v in enumerate(vectors)])
    indexed = sandbox.wait_for(
        name, lambda o: o["status"].get("collection", {}).get("indexedVectorsCount") == 2000, timeout=120
    )
    assert indexed["status"]["collection"]["status"] == "green"

    sandbox.admin.pause_optimizers()
    try:
        spec["hnsw"] = {"m": 4}
        sandbox.apply(collection_manifest(name, spec))
        obj = sandbox.wait_for(name, lambda o: o["status"]["collection"]["status"] == "grey", timeout=30)
        assert reason_of(obj, "Ready") == "Optimizing"
        assert status_of(obj, "Reconciling") == "True"
    finally:
        sandbox.admin.pause_optimizers(False)

    sandbox.wait_ready(name, timeout=120)
    assert client.get_collection(name).status == models.CollectionStatus.GREEN
    assert client.get_collection(name).config.hnsw_config.m == 4
    assert "NudgeOptimizers" in {e["reason"] for e in sandbox.events(name)}
