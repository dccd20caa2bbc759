"""Portable backups against Qdrant and the bucket: export scrolls a collection into compressed JSONL
parts (one part in memory at a time) and writes the collection manifest last; import creates the
collection from the manifest's config and upserts every part (by id, so running it again after an
interruption converges on the same points).

A scroll is not a point-in-time snapshot: writes made during an export may or may not be in it.
The manifest records the points exported; the run also records the count taken before.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from qco.clients.qdrant_portable import PortableQdrant
from qco.clients.s3 import S3Store
from qco.plan.backup_portable import (
    COLLECTION_MANIFEST,
    PART_POINTS,
    RESTORING_KEY,
    PartWriter,
    PortableFormatError,
    batches,
    check_manifest,
    collection_manifest,
    create_request,
    decode_part,
    index_requests,
    part_key,
    unsupported_reason,
)

#: Points per scroll request.
SCROLL_PAGE = 1000


@dataclass(frozen=True)
class Exported:
    """What an export wrote: the collection manifest's key and SHA-256, total bytes, points."""

    key: str
    sha256: str
    size: int
    points: int
    parts: int


async def export_collection(
    store: S3Store, qdrant: PortableQdrant, collection: str, prefix: str, part_points: int = PART_POINTS
) -> Exported:
    """Scroll `collection` into parts under `prefix`, then its manifest (written last)."""
    info = await qdrant.collection_json(collection)
    if info is None:
        raise PortableFormatError(f"collection {collection} does not exist")
    reason = unsupported_reason(info)
    if reason is not None:
        raise PortableFormatError(reason)
    parts: list[dict[str, Any]] = []
    total = size = 0
    writer = PartWriter()
    offset: Any = None

    async def flush() -> None:
        nonlocal writer, size
        uploaded = await store.put_bytes(part_key(prefix, len(parts)), writer.finish())
        parts.append(
            {"key": uploaded.key, "points": writer.points, "size": uploaded.size, "sha256": uploaded.sha256}
        )
        size += uploaded.size
        writer = PartWriter()

    while True:
        records, offset = await qdrant.scroll(collection, offset, SCROLL_PAGE, with_vectors=True)
        for record in records:
            writer.add(record)
            total += 1
            if writer.points >= part_points:
                await flush()
        if offset is None:
            break
    if writer.points or not parts:
        await flush()
    manifest = collection_manifest(collection, info, total, parts)
    body = json.dumps(manifest, indent=1, sort_keys=True).encode()
    uploaded = await store.put_bytes(prefix + COLLECTION_MANIFEST, body)
    return Exported(uploaded.key, uploaded.sha256, size + uploaded.size, total, len(parts))


async def read_manifest(store: S3Store, key: str, sha256: str | None) -> dict[str, Any]:
    """A collection manifest, checked against the SHA-256 the run recorded."""
    body = await store.get_bytes(key)
    if sha256 and hashlib.sha256(body).hexdigest() != sha256:
        raise PortableFormatError(f"SHA-256 of {key} differs from the run's record (object changed)")
    try:
        return check_manifest(json.loads(body))
    except ValueError as exc:
        raise PortableFormatError(f"{key}: {exc}") from None


async def import_collection(
    store: S3Store,
    qdrant: PortableQdrant,
    key: str,
    sha256: str | None,
    collection: str,
    source: str,
) -> int:
    """Create `collection` from the manifest at `key` (unless a previous attempt did) and upsert every
    part; returns the points written. The collection carries RESTORING_KEY until the caller clears it."""
    manifest = await read_manifest(store, key, sha256)
    if not await qdrant.exists(collection):
        metadata = {**(manifest["config"].get("metadata") or {}), RESTORING_KEY: source}
        await qdrant.create_collection(collection, create_request(manifest["config"], metadata))
    for request in index_requests(manifest.get("payloadSchema") or {}):
        await qdrant.create_payload_index(collection, request)
    written = 0
    for part in manifest.get("parts") or []:
        body = await store.get_bytes(str(part["key"]))
        if hashlib.sha256(body).hexdigest() != part.get("sha256"):
            raise PortableFormatError(f"SHA-256 of {part['key']} differs from the manifest (object changed)")
        points = decode_part(body)
        if len(points) != part.get("points"):
            raise PortableFormatError(
                f"{part['key']} holds {len(points)} points, the manifest says {part['points']}"
            )
        for batch in batches(points):
            await qdrant.upsert(collection, batch)
        written += len(points)
    if written != manifest.get("points"):
        raise PortableFormatError(
            f"the parts hold {written} points, the manifest says {manifest.get('points')}"
        )
    return written


async def finish_import(qdrant: PortableQdrant, collection: str) -> None:
    """The collection is complete: clear the restoring mark."""
    await qdrant.set_metadata(collection, {RESTORING_KEY: None})


def is_restoring(metadata: dict[str, Any] | None) -> bool:
    """Whether a collection is a portable restore that has not finished."""
    return bool((metadata or {}).get(RESTORING_KEY))
