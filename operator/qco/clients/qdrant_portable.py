"""The Qdrant calls of a portable backup and its restore: the collection's config as JSON, create a
collection and its payload indexes, set metadata, delete; scroll, upsert and count come from
`PointsClient` (retried on 5xx, 429 and transport errors)."""

from __future__ import annotations

from typing import Any

from qdrant_client.http import models
from qdrant_client.http.exceptions import UnexpectedResponse

from qco.clients.qdrant_points import PointsClient, with_retries


class PortableQdrant(PointsClient):
    """Points plus the collection calls a portable export and restore need."""

    async def __aenter__(self) -> PortableQdrant:
        return self

    async def collection_json(self, collection: str) -> dict[str, Any] | None:
        """Qdrant's collection info as JSON (config, payload_schema), None when it does not exist."""
        try:
            info = await with_retries(lambda: self._client.get_collection(collection))
        except UnexpectedResponse as exc:
            if exc.status_code == 404:
                return None
            raise
        dumped: dict[str, Any] = info.model_dump(mode="json", exclude_none=True)
        return dumped

    async def exists(self, collection: str) -> bool:
        """Whether the collection exists."""
        return bool(await with_retries(lambda: self._client.collection_exists(collection)))

    async def create_collection(self, collection: str, request: models.CreateCollection) -> None:
        """Create a collection from a full request."""
        api = self._client.http.collections_api
        await with_retries(lambda: api.create_collection(collection, create_collection=request))

    async def create_payload_index(self, collection: str, request: models.CreateFieldIndex) -> None:
        """Create one payload index and wait for it."""
        api = self._client.http.indexes_api
        await with_retries(lambda: api.create_field_index(collection, create_field_index=request, wait=True))

    async def set_metadata(self, collection: str, metadata: dict[str, Any]) -> None:
        """Merge keys into the collection's metadata (a key set to None is removed by the caller's
        convention: readers treat a None value as absent)."""
        api = self._client.http.collections_api
        request = models.UpdateCollection(metadata=metadata)
        await with_retries(lambda: api.update_collection(collection, update_collection=request))

    async def delete_collection(self, collection: str) -> None:
        """Delete a collection (a scratch one)."""
        await with_retries(lambda: self._client.delete_collection(collection))
