"""Drift: changes made in Qdrant behind qco's back are put back, counted and reported."""

from __future__ import annotations

import re
import time

import httpx
from qdrant_client.http import models

from tests.e2e.conftest import Sandbox, collection_manifest


def test_out_of_band_patch_is_corrected_within_one_drift_interval(sandbox: Sandbox, unique: str) -> None:
    name = f"drift-{unique}"
    spec = {
        "vectors": {"": {"size": 8, "distance": "Cosine"}},
        "hnsw": {"m": 24},
        "optimizers": {"indexingThreshold": 12000},
        "payloadIndexes": [{"field": "lang", "type": "keyword"}],
        "driftInterval": "3s",
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
    changed_at = time.monotonic()
    obj = sandbox.wait_for(name, lambda o: o["status"].get("driftCorrections", 0) >= 1, timeout=15)
    # Jitter is +-10% of 3 s, plus the pass itself.
    assert time.monotonic() - changed_at < 10

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
        collection_manifest(name, {"vectors": {"": {"size": 4, "distance": "Dot"}}, "driftInterval": "2s"})
    )
    sandbox.wait_ready(name)
    client = sandbox.qdrant()
    client.update_collection(name, metadata={"qco.dev/owner": None})
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        metadata = client.get_collection(name).config.metadata or {}
        if metadata.get("qco.dev/owner"):
            break
        time.sleep(0.3)
    assert str(metadata.get("qco.dev/owner", "")).startswith(f"default/{name}/")


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
    time.sleep(1)
    assert client.get_collection(name).config.hnsw_config.ef_construct == 64  # no pass due for an hour
    sandbox.kubectl("annotate", "qc", name, f"qco.dev/reconcile-requested-at={time.time()}", "--overwrite")
    sandbox.wait_for(name, lambda o: o["status"].get("driftCorrections", 0) >= 1, timeout=15)
    assert client.get_collection(name).config.hnsw_config.ef_construct == 150


def test_steady_state_reads_once_and_writes_nothing(sandbox: Sandbox, unique: str) -> None:
    name = f"steady-{unique}"
    spec = {"vectors": {"": {"size": 4, "distance": "Dot"}}, "driftInterval": "2s"}
    sandbox.apply(collection_manifest(name, spec))
    before = sandbox.wait_ready(name)
    time.sleep(1)
    sandbox.admin.reset_requests()
    time.sleep(7)
    counts = sandbox.admin.requests()
    writes = {route: n for route, n in counts.items() if not route.startswith("GET ")}
    assert writes == {}, counts
    after = sandbox.get(name)
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]


def test_metrics_and_health_endpoints(sandbox: Sandbox, unique: str) -> None:
    name = f"metrics-{unique}"
    sandbox.apply(collection_manifest(name, {"vectors": {"": {"size": 4, "distance": "Dot"}}}))
    sandbox.wait_ready(name)
    match = re.search(r"metrics and health on (http://\S+)", sandbox.operator_log())
    assert match is not None
    base = match.group(1)
    assert httpx.get(f"{base}/healthz", timeout=10).json() == {"status": "ok"}
    text = httpx.get(f"{base}/metrics", timeout=10).text
    assert 'qco_reconciles_total{kind="QdrantCollection",result="ok"}' in text
    assert 'qco_qdrant_request_duration_seconds_count{operation="create_collection",outcome="ok"}' in text
    assert 'qco_objects{condition="Ready",kind="QdrantCollection"}' in text
    assert re.search(r'^qco_collection_status\{status="green"\} [1-9]', text, re.MULTILINE)
