"""Custom sharding by key on `qco sandbox`: qco creates the shard keys, points are routed by key (a
query with a shard key sees only that key's points), removing a key is refused without
shardKeyRemovalPolicy Allow and happens with it."""

from __future__ import annotations

from typing import Any

from qdrant_client.http import models

from tests.e2e.conftest import Sandbox, collection_manifest, message_of, reason_of, status_of


def _keys(client: Any, name: str) -> dict[str, int]:
    info = client.collection_cluster_info(name)
    return {str(s.shard_key): s.points_count for s in info.local_shards if s.shard_key is not None}


def test_shard_keys_created_routed_and_removal_needs_consent(sandbox: Sandbox, unique: str) -> None:
    name = f"bylang-{unique}"
    spec: dict[str, Any] = {
        "vectors": {"": {"size": 4, "distance": "Cosine"}},
        "shardingMethod": "custom",
        "shardKeys": [{"key": "de", "shardNumber": 1, "replicationFactor": 1}, {"key": "en"}],
        "driftInterval": "1h",
    }
    sandbox.apply(collection_manifest(name, spec))
    sandbox.wait_ready(name)
    client = sandbox.qdrant()
    assert _keys(client, name) == {"de": 0, "en": 0}

    for offset, lang in ((0, "de"), (100, "en")):
        points = [
            models.PointStruct(id=offset + i, vector=[1.0, i, 0.5, 0.1], payload={"lang": lang})
            for i in range(6)
        ]
        client.upsert(name, points, shard_key_selector=lang, wait=True)
    de = client.query_points(
        name, query=[1.0, 1.0, 0.5, 0.1], limit=50, shard_key_selector="de", with_payload=True
    )
    assert len(de.points) == 6 and {p.payload["lang"] for p in de.points if p.payload} == {"de"}
    assert _keys(client, name) == {"de": 6, "en": 6}

    # dropping "en" would delete its 6 points: Stalled, nothing touched
    sandbox.apply(collection_manifest(name, {**spec, "shardKeys": [{"key": "de"}]}))
    obj = sandbox.wait_for(name, lambda o: reason_of(o, "Stalled") == "ShardKeyRemovalRefused")
    assert status_of(obj, "Ready") == "False"
    assert "removing shard key(s) en from collection" in message_of(obj, "Stalled")
    assert "would delete their 6 points" in message_of(obj, "Stalled")
    assert _keys(client, name) == {"de": 6, "en": 6}

    # with consent the key and its points go
    sandbox.apply(
        collection_manifest(name, {**spec, "shardKeys": [{"key": "de"}], "shardKeyRemovalPolicy": "Allow"})
    )
    sandbox.wait_ready(name)
    assert _keys(client, name) == {"de": 6}
    assert client.count(name).count == 6
