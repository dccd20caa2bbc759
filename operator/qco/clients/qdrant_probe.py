"""The probe's Qdrant reads: query both collections with qdrant-client (Query API, prefetch and
fusion included) and fetch sample points, timing each query."""

from __future__ import annotations

import time
from typing import Any

from qdrant_client import AsyncQdrantClient
from qdrant_client.http import models


class ProbeClient:
    """Read-only queries against one Qdrant endpoint."""

    def __init__(self, url: str, api_key: str | None, timeout: float) -> None:
        self._client = AsyncQdrantClient(
            url=url,
            api_key=api_key,
            timeout=max(1, round(timeout)),
            prefer_grpc=False,
            check_compatibility=False,
        )

    async def close(self) -> None:
        """Close the connections."""
        await self._client.close()

    async def sample_points(self, collection: str, count: int) -> list[models.Record]:
        """Up to `count` stored points, with their vectors (used as queries)."""
        if count <= 0:
            return []
        points, _ = await self._client.scroll(collection, limit=count, with_vectors=True, with_payload=False)
        return points

    async def timed_query(
        self, collection: str, request: dict[str, Any], limit: int
    ) -> tuple[list[str], float]:
        """Point ids of one Query API request and its latency in seconds."""
        body = models.QueryRequest.model_validate({**request, "limit": limit, "with_payload": False})
        started = time.perf_counter()
        response = await self._client.http.search_api.query_points(collection, query_request=body)
        elapsed = time.perf_counter() - started
        result = response.result
        points = result.points if result is not None else []
        return [str(p.id) for p in points], elapsed
