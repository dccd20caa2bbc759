"""Pure: the spec a window's child QdrantCollection should have, given the deployment's template and
the window's tier.

A window keeps what Qdrant cannot change in place (its vector set with sizes, distances,
datatypes, multivector layouts; sparse vectors; shard number and method; WAL): a template change
there reaches the next window. Everything Qdrant changes in place (HNSW, quantization, optimizers,
on-disk flags, payload indexes, replication, metadata) follows the template in every window, and
the cold tier's overrides go on top.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from qco.api.collection import QdrantCollectionSpec
from qco.api.collection_config import CollectionConfig

#: Per-vector fields fixed when a window is created.
FIXED_VECTOR_FIELDS = ("size", "distance", "datatype", "multivector")
#: Collection fields fixed when a window is created.
FIXED_FIELDS = ("sparseVectors", "shardNumber", "shardingMethod", "wal")
#: Replaced whole by an override, never merged (a scalar and a binary block together are invalid).
REPLACED_WHOLE = ("quantization",)
#: The template's keys (camelCase); anything else in a child's spec is the child's own.
CONFIG_KEYS = frozenset((field.alias or name) for name, field in CollectionConfig.model_fields.items())


def window_spec(
    live: Mapping[str, Any], template: Mapping[str, Any], overrides: Mapping[str, Any] | None
) -> dict[str, Any]:
    """The child's spec: its own keys and fixed fields from `live`, the template's mutable fields,
    then `overrides` (the cold tier) on top."""
    out: dict[str, Any] = {k: copy.deepcopy(v) for k, v in live.items() if k not in CONFIG_KEYS}
    for key, value in template.items():
        if key in CONFIG_KEYS and key not in FIXED_FIELDS and key != "vectors" and key != "aliases":
            out[key] = copy.deepcopy(value)
    for key in FIXED_FIELDS:
        if key in live:
            out[key] = copy.deepcopy(live[key])
    if "vectors" in live:
        wanted = template.get("vectors") or {}
        vectors: dict[str, Any] = {}
        for name, fixed in (live.get("vectors") or {}).items():
            mutable = {k: v for k, v in (wanted.get(name) or {}).items() if k not in FIXED_VECTOR_FIELDS}
            vectors[name] = {
                **copy.deepcopy(mutable),
                **{k: fixed[k] for k in FIXED_VECTOR_FIELDS if k in fixed},
            }
        out["vectors"] = vectors
    if overrides:
        out = _overlay(out, overrides)
    return out


def _overlay(base: Mapping[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in top.items():
        if key == "vectors":
            vectors = dict(out.get("vectors") or {})
            for name, vector in (value or {}).items():
                if name in vectors:  # an override for a vector the window lacks adds nothing
                    vectors[name] = _overlay(vectors[name], vector)
            out["vectors"] = vectors
        elif isinstance(value, Mapping) and isinstance(out.get(key), Mapping) and key not in REPLACED_WHOLE:
            out[key] = _overlay(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def same_spec(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """Whether two child specs mean the same (defaults the API server fills in do not count)."""
    return bool(_normal(a) == _normal(b))


def _normal(spec: Mapping[str, Any]) -> Any:
    try:
        model = QdrantCollectionSpec.model_validate(dict(spec))
    except ValueError:
        return dict(spec)  # not a valid spec: compared as written (the child reports why)
    return model.model_dump(mode="json", by_alias=True, exclude_none=True)
