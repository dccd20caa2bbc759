"""What the Edge shard's own files say: desired config, live segments, payload indexes.

qdrant-edge-py 0.9.0 has no getter for the effective config, but its files use Qdrant's
REST JSON shapes. Every path and shape read here is pinned by a contract test so that an
upgrade of qdrant-edge-py that changes them fails loudly.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter
from qdrant_client.http import models

Json = dict[str, Any]

EDGE_CONFIG = "edge_config.json"
SEGMENTS = "segments"
SEGMENT_CONFIG = "segment.json"
PAYLOAD_INDEX_CONFIG = "payload_index/config.json"

_FIELD_SCHEMA = TypeAdapter(models.PayloadFieldSchema)
# HNSW options that change the built graph; a live segment built with others is outdated.
_HNSW_BUILD_KEYS = ("m", "ef_construct", "payload_m")


def read_json(path: Path) -> Json:
    """Read a JSON object from a file."""
    data: Json = json.loads(path.read_text())
    return data


def write_json(path: Path, data: Any) -> None:
    """Write JSON atomically (temp file + rename) so a crash never leaves half a config."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
    tmp.replace(path)


def read_edge_config(shard_dir: Path) -> Json:
    """The desired config the shard persisted (`edge_config.json`)."""
    return read_json(shard_dir / EDGE_CONFIG)


def segment_configs(shard_dir: Path, live_ids: list[str]) -> dict[str, Json]:
    """`segment.json` of each live segment (live ids are the keys of `snapshot_manifest()`)."""
    return {seg: read_json(shard_dir / SEGMENTS / seg / SEGMENT_CONFIG) for seg in live_ids}


def payload_field_schemas(shard_dir: Path, live_ids: list[str]) -> dict[str, models.PayloadFieldSchema]:
    """Indexed payload fields with their params, from a live segment's `payload_index/config.json`."""
    for seg in live_ids:
        path = shard_dir / SEGMENTS / seg / PAYLOAD_INDEX_CONFIG
        if path.exists():
            fields = read_json(path).get("indexed_fields", {})
            return {name: _FIELD_SCHEMA.validate_python(schema) for name, schema in fields.items()}
    return {}


def _desired_hnsw(edge: Json, vector: str) -> Json:
    per_vector = edge.get("vectors", {}).get(vector, {}).get("hnsw_config")
    hnsw: Json = per_vector or edge.get("hnsw_config", {})
    return hnsw


def _desired_quantization(edge: Json, vector: str) -> Json | None:
    per_vector = edge.get("vectors", {}).get(vector, {}).get("quantization_config")
    quantization: Json | None = per_vector or edge.get("quantization_config")
    return quantization


def outdated_segments(edge: Json, segments: dict[str, Json]) -> list[str]:
    """Live indexed segments built with other HNSW or quantization settings than desired.

    Plain (appendable) segments are skipped: they are not built, the optimizer indexes them.
    """
    outdated = []
    for seg, data in segments.items():
        for vector, vector_data in data.get("config", {}).get("vector_data", {}).items():
            index = vector_data.get("index", {})
            if index.get("type") != "hnsw":
                continue
            options = index.get("options", {})
            desired = _desired_hnsw(edge, vector)
            hnsw_differs = any(options.get(k) != desired.get(k) for k in _HNSW_BUILD_KEYS)
            quantization_differs = vector_data.get("quantization_config") != _desired_quantization(
                edge, vector
            )
            if hnsw_differs or quantization_differs:
                outdated.append(seg)
                break
    return outdated


def unindexed_kb(edge: Json, segments: dict[str, Json], points_count: int, indexed_vectors: int) -> float:
    """Rough size in KB of dense vectors not yet in an HNSW index (drives auto-indexing)."""
    dims = [v.get("size", 0) for v in edge.get("vectors", {}).values()]
    if not dims:
        return 0.0
    pending_vectors = max(points_count * len(dims) - indexed_vectors, 0)
    return float(pending_vectors * (sum(dims) / len(dims)) * 4 / 1024)
