"""Qdrant snapshots over plain HTTP (qdrant-client cannot stream a download): create, stream,
delete, recover from a URL, plus the few collection calls a backup run and its verification need.

Every method raises `SnapshotError` with Qdrant's own message; the API key goes in a header and
never into a URL, a log line or an error.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from qco.clients.qdrant import Endpoint

#: Download chunk size: memory per stream stays this small whatever the snapshot's size.
CHUNK_BYTES = 1 << 20
#: Creating a snapshot or recovering one takes as long as the data needs.
LONG_CALL_SECONDS = 3600.0


class SnapshotError(Exception):
    """A snapshot call failed; the message says which and why (Qdrant's text, never the key).

    `status` is Qdrant's HTTP status when it answered (None when it was unreachable), so a caller
    can tell "already gone" (404) from a failure.
    """

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class SnapshotInfo:
    """A snapshot on the node: its name, size and Qdrant's SHA-256."""

    name: str
    size: int | None
    checksum: str | None


class SnapshotClient:
    """Snapshot and collection calls on one Qdrant endpoint."""

    def __init__(self, endpoint: Endpoint) -> None:
        headers = {"api-key": endpoint.api_key} if endpoint.api_key else {}
        self._http = httpx.AsyncClient(
            base_url=endpoint.url.rstrip("/"),
            headers=headers,
            timeout=httpx.Timeout(endpoint.timeout_seconds, read=LONG_CALL_SECONDS),
            verify=endpoint.tls.verify(),
        )

    async def __aenter__(self) -> SnapshotClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._http.aclose()

    async def _json(self, method: str, path: str, what: str, **kwargs: Any) -> Any:
        try:
            response = await self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise SnapshotError(f"{what}: Qdrant is unreachable: {type(exc).__name__} {exc}") from None
        if response.status_code >= 400:
            raise SnapshotError(
                f"{what}: Qdrant answered {response.status_code}: {_error_text(response)}",
                response.status_code,
            )
        return response.json().get("result")

    async def create(self, collection: str) -> SnapshotInfo:
        """Create a snapshot of `collection` and wait for it."""
        result = await self._json(
            "POST",
            f"/collections/{quote(collection)}/snapshots",
            f"snapshot of {collection}",
            params={"wait": "true"},
        )
        return SnapshotInfo(str(result["name"]), result.get("size"), result.get("checksum"))

    @asynccontextmanager
    async def download(self, collection: str, snapshot: str) -> AsyncIterator[AsyncIterator[bytes]]:
        """Stream a snapshot's bytes, CHUNK_BYTES at a time (never the whole file in memory)."""
        path = f"/collections/{quote(collection)}/snapshots/{quote(snapshot)}"
        try:
            async with self._http.stream("GET", path) as response:
                if response.status_code >= 400:
                    await response.aread()
                    text = _error_text(response)
                    raise SnapshotError(
                        f"download of {snapshot}: Qdrant answered {response.status_code}: {text}"
                    )
                yield response.aiter_bytes(CHUNK_BYTES)
        except httpx.HTTPError as exc:
            raise SnapshotError(f"download of {snapshot}: {type(exc).__name__} {exc}") from None

    async def delete(self, collection: str, snapshot: str) -> None:
        """Delete a snapshot from the node."""
        path = f"/collections/{quote(collection)}/snapshots/{quote(snapshot)}"
        await self._json("DELETE", path, f"delete of snapshot {snapshot}", params={"wait": "true"})

    async def list(self, collection: str) -> list[SnapshotInfo]:
        """The collection's snapshots on the node."""
        result = await self._json(
            "GET", f"/collections/{quote(collection)}/snapshots", f"snapshots of {collection}"
        )
        return [SnapshotInfo(str(s["name"]), s.get("size"), s.get("checksum")) for s in result or []]

    async def recover(self, collection: str, location: str, checksum: str | None) -> None:
        """Fill `collection` from a snapshot at `location` (Qdrant downloads it and checks the SHA-256)."""
        body: dict[str, Any] = {"location": location, "priority": "snapshot"}
        if checksum:
            body["checksum"] = checksum
        await self._json(
            "PUT",
            f"/collections/{quote(collection)}/snapshots/recover",
            f"recovery of {collection}",
            params={"wait": "true"},
            json=body,
        )

    async def exists(self, collection: str) -> bool:
        """Whether the collection exists."""
        response = await self._http.get(f"/collections/{quote(collection)}/exists")
        if response.status_code >= 400:
            raise SnapshotError(f"exists {collection}: Qdrant answered {response.status_code}")
        return bool(response.json()["result"]["exists"])

    async def count(self, collection: str) -> int:
        """The exact number of points."""
        result = await self._json(
            "POST",
            f"/collections/{quote(collection)}/points/count",
            f"count of {collection}",
            json={"exact": True},
        )
        return int(result["count"])

    async def delete_collection(self, collection: str) -> None:
        """Delete a collection (a scratch one)."""
        await self._json("DELETE", f"/collections/{quote(collection)}", f"delete of {collection}")


def _error_text(response: httpx.Response) -> str:
    try:
        body = response.json()
        error = body.get("status", {}).get("error") if isinstance(body, dict) else None
        if isinstance(error, str):
            return error[:1000]
    except ValueError:
        pass
    return response.text[:1000] or response.reason_phrase
