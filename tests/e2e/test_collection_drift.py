"""Drift: changes made in Qdrant behind qco's back are put back, counted and reported."""

from __future__ import annotations

import time

from qdrant_client.http import models

from tests.e2e.conftest import Sandbox, collection_manifest
from tests.e2e.waits import wait_until

# How long after a change the correction comes is measured by bench/drift_and_recovery.py.


def test_out_of_band_patch_is_corrected(sandbox: Sandbox, unique: str) -> None:
    name = f"drift-{unique}"
    spec = {
        "vectors": {"": {"size": 8, "distance": "Cosine"}},
        "hnsw": {"m": 24},
        "optimizers": {"indexingThreshold": 12000},
        "payloadIndexes": [{"field": "lang", "type": "keyword"}],
        "driftInterval": "5s",
    }
    sandbox.apply(collection_manifest(name, spec))
    sandbox.wait_ready(name)
    client = sandbox.qdrant()

    client.update_collection(
        name,
        hnsw_config=models.HnswConfigDiff(m=8),
        optimizers_config=models.OptimizersConfigDiff(indexing_threshold=999),
    )
    client.delete_payload_index(name, "lang")
    obj = sandbox.wait_for(name, lambda o: o["status"].get("driftCorrections", 0) >= 1)

    info = client.get_collection(name)
    assert info.config.hnsw_config.m == 24
    assert info.config.optimizer_config.indexing_threshold == 12000
    assert "lang" in info.payload_schema
    drift = obj["status"]["lastDriftCorrection"]
    assert "hnsw.m" in drift["fields"] or "hnsw" in " ".join(drift["fields"])
    assert any("payloadIndexes" in f for f in drift["fields"])


def test_removed_owner_stamp_is_restored(sandbox: Sandbox, unique: str) -> None:
    name = f"stamp-{unique}"
    sandbox.apply(
        collection_manifest(name, {"vectors": {"": {"size": 4, "distance": "Dot"}}, "driftInterval": "5s"})
    )
    uid = sandbox.wait_ready(name)["metadata"]["uid"]
    client = sandbox.qdrant()
    client.update_collection(name, metadata={"qco.dev/owner": None})
    metadata = wait_until(
        lambda: client.get_collection(name).config.metadata or {},
        lambda m: bool(m.get("qco.dev/owner")),
        what="the owner stamp to come back",
    )
    assert metadata["qco.dev/owner"] == f"default/{name}/{uid}"


def test_reconcile_requested_annotation_forces_a_pass(sandbox: Sandbox, unique: str) -> None:
    name = f"nudge-{unique}"
    spec = {
        "vectors": {"": {"size": 4, "distance": "Dot"}},
        "hnsw": {"efConstruct": 150},
        "driftInterval": "1h",
    }
    sandbox.apply(collection_manifest(name, spec))
    sandbox.wait_ready(name)
    client = sandbox.qdrant()
    client.update_collection(name, hnsw_config=models.HnswConfigDiff(ef_construct=64))
    # Witness that the operator handled later work meanwhile: an object created after the change
    # becomes Ready. The first one, with no pass due for an hour, still has not touched Qdrant.
    sandbox.apply(collection_manifest(f"later-{unique}", {"vectors": {"": {"size": 4, "distance": "Dot"}}}))
    sandbox.wait_ready(f"later-{unique}")
    assert client.get_collection(name).config.hnsw_config.ef_construct == 64
    assert sandbox.get(name)["status"].get("driftCorrections", 0) == 0
    sandbox.kubectl("annotate", "qc", name, f"qco.dev/reconcile-requested-at={time.time()}", "--overwrite")
    sandbox.wait_for(name, lambda o: o["status"].get("driftCorrections", 0) >= 1, timeout=15)
    assert client.get_collection(name).config.hnsw_config.ef_construct == 150
