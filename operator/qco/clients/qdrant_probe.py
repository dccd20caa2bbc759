"""The probe's Qdrant reads: query both collections with qdrant-client (Query API, prefetch and
fusion included) and fetch sample points, timing each query."""

from __future__ import annotations

import time
from typing import Any

from qdrant_client import AsyncQdrantClient
from qdrant_client.http import models

from qco.clients.qdrant import Endpoint


class ProbeClient:
    """Read-only queries against one Qdrant endpoint, trusting what its gateway trusts."""

    def __init__(self, endpoint: Endpoint) -> None:
        self._client = AsyncQdrantClient(
            url=endpoint.url,
            api_key=endpoint.api_key,
            timeout=max(1, round(endpoint.timeout_seconds)),
            prefer_grpc=False,
            check_compatibility=False,
            # the same CAs (QCO_QDRANT_CA_FILE, caSecretRef) or insecureSkipVerify as QdrantGateway
            verify=endpoint.tls.verify(),
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
