"""Presets: use-case defaults under a QdrantCollection's explicit fields. Pure.

Merge rules (tests/unit/test_presets.py holds one row per rule):
- An explicit field wins over the preset, field by field, at every depth (`hnsw.m` set by the
  user keeps the preset's `hnsw.efConstruct`).
- A field neither the spec nor the preset sets stays None: not managed (never reset).
- Quantization is one of scalar/product/binary/disabled: an explicit choice of another kind
  replaces the preset's whole block; the same kind merges field by field.
- Payload indexes merge by field name: an explicit index on a field replaces the preset's.
- A preset never sets vectors, sparse vectors, sharding or WAL: those stay the user's choice.

Values and their sources are in docs/presets.md; the numbers come from the design notes and
Qdrant's optimization, indexing, quantization and multitenancy guides.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any, Final

from qco.api.collection import QdrantCollectionSpec
from qco.api.collection_config import CollectionConfig
from qco.plan.inputs import DesiredCollection

#: multi-tenant: the payload key of the tenant index when spec.tenantField is left out.
DEFAULT_TENANT_FIELD: Final = "tenant_id"

# Optimizer block of the design notes, shared by the search presets: vacuum at 20 % deleted,
# a few segments for parallel search, index once a segment passes ~20 MB, flush every 5 s.
_OPTIMIZERS: Final[dict[str, Any]] = {
    "deleted_threshold": 0.2,
    "vacuum_min_vector_number": 1000,
    "default_segment_number": 4,
    "indexing_threshold": 20000,
    "flush_interval_sec": 5,
}

#: Preset name -> CollectionConfig fields (snake_case, as `model_dump` gives them).
PRESETS: Final[dict[str, dict[str, Any]]] = {
    "hybrid-search": {
        "hnsw": {"m": 16, "ef_construct": 200, "full_scan_threshold": 10000},
        "quantization": {"scalar": {"type": "int8", "quantile": 0.99, "always_ram": True}},
        "optimizers": _OPTIMIZERS,
    },
    "semantic-search": {
        "hnsw": {"m": 32, "ef_construct": 400},
        "quantization": {"scalar": {"type": "int8", "quantile": 0.95, "always_ram": True}},
        "optimizers": _OPTIMIZERS,
    },
    "high-accuracy": {
        "hnsw": {"m": 32, "ef_construct": 400},
        "quantization": {"scalar": {"type": "int8", "quantile": 0.95, "always_ram": True}},
        # Fewer, larger segments: one bigger graph per query loses less recall than many small ones.
        "optimizers": {**_OPTIMIZERS, "default_segment_number": 2},
    },
    "high-performance": {
        "hnsw": {"m": 8, "ef_construct": 100},
        "quantization": {"binary": {"always_ram": True}},
        "optimizers": _OPTIMIZERS,
    },
    "multi-tenant": {
        # No collection-wide graph; per-tenant graphs through payload_m on the tenant index.
        "hnsw": {"m": 0, "payload_m": 16},
        "payload_indexes": [{"field": DEFAULT_TENANT_FIELD, "type": "keyword", "is_tenant": True}],
    },
}

_CONFIG_FIELDS: Final = frozenset(CollectionConfig.model_fields)


def preset_fields(name: str, tenant_field: str | None = None) -> dict[str, Any]:
    """The CollectionConfig fields a preset supplies (a fresh copy)."""
    fields: dict[str, Any] = _copy(PRESETS[name])
    if tenant_field and "payload_indexes" in fields:
        for index in fields["payload_indexes"]:
            index["field"] = tenant_field
    return fields


def effective_spec(spec: QdrantCollectionSpec) -> QdrantCollectionSpec:
    """`spec` with its preset's defaults under its explicit fields; the spec itself without a preset."""
    if spec.preset is None:
        return spec
    explicit = spec.model_dump(exclude_none=True)
    merged = merge_fields(preset_fields(spec.preset, spec.tenant_field), explicit)
    return QdrantCollectionSpec.model_validate(merged)


def with_preset(desired: DesiredCollection) -> DesiredCollection:
    """The desired collection with its preset merged in (itself when it has none)."""
    if desired.spec.preset is None:
        return desired
    return replace(desired, spec=effective_spec(desired.spec))


def effective_config(spec: QdrantCollectionSpec) -> CollectionConfig:
    """Only the Qdrant settings of the effective spec (for status.effective and `qco plan`)."""
    dumped = effective_spec(spec).model_dump(exclude_none=True, include=set(_CONFIG_FIELDS))
    dumped.pop("metadata", None)
    return CollectionConfig.model_validate(dumped)


def merge_fields(defaults: dict[str, Any], explicit: dict[str, Any]) -> dict[str, Any]:
    """Explicit values over defaults, recursively, with the quantization and index rules above."""
    out: dict[str, Any] = _copy(defaults)
    for key, value in explicit.items():
        base = out.get(key)
        if key == "payload_indexes" and isinstance(base, list):
            mine = {index["field"] for index in value}
            out[key] = [i for i in base if i["field"] not in mine] + _copy(value)
        elif key == "quantization" and isinstance(base, dict) and set(base) != set(value):
            out[key] = _copy(value)  # another kind of quantization: the preset's block does not apply
        elif isinstance(base, dict) and isinstance(value, dict):
            out[key] = merge_fields(base, value)
        else:
            out[key] = _copy(value)
    return out


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def describe_effective(spec: QdrantCollectionSpec) -> str:
    """The lines `qco plan` prints: the preset and the effective settings it manages (YAML-like)."""
    if spec.preset is None:
        return ""
    config = effective_config(spec).to_manifest()
    lines = [f"  effective settings (preset {spec.preset}, explicit fields win):"]
    for key in ("hnsw", "quantization", "optimizers", "payloadIndexes"):
        if key in config:
            lines.append(f"    {key}: {json.dumps(config[key], sort_keys=True)}")
    return "\n".join(lines)
