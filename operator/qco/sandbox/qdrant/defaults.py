"""Defaults a real Qdrant fills into a collection's config (Qdrant 1.19 `config/config.yaml`).

Kept as data so GET /collections/{c} reports what Qdrant reports when the create request
left a section out, and so the planner's "not managed" rules see realistic values.
"""

from __future__ import annotations

from typing import Any, Final

QDRANT_VERSION: Final = "1.19.0"
# `GET /` reports the build's git commit (40 hex digits); the stand-in has no Qdrant build,
# so it sends a fixed, recognisably fake one of the right shape.
QDRANT_COMMIT: Final = "0" * 32 + "5a4db0c0"

HNSW: Final[dict[str, Any]] = {
    "m": 16,
    "ef_construct": 100,
    "full_scan_threshold": 10000,
    "max_indexing_threads": 0,
    "on_disk": False,
}

# Edge knows these optimizer fields; the others live in the side file.
OPTIMIZERS_EDGE: Final[dict[str, Any]] = {
    "deleted_threshold": 0.2,
    "vacuum_min_vector_number": 1000,
    "default_segment_number": 0,
    "max_segment_size": None,
    "indexing_threshold": 10000,
}
OPTIMIZERS_SIDE: Final[dict[str, Any]] = {
    "memmap_threshold": None,
    "flush_interval_sec": 5,
    "max_optimization_threads": None,
}
OPTIMIZERS_EDGE_KEYS: Final = frozenset({*OPTIMIZERS_EDGE, "prevent_unoptimized"})

WAL: Final[dict[str, Any]] = {"wal_capacity_mb": 32, "wal_segments_ahead": 0, "wal_retain_closed": 1}

PARAMS: Final[dict[str, Any]] = {
    "shard_number": 1,
    "replication_factor": 1,
    "write_consistency_factor": 1,
}
ON_DISK_PAYLOAD: Final = True
STRICT_MODE: Final[dict[str, Any]] = {"enabled": False}
