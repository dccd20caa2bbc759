"""Shard-key calls (custom sharding) through qdrant-client: list, create, delete."""

from __future__ import annotations

from qdrant_client import AsyncQdrantClient

from qco.clients.qdrant import Endpoint


class ShardKeyClient:
    """Shard keys of collections on one endpoint."""

    def __init__(self, endpoint: Endpoint) -> None:
        self._client = AsyncQdrantClient(
            url=endpoint.url,
            api_key=endpoint.api_key,
            timeout=max(1, round(endpoint.timeout_seconds)),
            prefer_grpc=False,
            check_compatibility=False,
        )

    async def close(self) -> None:
        """Close the connections."""
        await self._client.close()

    async def live_keys(self, collection: str) -> dict[str, int]:
        """Shard key -> points (summed over its shards), from GET /collections/{c}/cluster."""
        info = await self._client.collection_cluster_info(collection)
        keys: dict[str, int] = {}
        for shard in info.local_shards:
            if shard.shard_key is not None:
                keys[str(shard.shard_key)] = keys.get(str(shard.shard_key), 0) + shard.points_count
        for remote in info.remote_shards:
            if remote.shard_key is not None:
                keys.setdefault(str(remote.shard_key), 0)
        return keys

    async def create(self, collection: str, key: str, shards: int | None, replicas: int | None) -> None:
        """PUT /collections/{c}/shards."""
        await self._client.create_shard_key(
            collection, key, shards_number=shards, replication_factor=replicas
        )

    async def delete(self, collection: str, key: str) -> None:
        """POST /collections/{c}/shards/delete (its points go with it)."""
        await self._client.delete_shard_key(collection, key)
