"""Translate between Qdrant's REST collection config and the Edge shard's `edge_config.json`.

The Edge shard stores its desired config as JSON in (mostly) Qdrant's REST shapes, so the
translation is a small set of key moves. Fields Edge lacks live in a side file (`meta`),
echoed back faithfully. Read-back always starts from the shard's own file.
"""

from __future__ import annotations

import copy
from typing import Any

from qdrant_client.http import models

from qco.sandbox.qdrant import defaults
from qco.sandbox.qdrant.errors import bad_request

Json = dict[str, Any]

# Edge has no `index` object for sparse vectors: its keys sit next to `modifier`.
_SPARSE_INDEX_KEYS = ("full_scan_threshold", "on_disk", "memory", "datatype")
_PARAMS_SIDE_KEYS = (
    "replication_factor",
    "write_consistency_factor",
    "read_fan_out_factor",
    "read_fan_out_delay_ms",
)


def _dump(model: Any) -> Any:
    """A qdrant-client model as JSON, without unset/None fields (Edge rejects explicit nulls)."""
    if model is None:
        return None
    if hasattr(model, "model_dump"):
        return model.model_dump(mode="json", exclude_none=True)
    return model


def _merge(base: Json, diff: Json) -> Json:
    """Qdrant's PATCH rule: fields named in the diff replace, the rest stay (no reset to unset)."""
    merged = dict(base)
    merged.update({key: value for key, value in diff.items() if value is not None})
    return merged


def _is_disabled(quantization: Any) -> bool:
    return bool(quantization == models.Disabled.DISABLED or quantization == "Disabled")


def _sparse_to_edge(params: models.SparseVectorParams) -> Json:
    edge: Json = {}
    if params.index is not None:
        edge.update(_dump(params.index))
    if params.modifier is not None:
        edge["modifier"] = params.modifier.value
    return edge


def _sparse_from_edge(edge: Json) -> models.SparseVectorParams:
    index = {key: edge[key] for key in _SPARSE_INDEX_KEYS if edge.get(key) is not None}
    return models.SparseVectorParams(
        index=models.SparseIndexParams.model_validate(index) if index else None,
        modifier=edge.get("modifier"),
    )


def _resolve_vector_hnsw(edge: Json, meta: Json) -> None:
    """Edge wants a full HNSW config per vector; Qdrant keeps a diff. Expand diffs on the global."""
    for name, vector in edge["vectors"].items():
        diff = meta["vector_hnsw"].get(name)
        if diff:
            vector["hnsw_config"] = _merge(edge["hnsw_config"], diff)
        else:
            vector.pop("hnsw_config", None)


def create_request_to_edge(request: models.CreateCollection) -> tuple[Json, Json]:
    """Split a create request into the Edge config and the side-file meta (defaults filled in)."""
    vectors_in = request.vectors
    single = isinstance(vectors_in, models.VectorParams)
    named: dict[str, models.VectorParams]
    if vectors_in is None:
        named = {}
    elif isinstance(vectors_in, models.VectorParams):
        named = {"": vectors_in}
    else:
        named = dict(vectors_in)
    if not named and not request.sparse_vectors:
        raise bad_request("at least one dense or sparse vector must be configured")
    meta: Json = {
        "single_vector": single,
        "vector_hnsw": {},
        "shard_number": request.shard_number or defaults.PARAMS["shard_number"],
        "sharding_method": request.sharding_method.value if request.sharding_method else None,
        "replication_factor": request.replication_factor or defaults.PARAMS["replication_factor"],
        "write_consistency_factor": request.write_consistency_factor
        or defaults.PARAMS["write_consistency_factor"],
        "read_fan_out_factor": None,
        "read_fan_out_delay_ms": None,
        "wal_config": _merge(defaults.WAL, _dump(request.wal_config) or {}),
        "strict_mode_config": _merge(defaults.STRICT_MODE, _dump(request.strict_mode_config) or {}),
        "metadata": {k: v for k, v in (request.metadata or {}).items() if v is not None} or None,
        "optimizers_side": dict(defaults.OPTIMIZERS_SIDE),
    }
    optimizers = _dump(request.optimizers_config) or {}
    edge_optimizers = dict(defaults.OPTIMIZERS_EDGE)
    for key, value in optimizers.items():
        target = edge_optimizers if key in defaults.OPTIMIZERS_EDGE_KEYS else meta["optimizers_side"]
        target[key] = value
    edge: Json = {
        "vectors": {},
        "sparse_vectors": {name: _sparse_to_edge(p) for name, p in (request.sparse_vectors or {}).items()},
        "hnsw_config": _merge(defaults.HNSW, _dump(request.hnsw_config) or {}),
        "optimizers": {k: v for k, v in edge_optimizers.items() if v is not None},
        "on_disk_payload": defaults.ON_DISK_PAYLOAD
        if request.on_disk_payload is None
        else request.on_disk_payload,
    }
    if request.quantization_config is not None:
        edge["quantization_config"] = _dump(request.quantization_config)
    for name, params in named.items():
        vector = _dump(params)
        if params.hnsw_config is not None:
            meta["vector_hnsw"][name] = vector.pop("hnsw_config")
        edge["vectors"][name] = vector
    _resolve_vector_hnsw(edge, meta)
    return edge, meta


def apply_update(edge_in: Json, meta_in: Json, request: models.UpdateCollection) -> tuple[Json, Json]:
    """Apply a PATCH like Qdrant: merge what is named, keep the rest, never touch immutable fields."""
    edge = copy.deepcopy(edge_in)
    meta = copy.deepcopy(meta_in)
    for name, diff in (request.vectors or {}).items():
        if name not in edge["vectors"]:
            raise bad_request(f"Not existing vector name error: {name}")
        vector = edge["vectors"][name]
        if diff.hnsw_config is not None:
            meta["vector_hnsw"][name] = _merge(meta["vector_hnsw"].get(name, {}), _dump(diff.hnsw_config))
        if diff.quantization_config is not None:
            if _is_disabled(diff.quantization_config):
                vector.pop("quantization_config", None)
            else:
                vector["quantization_config"] = _dump(diff.quantization_config)
        if diff.on_disk is not None:
            vector["on_disk"] = diff.on_disk
        if diff.memory is not None:
            vector["memory"] = diff.memory.value
    for name, sparse in (request.sparse_vectors or {}).items():
        if name not in edge["sparse_vectors"]:
            raise bad_request(f"Not existing vector name error: {name}")
        edge["sparse_vectors"][name] = _merge(edge["sparse_vectors"][name], _sparse_to_edge(sparse))
    if request.hnsw_config is not None:
        edge["hnsw_config"] = _merge(edge["hnsw_config"], _dump(request.hnsw_config))
    if request.quantization_config is not None:
        if _is_disabled(request.quantization_config):
            edge.pop("quantization_config", None)
        else:
            edge["quantization_config"] = _dump(request.quantization_config)
    for key, value in (_dump(request.optimizers_config) or {}).items():
        if key in defaults.OPTIMIZERS_EDGE_KEYS:
            edge.setdefault("optimizers", {})[key] = value
        else:
            meta["optimizers_side"][key] = value
    if request.params is not None:
        params = request.params
        for key in _PARAMS_SIDE_KEYS:
            value = getattr(params, key)
            if value is not None:
                meta[key] = value.value if hasattr(value, "value") else value
        if params.on_disk_payload is not None:
            edge["on_disk_payload"] = params.on_disk_payload
    if request.strict_mode_config is not None:
        meta["strict_mode_config"] = _merge(meta["strict_mode_config"], _dump(request.strict_mode_config))
    if request.metadata is not None:
        merged = dict(meta.get("metadata") or {})
        for key, value in request.metadata.items():
            if value is None:
                merged.pop(key, None)  # Qdrant: a null value deletes the key
            else:
                merged[key] = value
        meta["metadata"] = merged or None
    _resolve_vector_hnsw(edge, meta)
    return edge, meta


def _vector_from_edge(name: str, edge_vector: Json, meta: Json) -> models.VectorParams:
    data = {
        k: v for k, v in edge_vector.items() if k != "hnsw_config" and k in models.VectorParams.model_fields
    }
    diff_keys = meta["vector_hnsw"].get(name)
    if diff_keys and "hnsw_config" in edge_vector:
        # Report the per-vector override as Qdrant does (a diff), with values read from the shard.
        data["hnsw_config"] = {key: edge_vector["hnsw_config"].get(key) for key in diff_keys}
    return models.VectorParams.model_validate(data)


def collection_config(edge: Json, meta: Json) -> models.CollectionConfig:
    """Build Qdrant's CollectionConfig from the shard's `edge_config.json` plus the side file."""
    vectors: Any
    dense = {name: _vector_from_edge(name, v, meta) for name, v in edge.get("vectors", {}).items()}
    vectors = dense[""] if meta.get("single_vector") and "" in dense else dense
    sparse = {name: _sparse_from_edge(v) for name, v in edge.get("sparse_vectors", {}).items()}
    params = models.CollectionParams(
        vectors=vectors,
        shard_number=meta["shard_number"],
        sharding_method=meta.get("sharding_method"),
        replication_factor=meta["replication_factor"],
        write_consistency_factor=meta["write_consistency_factor"],
        read_fan_out_factor=meta.get("read_fan_out_factor"),
        read_fan_out_delay_ms=meta.get("read_fan_out_delay_ms"),
        on_disk_payload=edge.get("on_disk_payload", defaults.ON_DISK_PAYLOAD),
        sparse_vectors=sparse or None,
    )
    edge_optimizers = {
        k: v for k, v in edge.get("optimizers", {}).items() if k in defaults.OPTIMIZERS_EDGE_KEYS
    }
    optimizer = models.OptimizersConfig.model_validate(
        {**defaults.OPTIMIZERS_EDGE, **defaults.OPTIMIZERS_SIDE, **meta["optimizers_side"], **edge_optimizers}
    )
    quantization = edge.get("quantization_config")
    hnsw = {k: v for k, v in edge["hnsw_config"].items() if k in models.HnswConfig.model_fields}
    return models.CollectionConfig(
        params=params,
        hnsw_config=models.HnswConfig.model_validate(hnsw),
        optimizer_config=optimizer,
        wal_config=models.WalConfig.model_validate(meta["wal_config"]),
        quantization_config=_validate_quantization(quantization),
        strict_mode_config=models.StrictModeConfigOutput.model_validate(meta["strict_mode_config"]),
        metadata=meta.get("metadata"),
    )


def _validate_quantization(data: Json | None) -> models.QuantizationConfig | None:
    if not data:
        return None
    for cls in (models.ScalarQuantization, models.ProductQuantization, models.BinaryQuantization):
        key = next(iter(cls.model_fields))
        if key in data:
            result: models.QuantizationConfig = cls.model_validate(data)
            return result
    raise ValueError(f"unknown quantization config in edge_config.json: {data}")
