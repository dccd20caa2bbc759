"""CollectionConfig: everything Qdrant stores about a collection, shared by every kind that
creates collections (QdrantCollection's spec, CollectionDeployment's template).

Field names and bounds follow Qdrant's OpenAPI spec (camelCase here, snake_case in Qdrant).
Qdrant's own defaults are deliberately NOT defaults here: a field the config leaves out is
not managed by qco and stays None. Immutability is not declared here: a template may change
freely (a new revision), a QdrantCollection may not (its CEL rules live on its spec).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field, JsonValue, model_validator

from qco.api.common import QcoModel

Distance = Literal["Cosine", "Euclid", "Dot", "Manhattan"]
Datatype = Literal["float32", "float16", "uint8"]
CompressionRatio = Literal["x4", "x8", "x16", "x32", "x64"]
BinaryEncoding = Literal["one_bit", "two_bits", "one_and_half_bits"]
PayloadType = Literal["keyword", "integer", "float", "geo", "text", "bool", "datetime", "uuid"]
Tokenizer = Literal["prefix", "whitespace", "word", "multilingual"]

#: Metadata keys under this prefix belong to qco (owner stamp and bookkeeping).
RESERVED_METADATA_PREFIX = "qco.dev/"


class HnswSpec(QcoModel):
    """HNSW index parameters (Qdrant `hnsw_config`). Every field left out is not managed."""

    m: int | None = Field(
        default=None, ge=0, le=1024, description="Edges per node in the graph; 0 disables HNSW."
    )
    ef_construct: int | None = Field(
        default=None, ge=4, le=65536, description="Neighbours considered at build."
    )
    full_scan_threshold: int | None = Field(
        default=None, ge=10, description="Size in KiB below which a full scan is preferred over HNSW."
    )
    max_indexing_threads: int | None = Field(
        default=None, ge=0, le=1024, description="Threads for background index building; 0 = automatic."
    )
    on_disk: bool | None = Field(default=None, description="Store the HNSW index on disk.")
    payload_m: int | None = Field(default=None, ge=0, le=1024, description="M for payload-aware links.")


class ScalarQuantizationSpec(QcoModel):
    """Scalar quantization (int8)."""

    type: Literal["int8"] = Field(default="int8", description="Quantized element type.")
    quantile: float | None = Field(
        default=None, ge=0.5, le=1.0, description="Quantile used to clip outliers."
    )
    always_ram: bool | None = Field(default=None, description="Keep quantized vectors in RAM.")


class ProductQuantizationSpec(QcoModel):
    """Product quantization."""

    compression: CompressionRatio = Field(description="Compression ratio, x4 .. x64.")
    always_ram: bool | None = Field(default=None, description="Keep quantized vectors in RAM.")


class BinaryQuantizationSpec(QcoModel):
    """Binary quantization."""

    always_ram: bool | None = Field(default=None, description="Keep quantized vectors in RAM.")
    encoding: BinaryEncoding | None = Field(default=None, description="Bits per dimension.")


_ONE_OF_QUANTIZATION = (
    "(has(self.scalar) ? 1 : 0) + (has(self.product) ? 1 : 0) + (has(self.binary) ? 1 : 0)"
    " + (has(self.disabled) ? 1 : 0) == 1"
)


class QuantizationSpec(QcoModel):
    """Quantization: exactly one of scalar, product, binary or disabled (`disabled: true`)."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": _ONE_OF_QUANTIZATION,
                    "message": "set exactly one of scalar, product, binary, disabled",
                }
            ]
        }
    )

    scalar: ScalarQuantizationSpec | None = Field(default=None, description="Scalar (int8) quantization.")
    product: ProductQuantizationSpec | None = Field(default=None, description="Product quantization.")
    binary: BinaryQuantizationSpec | None = Field(default=None, description="Binary quantization.")
    disabled: Literal[True] | None = Field(default=None, description="true: no quantization (removes it).")

    @model_validator(mode="after")
    def _exactly_one(self) -> QuantizationSpec:
        chosen = [n for n in ("scalar", "product", "binary", "disabled") if getattr(self, n) is not None]
        if len(chosen) != 1:
            raise ValueError(f"set exactly one of scalar, product, binary, disabled (got {chosen or 'none'})")
        return self


class MultivectorSpec(QcoModel):
    """Multi-vector points (e.g. ColBERT)."""

    comparator: Literal["max_sim"] = Field(default="max_sim", description="How sub-vectors are compared.")


class VectorSpec(QcoModel):
    """One dense vector. size, distance, datatype and multivector are immutable in Qdrant."""

    size: int = Field(ge=1, le=65536, description="Dimensions.")
    distance: Distance = Field(description="Distance function.")
    on_disk: bool | None = Field(default=None, description="Serve the original vectors from disk.")
    datatype: Datatype | None = Field(default=None, description="Storage element type. Immutable in Qdrant.")
    multivector: MultivectorSpec | None = Field(
        default=None, description="Multi-vector config. Immutable in Qdrant."
    )
    hnsw: HnswSpec | None = Field(default=None, description="HNSW overrides for this vector.")
    quantization: QuantizationSpec | None = Field(default=None, description="Quantization for this vector.")


class SparseIndexSpec(QcoModel):
    """Sparse inverted index parameters."""

    full_scan_threshold: int | None = Field(
        default=None, ge=0, description="Full scan below this many vectors."
    )
    on_disk: bool | None = Field(default=None, description="Store the index on disk.")
    datatype: Datatype | None = Field(default=None, description="Element type of the index.")


class SparseVectorSpec(QcoModel):
    """One sparse vector."""

    modifier: Literal["none", "idf"] | None = Field(
        default=None, description="Weight modifier (idf for BM25)."
    )
    index: SparseIndexSpec | None = Field(default=None, description="Index parameters.")


class OptimizersSpec(QcoModel):
    """Optimizer parameters (Qdrant `optimizers_config`). Sizes are in KiB."""

    deleted_threshold: float | None = Field(
        default=None, ge=0, le=1, description="Deleted fraction to vacuum."
    )
    vacuum_min_vector_number: int | None = Field(default=None, ge=100, description="Min vectors to vacuum.")
    default_segment_number: int | None = Field(default=None, ge=0, description="Target segments; 0 = auto.")
    max_segment_size: int | None = Field(default=None, ge=1, description="Max segment size in KiB.")
    memmap_threshold: int | None = Field(default=None, ge=0, description="Deprecated by Qdrant; KiB.")
    indexing_threshold: int | None = Field(
        default=None, ge=0, description="KiB above which to index; 0 = off."
    )
    flush_interval_sec: int | None = Field(default=None, ge=0, description="Minimum seconds between flushes.")
    max_optimization_threads: int | None = Field(
        default=None, ge=0, description="Optimization jobs per shard."
    )


class WalSpec(QcoModel):
    """Write-ahead-log parameters; immutable once the collection exists."""

    wal_capacity_mb: int | None = Field(default=None, ge=1, description="Size of one WAL segment in MB.")
    wal_segments_ahead: int | None = Field(default=None, ge=0, description="Segments created ahead.")


_TYPE_PARAMS: dict[str, tuple[str, ...]] = {
    "tokenizer": ("text",),
    "min_token_len": ("text",),
    "max_token_len": ("text",),
    "lowercase": ("text",),
    "lookup": ("integer",),
    "range": ("integer",),
    "is_tenant": ("keyword", "uuid"),
    "is_principal": ("integer", "float", "datetime"),
}


def _type_param_rules() -> list[JsonValue]:
    rules: list[JsonValue] = []
    for name, types in _TYPE_PARAMS.items():
        camel = "".join(p.capitalize() if i else p for i, p in enumerate(name.split("_")))
        allowed = " || ".join(f"self.type == '{t}'" for t in types)
        rules.append(
            {"rule": f"!has(self.{camel}) || {allowed}", "message": f"{camel} applies to {', '.join(types)}"}
        )
    return rules


class PayloadIndexSpec(QcoModel):
    """A payload index on one field; the type-specific parameters apply only to their type."""

    model_config = ConfigDict(json_schema_extra={"x-kubernetes-validations": _type_param_rules()})

    field: str = Field(min_length=1, max_length=512, description="Payload key (dots for nested keys).")
    type: PayloadType = Field(description="Index type.")
    tokenizer: Tokenizer | None = Field(default=None, description="text: tokenizer.")
    min_token_len: int | None = Field(default=None, ge=0, description="text: shortest token.")
    max_token_len: int | None = Field(default=None, ge=0, description="text: longest token.")
    lowercase: bool | None = Field(default=None, description="text: lowercase tokens.")
    lookup: bool | None = Field(default=None, description="integer: support exact lookups.")
    range: bool | None = Field(default=None, description="integer: support range filters.")
    is_tenant: bool | None = Field(default=None, description="keyword/uuid: tenant key optimisation.")
    is_principal: bool | None = Field(default=None, description="integer/float/datetime: principal key.")
    on_disk: bool | None = Field(default=None, description="Store the index on disk.")

    @model_validator(mode="after")
    def _params_match_type(self) -> PayloadIndexSpec:
        for name, types in _TYPE_PARAMS.items():
            if getattr(self, name) is not None and self.type not in types:
                raise ValueError(f"{name} applies to {', '.join(types)} indexes, not {self.type}")
        return self


class CollectionConfig(QcoModel):
    """The Qdrant side of a collection: vectors, sharding, replication, indexes, tuning, metadata."""

    vectors: dict[str, VectorSpec] | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description=(
            'Dense vectors by name; the name "" is the unnamed vector and must then be the only one.'
            " At least one when set (leave the field out to not manage vectors)."
        ),
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "!('' in self) || self.size() == 1",
                    "message": 'the unnamed vector "" must be alone',
                }
            ]
        },
    )
    sparse_vectors: dict[str, SparseVectorSpec] | None = Field(
        default=None, max_length=64, description="Sparse vectors by name."
    )
    shard_number: int | None = Field(
        default=None, ge=1, le=65536, description="Shards (per shard key when custom). Immutable in Qdrant."
    )
    sharding_method: Literal["auto", "custom"] | None = Field(
        default=None, description="auto, or custom (by shard key). Immutable in Qdrant."
    )
    replication_factor: int | None = Field(default=None, ge=1, le=64, description="Replicas per shard.")
    write_consistency_factor: int | None = Field(
        default=None, ge=1, le=64, description="Replicas that must ack."
    )
    on_disk_payload: bool | None = Field(default=None, description="Keep payload on disk.")
    hnsw: HnswSpec | None = Field(default=None, description="Collection-wide HNSW parameters.")
    quantization: QuantizationSpec | None = Field(default=None, description="Collection-wide quantization.")
    optimizers: OptimizersSpec | None = Field(default=None, description="Optimizer parameters.")
    wal: WalSpec | None = Field(default=None, description="WAL parameters. Immutable in Qdrant.")
    metadata: dict[str, Any] | None = Field(
        default=None,
        max_length=256,
        description="Free-form collection metadata (keys under qco.dev/ are reserved for qco).",
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "self.all(k, !k.startsWith('qco.dev/'))",
                    "message": "keys under qco.dev/ are reserved",
                }
            ]
        },
    )
    payload_indexes: list[PayloadIndexSpec] | None = Field(
        default=None,
        max_length=256,
        description="Payload indexes, one per field.",
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["field"]},
    )

    @model_validator(mode="after")
    def _check_config(self) -> CollectionConfig:
        if self.vectors and "" in self.vectors and len(self.vectors) > 1:
            raise ValueError('the unnamed vector "" must be the only dense vector')
        if self.vectors and self.sparse_vectors and set(self.vectors) & set(self.sparse_vectors):
            raise ValueError("a name cannot be both a dense and a sparse vector")
        if self.sparse_vectors and "" in self.sparse_vectors:
            raise ValueError("sparse vectors must be named")
        if self.metadata and any(k.startswith(RESERVED_METADATA_PREFIX) for k in self.metadata):
            raise ValueError(f"metadata keys under {RESERVED_METADATA_PREFIX} are reserved for qco")
        if self.payload_indexes:
            fields = [p.field for p in self.payload_indexes]
            if len(fields) != len(set(fields)):
                raise ValueError("payloadIndexes: each field at most once")
        return self
