"""Translate a QdrantCollection spec into Qdrant request bodies (qdrant-client's pydantic models).

Only fields the spec sets are filled in: a None stays None so Qdrant keeps (or defaults) it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from qdrant_client.http import models

from qco.api.collection_config import (
    CollectionConfig,
    HnswSpec,
    OptimizersSpec,
    PayloadIndexSpec,
    QuantizationSpec,
    SparseIndexSpec,
    SparseVectorSpec,
    VectorSpec,
    WalSpec,
)


def hnsw_diff(spec: HnswSpec) -> models.HnswConfigDiff:
    """HNSW block with only the fields the spec sets."""
    return models.HnswConfigDiff(
        m=spec.m,
        ef_construct=spec.ef_construct,
        full_scan_threshold=spec.full_scan_threshold,
        max_indexing_threads=spec.max_indexing_threads,
        on_disk=spec.on_disk,
        payload_m=spec.payload_m,
    )


def optimizers_diff(spec: OptimizersSpec) -> models.OptimizersConfigDiff:
    """Optimizers block with only the fields the spec sets."""
    return models.OptimizersConfigDiff(
        deleted_threshold=spec.deleted_threshold,
        vacuum_min_vector_number=spec.vacuum_min_vector_number,
        default_segment_number=spec.default_segment_number,
        max_segment_size=spec.max_segment_size,
        memmap_threshold=spec.memmap_threshold,
        indexing_threshold=spec.indexing_threshold,
        flush_interval_sec=spec.flush_interval_sec,
        max_optimization_threads=spec.max_optimization_threads,
    )


def wal_diff(spec: WalSpec) -> models.WalConfigDiff:
    """WAL block with only the fields the spec sets (used at creation only: WAL is immutable)."""
    return models.WalConfigDiff(
        wal_capacity_mb=spec.wal_capacity_mb, wal_segments_ahead=spec.wal_segments_ahead
    )


def quantization_config(spec: QuantizationSpec) -> models.QuantizationConfig | None:
    """The quantization to create with; None for `disabled` (creating without quantization)."""
    if spec.scalar is not None:
        return models.ScalarQuantization(
            scalar=models.ScalarQuantizationConfig(
                type=models.ScalarType(spec.scalar.type),
                quantile=spec.scalar.quantile,
                always_ram=spec.scalar.always_ram,
            )
        )
    if spec.product is not None:
        return models.ProductQuantization(
            product=models.ProductQuantizationConfig(
                compression=models.CompressionRatio(spec.product.compression),
                always_ram=spec.product.always_ram,
            )
        )
    if spec.binary is not None:
        return models.BinaryQuantization(
            binary=models.BinaryQuantizationConfig(
                always_ram=spec.binary.always_ram,
                encoding=models.BinaryQuantizationEncoding(spec.binary.encoding)
                if spec.binary.encoding
                else None,
            )
        )
    return None


def quantization_diff(spec: QuantizationSpec) -> models.QuantizationConfigDiff:
    """The quantization to PATCH: `Disabled` removes it."""
    config = quantization_config(spec)
    return models.Disabled.DISABLED if config is None else config


def vector_params(spec: VectorSpec) -> models.VectorParams:
    """Full parameters of one dense vector, for collection creation."""
    return models.VectorParams(
        size=spec.size,
        distance=models.Distance(spec.distance),
        on_disk=spec.on_disk,
        datatype=models.Datatype(spec.datatype) if spec.datatype else None,
        multivector_config=(
            models.MultiVectorConfig(comparator=models.MultiVectorComparator(spec.multivector.comparator))
            if spec.multivector
            else None
        ),
        hnsw_config=hnsw_diff(spec.hnsw) if spec.hnsw else None,
        quantization_config=quantization_config(spec.quantization) if spec.quantization else None,
    )


def vector_params_diff(spec: VectorSpec) -> models.VectorParamsDiff:
    """The mutable parameters of one dense vector (after PUT /vectors/{v}, or when they drift)."""
    return models.VectorParamsDiff(
        on_disk=spec.on_disk,
        hnsw_config=hnsw_diff(spec.hnsw) if spec.hnsw else None,
        quantization_config=quantization_diff(spec.quantization) if spec.quantization else None,
    )


def dense_vector_name_config(spec: VectorSpec) -> models.DenseVectorNameConfig:
    """Body of PUT /collections/{c}/vectors/{v} for a dense vector: the immutable part only."""
    params = vector_params(spec)
    return models.DenseVectorNameConfig(
        dense=models.DenseVectorConfig(
            size=spec.size,
            distance=params.distance,
            multivector_config=params.multivector_config,
            datatype=models.VectorStorageDatatype(spec.datatype) if spec.datatype else None,
        )
    )


def sparse_index_params(spec: SparseIndexSpec) -> models.SparseIndexParams:
    """Sparse index block with only the fields the spec sets."""
    return models.SparseIndexParams(
        full_scan_threshold=spec.full_scan_threshold,
        on_disk=spec.on_disk,
        datatype=models.Datatype(spec.datatype) if spec.datatype else None,
    )


def sparse_vector_params(spec: SparseVectorSpec) -> models.SparseVectorParams:
    """Parameters of one sparse vector (creation and PATCH)."""
    return models.SparseVectorParams(
        modifier=models.Modifier(spec.modifier) if spec.modifier else None,
        index=sparse_index_params(spec.index) if spec.index else None,
    )


def sparse_vector_name_config(spec: SparseVectorSpec) -> models.SparseVectorNameConfig:
    """Body of PUT /collections/{c}/vectors/{v} for a sparse vector."""
    datatype = spec.index.datatype if spec.index else None
    return models.SparseVectorNameConfig(
        sparse=models.SparseVectorConfig(
            modifier=models.Modifier(spec.modifier) if spec.modifier else None,
            datatype=models.VectorStorageDatatype(datatype) if datatype else None,
        )
    )


def payload_field_schema(spec: PayloadIndexSpec) -> models.PayloadFieldSchema:
    """The index schema: the bare type when no parameter is set, else the type's *IndexParams."""
    t = spec.type
    if t == "text":
        params: models.PayloadSchemaParams = models.TextIndexParams(
            type=models.TextIndexType.TEXT,
            tokenizer=models.TokenizerType(spec.tokenizer) if spec.tokenizer else None,
            min_token_len=spec.min_token_len,
            max_token_len=spec.max_token_len,
            lowercase=spec.lowercase,
            on_disk=spec.on_disk,
        )
    elif t == "integer":
        params = models.IntegerIndexParams(
            type=models.IntegerIndexType.INTEGER,
            lookup=spec.lookup,
            range=spec.range,
            is_principal=spec.is_principal,
            on_disk=spec.on_disk,
        )
    elif t == "keyword":
        params = models.KeywordIndexParams(
            type=models.KeywordIndexType.KEYWORD, is_tenant=spec.is_tenant, on_disk=spec.on_disk
        )
    elif t == "uuid":
        params = models.UuidIndexParams(
            type=models.UuidIndexType.UUID, is_tenant=spec.is_tenant, on_disk=spec.on_disk
        )
    elif t == "float":
        params = models.FloatIndexParams(
            type=models.FloatIndexType.FLOAT, is_principal=spec.is_principal, on_disk=spec.on_disk
        )
    elif t == "datetime":
        params = models.DatetimeIndexParams(
            type=models.DatetimeIndexType.DATETIME, is_principal=spec.is_principal, on_disk=spec.on_disk
        )
    elif t == "geo":
        params = models.GeoIndexParams(type=models.GeoIndexType.GEO, on_disk=spec.on_disk)
    else:
        params = models.BoolIndexParams(type=models.BoolIndexType.BOOL, on_disk=spec.on_disk)
    if not params.model_dump(exclude_none=True, exclude={"type"}):
        return models.PayloadSchemaType(t)
    return params


def vectors_config(vectors: Mapping[str, VectorSpec]) -> models.VectorsConfig:
    """Dense vectors for creation: a single VectorParams for the unnamed vector "", else a map."""
    if set(vectors) == {""}:
        return vector_params(vectors[""])
    return {name: vector_params(v) for name, v in sorted(vectors.items())}


def create_collection_request(spec: CollectionConfig, metadata: Mapping[str, Any]) -> models.CreateCollection:
    """PUT /collections/{c} body: everything the spec sets, plus `metadata` (user keys and qco's stamp)."""
    return models.CreateCollection(
        vectors=vectors_config(spec.vectors) if spec.vectors else {},
        sparse_vectors=(
            {n: sparse_vector_params(s) for n, s in sorted(spec.sparse_vectors.items())}
            if spec.sparse_vectors
            else None
        ),
        shard_number=spec.shard_number,
        sharding_method=models.ShardingMethod(spec.sharding_method) if spec.sharding_method else None,
        replication_factor=spec.replication_factor,
        write_consistency_factor=spec.write_consistency_factor,
        on_disk_payload=spec.on_disk_payload,
        hnsw_config=hnsw_diff(spec.hnsw) if spec.hnsw else None,
        wal_config=wal_diff(spec.wal) if spec.wal else None,
        optimizers_config=optimizers_diff(spec.optimizers) if spec.optimizers else None,
        quantization_config=quantization_config(spec.quantization) if spec.quantization else None,
        metadata=dict(metadata) or None,
    )
