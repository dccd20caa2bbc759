"""The only code that talks to Qdrant: typed operations over qdrant-client's REST API.

One `QdrantGateway` per (url, api key) is shared by every resource that points there,
with a concurrency limit and request metrics. Requests and responses use qdrant-client's
own models, so what the planner builds is exactly what goes over the wire.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from qdrant_client import AsyncQdrantClient
from qdrant_client.http import models
from qdrant_client.http.exceptions import UnexpectedResponse

from qco.clients.tls import TlsTrust
from qco.metrics import Metrics

T = TypeVar("T")

# Aliases are listed once per pass and shared by every resource on the endpoint; a pass of
# many objects finishes well within this window, and a write through this gateway resets it.
ALIAS_CACHE_SECONDS = 5.0


@dataclass(frozen=True)
class Endpoint:
    """Where a resource's Qdrant is. The API key never appears in repr or logs."""

    url: str
    api_key: str | None = field(default=None, repr=False)
    timeout_seconds: float = 10.0
    tls: TlsTrust = field(default_factory=TlsTrust)


class QdrantGateway:
    """Typed Qdrant operations on one endpoint."""

    def __init__(self, endpoint: Endpoint, metrics: Metrics, limit: asyncio.Semaphore) -> None:
        self.endpoint = endpoint
        self._client = AsyncQdrantClient(
            url=endpoint.url,
            api_key=endpoint.api_key,
            timeout=max(1, round(endpoint.timeout_seconds)),
            prefer_grpc=False,
            check_compatibility=False,
            verify=endpoint.tls.verify(),
        )
        self._metrics = metrics
        self._limit = limit
        self._aliases: tuple[float, dict[str, str]] | None = None
        self._aliases_lock = asyncio.Lock()

    async def close(self) -> None:
        """Close the underlying HTTP connections."""
        await self._client.close()

    async def _call(self, operation: str, call: Callable[[], Awaitable[T]]) -> T:
        started = time.monotonic()
        outcome = "error"
        async with self._limit:
            try:
                result = await call()
                outcome = "ok"
                return result
            except UnexpectedResponse as exc:
                outcome = str(exc.status_code)
                raise
            finally:
                self._metrics.qdrant_request_duration.labels(operation, outcome).observe(
                    time.monotonic() - started
                )

    async def get_collection(self, name: str) -> models.CollectionInfo | None:
        """The live collection, or None when it does not exist."""
        api = self._client.http.collections_api
        try:
            response = await self._call("get_collection", lambda: api.get_collection(name))
        except UnexpectedResponse as exc:
            if exc.status_code == 404:
                return None
            raise
        return response.result

    async def list_aliases(self, fresh: bool = False) -> dict[str, str]:
        """alias -> collection for the whole endpoint, read at most once per cache window."""
        async with self._aliases_lock:
            now = time.monotonic()
            if not fresh and self._aliases is not None and now - self._aliases[0] < ALIAS_CACHE_SECONDS:
                return dict(self._aliases[1])
            api = self._client.http.aliases_api
            response = await self._call("list_aliases", api.get_collections_aliases)
            aliases = {
                a.alias_name: a.collection_name for a in (response.result.aliases if response.result else [])
            }
            self._aliases = (time.monotonic(), aliases)
            return dict(aliases)

    def _forget_aliases(self) -> None:
        self._aliases = None

    async def create_collection(self, name: str, request: models.CreateCollection) -> None:
        """Create a collection (409 if it exists)."""
        api = self._client.http.collections_api
        await self._call("create_collection", lambda: api.create_collection(name, create_collection=request))

    async def update_collection(self, name: str, request: models.UpdateCollection) -> None:
        """PATCH the given blocks of a collection's config."""
        api = self._client.http.collections_api
        await self._call("update_collection", lambda: api.update_collection(name, update_collection=request))

    async def delete_collection(self, name: str) -> None:
        """Delete a collection (and, in Qdrant, its aliases)."""
        api = self._client.http.collections_api
        self._forget_aliases()
        await self._call("delete_collection", lambda: api.delete_collection(name))

    async def create_vector(
        self, name: str, vector: str, config: models.DenseVectorNameConfig | models.SparseVectorNameConfig
    ) -> None:
        """Add a named vector to an existing collection."""
        api = self._client.http.collections_api
        await self._call(
            "create_vector",
            lambda: api.create_vector_name(name, vector, wait=True, vector_name_config=config),
        )

    async def delete_vector(self, name: str, vector: str) -> None:
        """Remove a named vector (and its data) from a collection."""
        api = self._client.http.collections_api
        await self._call("delete_vector", lambda: api.delete_vector_name(name, vector, wait=True))

    async def create_payload_index(self, name: str, request: models.CreateFieldIndex) -> None:
        """Create or replace a payload index."""
        api = self._client.http.indexes_api
        await self._call(
            "create_payload_index",
            lambda: api.create_field_index(name, wait=True, create_field_index=request),
        )

    async def delete_payload_index(self, name: str, field_name: str) -> None:
        """Delete a payload index."""
        api = self._client.http.indexes_api
        await self._call("delete_payload_index", lambda: api.delete_field_index(name, field_name, wait=True))

    async def update_aliases(self, operations: list[models.AliasOperations]) -> None:
        """Apply alias operations atomically, in one request."""
        api = self._client.http.aliases_api
        self._forget_aliases()
        request = models.ChangeAliasesOperation(actions=operations)
        await self._call("update_aliases", lambda: api.update_aliases(change_aliases_operation=request))


class QdrantPool:
    """One shared gateway per (url, api key), created on first use and closed at shutdown."""

    def __init__(self, metrics: Metrics, max_concurrency_per_endpoint: int) -> None:
        self._metrics = metrics
        self._max_concurrency = max_concurrency_per_endpoint
        self._gateways: dict[tuple[str, str | None, float, TlsTrust], QdrantGateway] = {}
        # The limit is per URL: resources with different keys or timeouts share one Qdrant.
        self._limits: dict[str, asyncio.Semaphore] = {}

    def gateway(self, endpoint: Endpoint) -> QdrantGateway:
        """The gateway for this endpoint."""
        url = endpoint.url.rstrip("/")
        key = (url, endpoint.api_key, endpoint.timeout_seconds, endpoint.tls)
        gateway = self._gateways.get(key)
        if gateway is None:
            limit = self._limits.setdefault(url, asyncio.Semaphore(self._max_concurrency))
            gateway = self._gateways[key] = QdrantGateway(endpoint, self._metrics, limit)
        return gateway

    async def close(self) -> None:
        """Close every gateway."""
        gateways, self._gateways = list(self._gateways.values()), {}
        await asyncio.gather(*(g.close() for g in gateways), return_exceptions=True)
