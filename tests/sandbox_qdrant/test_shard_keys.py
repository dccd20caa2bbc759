"""Custom sharding by key in the Qdrant stand-in, driven by unmodified qdrant-client: a shard per
key, upserts and queries routed by `shard_key`, the keys listed by `GET /collections/{c}/cluster`,
a dropped key takes its points with it."""

from __future__ import annotations

from typing import Any

import pytest
from qdrant_client import QdrantClient, models
from qdrant_client.http.exceptions import UnexpectedResponse


def _points(start: int, lang: str) -> list[models.PointStruct]:
    return [
        models.PointStruct(id=start + i, vector=[1.0, float(i), 0.5], payload={"lang": lang})
        for i in range(5)
    ]


def test_shard_keys_route_points_and_queries(qdrant_server: Any) -> None:
    client = QdrantClient(url=qdrant_server.url, check_compatibility=False)
    client.create_collection(
        "docs",
        vectors_config=models.VectorParams(size=3, distance=models.Distance.COSINE),
        sharding_method=models.ShardingMethod.CUSTOM,
    )
    client.create_shard_key("docs", "de")
    client.create_shard_key("docs", "en")
    client.upsert("docs", _points(0, "de"), shard_key_selector="de", wait=True)
    client.upsert("docs", _points(100, "en"), shard_key_selector="en", wait=True)

    cluster = client.collection_cluster_info("docs")
    by_key = {s.shard_key: s.points_count for s in cluster.local_shards if s.shard_key is not None}
    assert by_key == {"de": 5, "en": 5}
    assert client.get_collection("docs").points_count == 10
    assert client.count("docs", shard_key_selector="de").count == 5
    assert client.count("docs").count == 10

    de = client.query_points(
        "docs", query=[1.0, 1.0, 0.5], limit=20, shard_key_selector="de", with_payload=True
    )
    assert {p.payload["lang"] for p in de.points if p.payload} == {"de"} and len(de.points) == 5
    both = client.query_points("docs", query=[1.0, 1.0, 0.5], limit=20)
    assert len(both.points) == 10

    client.delete_shard_key("docs", "de")
    cluster = client.collection_cluster_info("docs")
    assert [s.shard_key for s in cluster.local_shards if s.shard_key is not None] == ["en"]
    assert client.get_collection("docs").points_count == 5
    client.close()


def test_shard_keys_need_custom_sharding(qdrant_server: Any) -> None:
    client = QdrantClient(url=qdrant_server.url, check_compatibility=False)
    client.create_collection(
        "auto", vectors_config=models.VectorParams(size=3, distance=models.Distance.COSINE)
    )
    with pytest.raises(UnexpectedResponse) as refused:
        client.create_shard_key("auto", "de")
    assert refused.value.status_code == 400
    client.close()
