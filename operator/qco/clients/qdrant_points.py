"""Points in Qdrant (scroll, upsert, count, query) for a deployment's copy and validation.

One client per endpoint for the length of a pass; every call retries 5xx, 429 and transport
errors with exponential backoff, so a burst of 503s or a slow Qdrant slows a copy but loses
nothing (an upsert by point id is idempotent, and a scroll page is read again).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import httpx
from qdrant_client import AsyncQdrantClient
from qdrant_client.http import models
from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

from qco.clients.qdrant import Endpoint

T = TypeVar("T")

#: Attempts per call before the error reaches the pass (which resumes from its checkpoint).
MAX_ATTEMPTS = 8
BACKOFF_START = 0.1
BACKOFF_CAP = 5.0

Offset = int | str | None


def retryable(exc: BaseException) -> bool:
    """A failure worth retrying: Qdrant busy or unavailable, or the network."""
    if isinstance(exc, UnexpectedResponse):
        return exc.status_code is not None and (exc.status_code == 429 or exc.status_code >= 500)
    return isinstance(exc, ResponseHandlingException | httpx.TransportError | TimeoutError)


async def with_retries(call: Callable[[], Awaitable[T]], attempts: int = MAX_ATTEMPTS) -> T:
    """`call()`, retried with jittered exponential backoff while the failure is retryable."""
    delay = BACKOFF_START
    for attempt in range(1, attempts + 1):
        try:
            return await call()
        except Exception as exc:
            if attempt == attempts or not retryable(exc):
                raise
        await asyncio.sleep(delay * random.uniform(0.5, 1.0))
        delay = min(delay * 2, BACKOFF_CAP)
    raise AssertionError("unreachable")


class PointsClient:
    """Scroll, upsert, count and query on one endpoint."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self._client = AsyncQdrantClient(
            url=endpoint.url,
            api_key=endpoint.api_key,
            timeout=max(1, round(endpoint.timeout_seconds)),
            prefer_grpc=False,
            check_compatibility=False,
            verify=endpoint.tls.verify(),
        )

    async def close(self) -> None:
        """Close the HTTP connections."""
        await self._client.close()

    async def __aenter__(self) -> PointsClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    async def scroll(
        self,
        collection: str,
        offset: Offset,
        limit: int,
        with_vectors: bool | Sequence[str],
        scroll_filter: models.Filter | None = None,
    ) -> tuple[list[models.Record], Offset]:
        """One page of points (payload and the named vectors) and the next page's offset."""
        vectors: Any = with_vectors if isinstance(with_vectors, bool) else list(with_vectors)

        async def page() -> tuple[list[models.Record], Any]:
            return await self._client.scroll(
                collection,
                scroll_filter=scroll_filter,
                limit=limit,
                offset=offset,
                with_payload=True,
                with_vectors=vectors,
            )

        records, next_offset = await with_retries(page)
        return records, _offset(next_offset)

    async def upsert(self, collection: str, points: list[models.PointStruct]) -> None:
        """Write points (by id: writing the same point twice leaves one)."""
        await with_retries(lambda: self._client.upsert(collection, points=points, wait=True))

    async def vector_names(self, collection: str) -> tuple[list[str], bool] | None:
        """The collection's dense and sparse vector names and whether its dense vector is the
        unnamed one; None when the collection does not exist."""
        try:
            info = await with_retries(lambda: self._client.get_collection(collection))
        except UnexpectedResponse as exc:
            if exc.status_code == 404:
                return None
            raise
        params = info.config.params
        sparse = list((params.sparse_vectors or {}).keys())
        if isinstance(params.vectors, dict):
            return [*params.vectors.keys(), *sparse], False
        return (["", *sparse] if params.vectors is not None else sparse), params.vectors is not None

    async def recover_snapshot(self, collection: str, location: str, checksum: str | None) -> None:
        """Create `collection` from a snapshot Qdrant downloads from `location` (waits until done)."""
        await with_retries(
            lambda: self._client.recover_snapshot(collection, location, checksum=checksum, wait=True)
        )

    async def delete_collection(self, collection: str) -> None:
        """Delete a collection (a missing one is fine)."""
        await with_retries(lambda: self._client.delete_collection(collection))

    async def count(self, collection: str, count_filter: models.Filter | None = None) -> int:
        """The exact number of points."""
        result = await with_retries(
            lambda: self._client.count(collection, count_filter=count_filter, exact=True)
        )
        return int(result.count)

    async def query_ids(self, collection: str, request: models.QueryRequest) -> list[int | str]:
        """Ids of the points a Query API request returns, best first."""
        api = self._client.http.search_api
        response = await with_retries(lambda: api.query_points(collection, query_request=request))
        points = response.result.points if response.result else []
        return [p.id if isinstance(p.id, int) else str(p.id) for p in points]

    async def vector_of(self, collection: str, point_id: int, using: str) -> list[float] | None:
        """One point's dense vector, or None when the point or vector is missing."""
        records = await with_retries(
            lambda: self._client.retrieve(collection, [point_id], with_payload=False, with_vectors=True)
        )
        if not records:
            return None
        raw: Any = records[0].vector
        vector = raw.get(using) if isinstance(raw, dict) else raw
        if not isinstance(vector, list) or not vector or not isinstance(vector[0], int | float):
            return None
        return [float(x) for x in vector]


def _offset(value: Any) -> Offset:
    if value is None or isinstance(value, int):
        return value
    return str(value)
