"""A pure stand-in for what Qdrant reports: create -> CollectionInfo with Qdrant's defaults, PATCH merge.

Defaults come from ../shared/qdrant/config.yaml (Qdrant 1.19): hnsw m 16, ef_construct 100,
full_scan_threshold 10000, max_indexing_threads 0, on_disk false; optimizers deleted_threshold
0.2, vacuum_min_vector_number 1000, default_segment_number 0, indexing_threshold 10000,
flush_interval_sec 5; WAL 32 MB, 0 segments ahead; replication 1, write consistency 1,
on_disk_payload true. Quantiles go through f32 as in Qdrant.
"""

from __future__ import annotations

import struct
from typing import Any

from qdrant_client.http import models

from qco.plan.actions import (
    CollectionPlan,
    CreateCollection,
    CreatePayloadIndex,
    CreateVector,
    DeletePayloadIndex,
    DeleteVector,
    NudgeOptimizers,
    StampOwner,
    UpdateAliases,
    UpdateCollection,
)

DEFAULT_HNSW = models.HnswConfig(
    m=16, ef_construct=100, full_scan_threshold=10000, max_indexing_threads=0, on_disk=False, payload_m=None
)
DEFAULT_OPTIMIZERS = models.OptimizersConfig(
    deleted_threshold=0.2,
    vacuum_min_vector_number=1000,
    default_segment_number=0,
    max_segment_size=None,
    memmap_threshold=None,
    indexing_threshold=10000,
    flush_interval_sec=5,
    max_optimization_threads=None,
)
DEFAULT_WAL = models.WalConfig(wal_capacity_mb=32, wal_segments_ahead=0)


def f32(x: float) -> float:
    """x as Qdrant stores an f32."""
    return float(struct.unpack("f", struct.pack("f", x))[0])


def _merge(base: Any, diff: Any) -> Any:
    """Qdrant's update semantics: fields set in the diff replace, absent ones are kept."""
    if diff is None:
        return base
    if base is None:
        return diff
    data = base.model_dump()
    data.update(diff.model_dump(exclude_none=True))
    return type(base).model_validate(data)


def _quantization(q: Any) -> Any:
    if isinstance(q, models.ScalarQuantization) and q.scalar.quantile is not None:
        return q.model_copy(
            update={"scalar": q.scalar.model_copy(update={"quantile": f32(q.scalar.quantile)})}
        )
    return None if q == models.Disabled.DISABLED else q


def observe(create: models.CreateCollection, status: str = "green") -> models.CollectionInfo:
    """The CollectionInfo a real Qdrant returns right after PUT /collections/{c} with `create`."""
    vectors = create.vectors
    if isinstance(vectors, models.VectorParams):
        vectors = vectors.model_copy(
            update={"quantization_config": _quantization(vectors.quantization_config)}
        )
    elif vectors:
        vectors = {
            n: v.model_copy(update={"quantization_config": _quantization(v.quantization_config)})
            for n, v in vectors.items()
        }
    params = models.CollectionParams(
        vectors=vectors if vectors is not None else {},
        shard_number=create.shard_number or 1,
        sharding_method=create.sharding_method,
        replication_factor=create.replication_factor or 1,
        write_consistency_factor=create.write_consistency_factor or 1,
        on_disk_payload=True if create.on_disk_payload is None else create.on_disk_payload,
        sparse_vectors=create.sparse_vectors,
    )
    config = models.CollectionConfig(
        params=params,
        hnsw_config=_merge(DEFAULT_HNSW, create.hnsw_config),
        optimizer_config=_merge(DEFAULT_OPTIMIZERS, create.optimizers_config),
        wal_config=_merge(DEFAULT_WAL, create.wal_config),
        quantization_config=_quantization(create.quantization_config),
        metadata=dict(create.metadata) if create.metadata else None,
    )
    return models.CollectionInfo(
        status=models.CollectionStatus(status),
        optimizer_status=models.OptimizersStatusOneOf.OK,
        segments_count=1,
        points_count=0,
        indexed_vectors_count=0,
        config=config,
        payload_schema={},
    )


def apply_update(info: models.CollectionInfo, update: models.UpdateCollection) -> models.CollectionInfo:
    """The CollectionInfo after PATCH /collections/{c} with `update` (merge semantics)."""
    config = info.config
    params = config.params
    if update.params is not None:
        params = _merge(params, update.params)
    if update.vectors:
        vectors = params.vectors
        by_name = {"": vectors} if isinstance(vectors, models.VectorParams) else dict(vectors or {})
        for name, diff in update.vectors.items():
            v = by_name[name]
            upd: dict[str, Any] = {}
            if diff.on_disk is not None:
                upd["on_disk"] = diff.on_disk
            if diff.hnsw_config is not None:
                upd["hnsw_config"] = _merge(v.hnsw_config, diff.hnsw_config)
            if diff.quantization_config is not None:
                upd["quantization_config"] = _quantization(diff.quantization_config)
            by_name[name] = v.model_copy(update=upd)
        new_vectors = by_name[""] if isinstance(vectors, models.VectorParams) else by_name
        params = params.model_copy(update={"vectors": new_vectors})
    if update.sparse_vectors:
        sparse = dict(params.sparse_vectors or {})
        for name, sdiff in update.sparse_vectors.items():
            current = sparse.get(name, models.SparseVectorParams())
            sparse[name] = models.SparseVectorParams(
                modifier=sdiff.modifier or current.modifier, index=_merge(current.index, sdiff.index)
            )
        params = params.model_copy(update={"sparse_vectors": sparse})
    metadata = dict(config.metadata or {})
    for key, value in (update.metadata or {}).items():
        if value is None:
            metadata.pop(key, None)
        else:
            metadata[key] = value
    quantization = config.quantization_config
    if update.quantization_config is not None:
        quantization = _quantization(update.quantization_config)
    new_config = config.model_copy(
        update={
            "params": params,
            "hnsw_config": _merge(config.hnsw_config, update.hnsw_config),
            "optimizer_config": _merge(config.optimizer_config, update.optimizers_config),
            "quantization_config": quantization,
            "metadata": metadata or None,
        }
    )
    return info.model_copy(update={"config": new_config})


class FakeQdrant:
    """One collection plus the endpoint's alias map; applies a plan's actions like Qdrant would."""

    def __init__(self) -> None:
        self.info: models.CollectionInfo | None = None
        self.aliases: dict[str, str] = {}

    def apply(self, plan: CollectionPlan) -> None:
        """Perform every action of `plan`."""
        for action in plan.actions:
            if isinstance(action, CreateCollection):
                self.info = observe(action.request)
                continue
            if isinstance(action, UpdateAliases):
                for op in action.operations:
                    if isinstance(op, models.CreateAliasOperation):
                        self.aliases[op.create_alias.alias_name] = op.create_alias.collection_name
                    else:
                        self.aliases.pop(op.delete_alias.alias_name, None)
                continue
            assert self.info is not None
            if isinstance(action, UpdateCollection):
                self.info = apply_update(self.info, action.request)
            elif isinstance(action, StampOwner):
                self.info = apply_update(self.info, models.UpdateCollection(metadata=dict(action.metadata)))
            elif isinstance(action, CreateVector):
                self._create_vector(action)
            elif isinstance(action, DeleteVector):
                self._delete_vector(action)
            elif isinstance(action, CreatePayloadIndex):
                schema = action.field_schema
                if isinstance(schema, models.PayloadSchemaType):
                    index = models.PayloadIndexInfo(data_type=schema, params=None, points=0)
                else:
                    index = models.PayloadIndexInfo(
                        data_type=models.PayloadSchemaType(schema.type.value), params=schema, points=0
                    )
                self.info.payload_schema[action.field_name] = index
            elif isinstance(action, DeletePayloadIndex):
                self.info.payload_schema.pop(action.field_name, None)
            elif isinstance(action, NudgeOptimizers):
                self.info = self.info.model_copy(update={"status": models.CollectionStatus.GREEN})

    def _create_vector(self, action: CreateVector) -> None:
        assert self.info is not None
        params = self.info.config.params
        if isinstance(action.config, models.SparseVectorNameConfig):
            sparse = dict(params.sparse_vectors or {})
            sc = action.config.sparse
            index = (
                models.SparseIndexParams(datatype=models.Datatype(sc.datatype.value)) if sc.datatype else None
            )
            sparse[action.vector_name] = models.SparseVectorParams(modifier=sc.modifier, index=index)
            params = params.model_copy(update={"sparse_vectors": sparse})
        else:
            dc = action.config.dense
            vectors = dict(params.vectors or {})  # type: ignore[arg-type]
            vectors[action.vector_name] = models.VectorParams(
                size=dc.size,
                distance=dc.distance,
                multivector_config=dc.multivector_config,
                datatype=models.Datatype(dc.datatype.value) if dc.datatype else None,
            )
            params = params.model_copy(update={"vectors": vectors})
        self._set_params(params)

    def _delete_vector(self, action: DeleteVector) -> None:
        assert self.info is not None
        params = self.info.config.params
        if action.sparse:
            sparse = dict(params.sparse_vectors or {})
            sparse.pop(action.vector_name, None)
            params = params.model_copy(update={"sparse_vectors": sparse})
        else:
            vectors = dict(params.vectors or {})  # type: ignore[arg-type]
            vectors.pop(action.vector_name, None)
            params = params.model_copy(update={"vectors": vectors})
        self._set_params(params)

    def _set_params(self, params: models.CollectionParams) -> None:
        assert self.info is not None
        self.info = self.info.model_copy(
            update={"config": self.info.config.model_copy(update={"params": params})}
        )
