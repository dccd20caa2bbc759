"""`GET /collections/{c}/optimizations` in Qdrant's shape, with and without `?with=...`."""

from __future__ import annotations

import time
from typing import Any

import httpx
from qdrant_client import QdrantClient, models

from tests.plugins.qdrant_server import QdrantServerProcess


def _report(server: QdrantServerProcess, name: str, **params: str) -> Any:
    response = httpx.get(f"{server.url}/collections/{name}/optimizations", params=params)
    assert response.status_code == 200, response.text
    return response.json()["result"]


def _eventually_green(client: QdrantClient, name: str) -> bool:
    """Poll until background rebuilds end (bounded by attempts; asserts state, not time)."""
    for _ in range(600):
        if client.get_collection(name).status == models.CollectionStatus.GREEN:
            return True
        time.sleep(0.05)
    return False


def test_report_without_and_with_optional_sections(
    client: QdrantClient, qdrant_server: QdrantServerProcess
) -> None:
    client.create_collection("o", vectors_config=models.VectorParams(size=4, distance=models.Distance.DOT))
    client.upsert("o", [models.PointStruct(id=i, vector=[1.0, i, 0.0, 0.5]) for i in range(40)], wait=True)
    plain = _report(qdrant_server, "o")
    assert set(plain) == {"summary", "running"}
    assert plain["running"] == []
    assert plain["summary"]["queued_optimizations"] == 0
    full = _report(qdrant_server, "o", **{"with": "queued,completed,idle_segments"})
    assert set(full) == {"summary", "running", "queued", "completed", "idle_segments"}
    assert full["queued"] == []
    assert full["completed"] == []
    assert len(full["idle_segments"]) == full["summary"]["idle_segments"] >= 1
    assert sum(s["points_count"] for s in full["idle_segments"]) <= 40
    only_queued = _report(qdrant_server, "o", **{"with": "queued"})
    assert set(only_queued) == {"summary", "running", "queued"}
    bad = httpx.get(f"{qdrant_server.url}/collections/o/optimizations", params={"with": "everything"})
    assert bad.status_code == 400
    missing = httpx.get(f"{qdrant_server.url}/collections/nope/optimizations")
    assert missing.status_code == 404


def test_queued_then_completed_after_a_config_change(
    client: QdrantClient, qdrant_server: QdrantServerProcess
) -> None:
    client.create_collection(
        "o",
        vectors_config=models.VectorParams(size=4, distance=models.Distance.DOT),
        optimizers_config=models.OptimizersConfigDiff(indexing_threshold=1),
    )
    client.upsert("o", [models.PointStruct(id=i, vector=[1.0, i, 0.0, 0.5]) for i in range(200)], wait=True)
    assert _eventually_green(client, "o")
    qdrant_server.admin.pause_optimizers()
    client.update_collection("o", hnsw_config=models.HnswConfigDiff(m=8))
    queued = _report(qdrant_server, "o", **{"with": "queued,completed"})
    assert queued["summary"]["queued_optimizations"] == 1
    assert queued["queued"][0]["optimizer"] == "config_mismatch"
    assert queued["queued"][0]["segments"]
    done_before = len(queued["completed"])
    qdrant_server.admin.pause_optimizers(False)
    client.update_collection("o", optimizers_config=models.OptimizersConfigDiff(indexing_threshold=1))
    assert _eventually_green(client, "o")
    after = _report(qdrant_server, "o", **{"with": "queued,completed"})
    assert after["queued"] == []
    assert len(after["completed"]) > done_before
    latest = after["completed"][0]
    assert latest["status"] == "done"
    assert latest["progress"]["finished_at"] is not None
