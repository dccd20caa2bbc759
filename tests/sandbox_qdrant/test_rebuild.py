"""Background index rebuilds: yellow -> green, grey + nudge, the server stays responsive."""

from __future__ import annotations

import time

import numpy as np
from qdrant_client import QdrantClient, models

from tests.plugins.qdrant_server import QdrantServerProcess

WAIT = 180.0


def _fill(client: QdrantClient, name: str, n: int, dim: int) -> None:
    client.create_collection(
        name,
        vectors_config=models.VectorParams(size=dim, distance=models.Distance.COSINE),
        # A low threshold so the optimizer indexes (and later rebuilds) the data.
        optimizers_config=models.OptimizersConfigDiff(indexing_threshold=100),
        hnsw_config=models.HnswConfigDiff(m=8, ef_construct=32),
    )
    data = np.random.default_rng(3).random((n, dim), dtype=np.float32)
    client.upload_collection(name, vectors=data, ids=list(range(n)), batch_size=2000, wait=True)


def _statuses_until_green(client: QdrantClient, name: str, other: str | None = None) -> list[str]:
    seen = []
    deadline = time.monotonic() + WAIT
    while True:
        status = client.get_collection(name).status
        seen.append(status.value)
        if other is not None and status == models.CollectionStatus.YELLOW:
            # Other collections answer while the rebuild runs.
            assert client.get_collection(other).status == models.CollectionStatus.GREEN
            assert client.count(name).count > 0  # and so do reads of the rebuilding one
        if status == models.CollectionStatus.GREEN:
            return seen
        assert time.monotonic() < deadline, f"still {status} after {WAIT}s"
        time.sleep(0.1)


def test_hnsw_change_rebuilds_in_background_yellow_then_green(client: QdrantClient) -> None:
    client.create_collection(
        "other", vectors_config=models.VectorParams(size=4, distance=models.Distance.DOT)
    )
    _fill(client, "big", n=20_000, dim=32)
    _statuses_until_green(client, "big")
    assert client.get_collection("big").indexed_vectors_count == 20_000
    client.update_collection("big", hnsw_config=models.HnswConfigDiff(m=12))
    seen = _statuses_until_green(client, "big", other="other")
    assert "yellow" in seen
    info = client.get_collection("big")
    assert info.config.hnsw_config.m == 12
    assert info.points_count == 20_000
    assert info.indexed_vectors_count == 20_000


def test_grey_until_nudged_by_an_optimizers_patch(
    client: QdrantClient, qdrant_server: QdrantServerProcess
) -> None:
    _fill(client, "g", n=2_000, dim=16)
    _statuses_until_green(client, "g")
    qdrant_server.admin.pause_optimizers()
    client.update_collection("g", hnsw_config=models.HnswConfigDiff(m=4))
    assert client.get_collection("g").status == models.CollectionStatus.GREY
    qdrant_server.admin.pause_optimizers(False)
    assert client.get_collection("g").status == models.CollectionStatus.GREY  # no nudge yet
    client.update_collection("g", optimizers_config=models.OptimizersConfigDiff())
    _statuses_until_green(client, "g")
    assert client.get_collection("g").config.hnsw_config.m == 4


def test_quantization_change_rebuilds_and_writes_during_rebuild_survive(client: QdrantClient) -> None:
    _fill(client, "w", n=5_000, dim=16)
    _statuses_until_green(client, "w")
    client.update_collection(
        "w",
        quantization_config=models.ScalarQuantization(
            scalar=models.ScalarQuantizationConfig(type=models.ScalarType.INT8)
        ),
    )
    client.upsert("w", [models.PointStruct(id=99_999, vector=[0.5] * 16, payload={"late": True})])
    _statuses_until_green(client, "w")
    assert client.count("w").count == 5_001
    assert client.retrieve("w", [99_999])[0].payload == {"late": True}
