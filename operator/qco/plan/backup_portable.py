"""The portable backup format, as pure functions: points as gzip-compressed JSON lines, and a
collection manifest (Qdrant's own collection config and payload schema, counts, the parts with
their SHA-256) from which a collection is created again anywhere.

Version 1 layout, under a run's prefix:

    <name>.portable/part-00000.jsonl.gz    {"id": ..., "vector": ..., "payload": ...} per line
    <name>.portable/collection.json        this module's `collection_manifest`

Vectors and payloads are JSON as qdrant-client returns them; a float written with Python's repr
reads back as the same float, so a restore reproduces every vector bit for bit.
"""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Iterable
from typing import Any

from qdrant_client.http import models

from qco.api.common import API_VERSION

PORTABLE_VERSION = 1
PORTABLE_KIND = "PortableCollection"
#: The collection manifest's file name inside `<name>.portable/`.
COLLECTION_MANIFEST = "collection.json"
#: Points per part: memory while exporting or restoring is about one part.
PART_POINTS = 5000
#: Points per upsert request during a restore.
UPSERT_BATCH = 256
#: Metadata key on a collection a portable restore is still filling (removed when it is done).
RESTORING_KEY = "qco.dev/restoring"


class PortableFormatError(ValueError):
    """A portable backup cannot be read or restored; the message says what is wrong."""


def portable_prefix(run_prefix: str, name: str) -> str:
    """Where one collection's portable backup lives inside a run."""
    return f"{run_prefix}{name}.portable/"


def part_key(prefix: str, number: int) -> str:
    """The key of part `number` (from 0)."""
    return f"{prefix}part-{number:05d}.jsonl.gz"


def point_line(record: models.Record) -> bytes:
    """One point as a JSON line (id, vector, payload; nothing else)."""
    dumped = record.model_dump(mode="json", include={"id", "vector", "payload"})
    return json.dumps(dumped, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"


class PartWriter:
    """Compresses JSON lines as they come, so a part is held compressed, never as text."""

    def __init__(self) -> None:
        self._compressor = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)  # gzip framing
        self._chunks: list[bytes] = []
        self.points = 0

    def add(self, record: models.Record) -> None:
        """Append one point."""
        self._chunks.append(self._compressor.compress(point_line(record)))
        self.points += 1

    def finish(self) -> bytes:
        """The part's bytes (a complete gzip member)."""
        self._chunks.append(self._compressor.flush())
        return b"".join(self._chunks)


def encode_part(records: Iterable[models.Record]) -> bytes:
    """A whole part at once (tests, small exports)."""
    writer = PartWriter()
    for record in records:
        writer.add(record)
    return writer.finish()


def decode_part(body: bytes) -> list[models.PointStruct]:
    """A part's points, ready to upsert."""
    try:
        text = gzip.decompress(body)
    except (OSError, EOFError, zlib.error) as exc:
        raise PortableFormatError(f"a part is not gzip data: {exc}") from None
    points = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            points.append(models.PointStruct.model_validate(json.loads(line)))
        except ValueError as exc:
            raise PortableFormatError(f"line {number} of a part is not a point: {exc}") from None
    return points


def collection_manifest(
    collection: str, info: dict[str, Any], points: int, parts: list[dict[str, Any]]
) -> dict[str, Any]:
    """The manifest of one collection's portable backup; `info` is Qdrant's collection info as JSON."""
    return {
        "apiVersion": API_VERSION,
        "kind": PORTABLE_KIND,
        "version": PORTABLE_VERSION,
        "collection": collection,
        "config": info.get("config") or {},
        "payloadSchema": info.get("payload_schema") or {},
        "points": points,
        "parts": parts,
    }


def check_manifest(manifest: Any) -> dict[str, Any]:
    """The manifest if this version can restore it; PortableFormatError saying why not otherwise."""
    if not isinstance(manifest, dict) or manifest.get("kind") != PORTABLE_KIND:
        raise PortableFormatError("not a portable collection manifest")
    if manifest.get("version") != PORTABLE_VERSION:
        raise PortableFormatError(
            f"portable format version {manifest.get('version')} (this qco reads {PORTABLE_VERSION})"
        )
    return manifest


def unsupported_reason(info: dict[str, Any]) -> str | None:
    """Why a collection cannot be exported portably (None when it can)."""
    params = (info.get("config") or {}).get("params") or {}
    if params.get("sharding_method") == "custom":
        return "format portable does not support custom sharding (shard keys); use format: snapshot"
    return None


def create_request(config: dict[str, Any], metadata: dict[str, Any]) -> models.CreateCollection:
    """The request that creates a collection with a backed-up config (and `metadata` instead of
    the source's own)."""
    params = dict(config.get("params") or {})
    body: dict[str, Any] = {
        key: params[key]
        for key in (
            "vectors",
            "shard_number",
            "sharding_method",
            "replication_factor",
            "write_consistency_factor",
            "on_disk_payload",
            "sparse_vectors",
        )
        if params.get(key) is not None
    }
    for source, target in (
        ("hnsw_config", "hnsw_config"),
        ("wal_config", "wal_config"),
        ("optimizer_config", "optimizers_config"),
        ("quantization_config", "quantization_config"),
        ("strict_mode_config", "strict_mode_config"),
    ):
        if config.get(source) is not None:
            body[target] = config[source]
    body["metadata"] = metadata
    try:
        return models.CreateCollection.model_validate(body)
    except ValueError as exc:
        raise PortableFormatError(f"the backed-up collection config is not usable: {exc}") from None


def index_requests(payload_schema: dict[str, Any]) -> list[models.CreateFieldIndex]:
    """The payload indexes of a backed-up collection, in field order."""
    requests = []
    for field_name in sorted(payload_schema):
        entry = payload_schema[field_name] or {}
        schema = entry.get("params") or entry.get("data_type")
        if schema is None:
            continue
        requests.append(
            models.CreateFieldIndex.model_validate({"field_name": field_name, "field_schema": schema})
        )
    return requests


def batches(points: list[models.PointStruct], size: int = UPSERT_BATCH) -> list[list[models.PointStruct]]:
    """Upsert batches of at most `size` points."""
    return [points[start : start + size] for start in range(0, len(points), size)]
