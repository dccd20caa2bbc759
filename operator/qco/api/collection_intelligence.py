"""QdrantCollection intelligence: presets, memory estimates, health thresholds, search tuning and
custom sharding by key. Spec and status models only; the logic lives in `qco.plan.presets`,
`qco.plan.memory`, `qco.plan.health` and `qco.plan.search_tuning`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from qco.api.collection_config import CollectionConfig
from qco.api.common import QcoModel
from qco.api.durations import DURATION_PATTERN

PresetName = Literal["hybrid-search", "semantic-search", "high-performance", "high-accuracy", "multi-tenant"]

PRESET_FIELD_DESCRIPTION = (
    "Defaults for a use case (hybrid-search, semantic-search, high-performance, high-accuracy,"
    " multi-tenant); every field set explicitly wins, field by field. Vectors stay yours."
    " See docs/presets.md."
)


class HealthProbe(QcoModel):
    """Probe queries qco runs against the collection (random vectors of each dense vector's size)."""

    queries: int = Field(default=5, ge=1, le=100, description="Queries per probe.")
    limit: int = Field(default=10, ge=1, le=1000, description="Results per query.")
    max_latency_ms: float = Field(
        default=200.0, ge=0.001, description="p95 latency above which it is a breach."
    )
    interval: str | None = Field(
        default=None,
        pattern=DURATION_PATTERN,
        max_length=32,
        description="Minimum time between probes, e.g. 5m. Default: every pass.",
    )


class HealthSpec(QcoModel):
    """Thresholds that make the collection unhealthy (`Healthy` False naming the breach)."""

    max_unindexed_ratio: float | None = Field(
        default=None, ge=0, le=1, description="Max (points - indexed vectors) / points."
    )
    max_segments: int | None = Field(default=None, ge=1, description="Max segments.")
    min_points: int | None = Field(
        default=None, ge=0, description="Min points (e.g. catches an emptied collection)."
    )
    probe: HealthProbe | None = Field(default=None, description="Probe queries: p95 latency and errors.")


class SearchTuningSpec(QcoModel):
    """Measure recall@limit of HNSW against exact search per `ef` and recommend the smallest that meets
    the target."""

    target_recall: float = Field(default=0.95, ge=0.01, le=1, description="Recall@limit to meet.")
    sample_size: int = Field(default=100, ge=1, le=10000, description="Stored points used as queries.")
    limit: int = Field(default=10, ge=1, le=1000, description="k of recall@k.")
    ef_candidates: list[int] = Field(
        default_factory=lambda: [32, 64, 128, 256, 512],
        min_length=1,
        max_length=32,
        description="hnsw_ef values to measure.",
    )
    oversampling_candidates: list[Annotated[float, Field(ge=1, le=16)]] = Field(
        default_factory=lambda: [1.0, 2.0, 4.0],
        min_length=1,
        max_length=8,
        description=(
            "Quantized collections only: at the recommended ef, also measure rescore off and rescore"
            " on at each oversampling (1-16; default 1, 2, 4) and recommend the cheapest meeting"
            " targetRecall."
        ),
    )
    interval: str = Field(
        default="24h", pattern=DURATION_PATTERN, max_length=32, description="Time between measurements."
    )
    vector: str | None = Field(default=None, description="Dense vector to tune (default: the first).")
    config_map_name: str | None = Field(
        default=None,
        max_length=253,
        description="Also publish the recommendation in this ConfigMap (key searchTuning.json).",
    )


class ShardKeySpec(QcoModel):
    """One shard key of a collection with shardingMethod custom."""

    key: str = Field(min_length=1, max_length=255, description="Shard key value, e.g. de.")
    shard_number: int | None = Field(default=None, ge=1, le=65536, description="Shards for this key.")
    replication_factor: int | None = Field(default=None, ge=1, le=64, description="Replicas per shard.")


class IntelligenceSpec(QcoModel):
    """Mixin of QdrantCollection's intelligence fields (kept here so api/collection.py stays small)."""

    preset: PresetName | None = Field(default=None, description=PRESET_FIELD_DESCRIPTION)
    tenant_field: str | None = Field(
        default=None,
        min_length=1,
        max_length=512,
        description="multi-tenant preset: payload key of the tenant keyword index (default tenant_id).",
    )
    expected_points: int | None = Field(
        default=None, ge=0, description="Points expected at full size, for status.memory."
    )
    health: HealthSpec | None = Field(default=None, description="Health thresholds and probe.")
    search_tuning: SearchTuningSpec | None = Field(default=None, description="Measure recall per ef.")
    shard_keys: list[ShardKeySpec] | None = Field(
        default=None,
        max_length=1024,
        description="Shard keys (shardingMethod custom); qco creates missing ones.",
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["key"]},
    )
    shard_key_removal_policy: Literal["Refuse", "Allow"] = Field(
        default="Refuse",
        description=(
            "A shard key dropped from shardKeys deletes its points: Refuse (Stalled, ShardKeyRemovalRefused)"
            " or Allow."
        ),
    )

    @model_validator(mode="after")
    def _check_intelligence(self) -> IntelligenceSpec:
        if self.shard_keys:
            keys = [k.key for k in self.shard_keys]
            if len(keys) != len(set(keys)):
                raise ValueError("shardKeys: each key at most once")
        return self


class MemoryBreakdown(QcoModel):
    """Estimated bytes of one point count, by part; RAM and disk totals."""

    points: int = Field(ge=0, description="Point count this estimate is for.")
    ram_bytes: int = Field(ge=0, description="Estimated resident memory.")
    disk_bytes: int = Field(ge=0, description="Estimated disk usage.")
    original_vectors_bytes: int = Field(ge=0, description="Original (dense + multi) vectors.")
    quantized_vectors_bytes: int = Field(ge=0, description="Quantized vectors.")
    hnsw_bytes: int = Field(ge=0, description="HNSW graph links.")
    sparse_bytes: int = Field(ge=0, description="Sparse vectors and their inverted index.")
    payload_bytes: int = Field(ge=0, description="Payload.")
    payload_index_bytes: int = Field(ge=0, description="Payload indexes.")


class MemoryStatus(QcoModel):
    """status.memory: the estimate now and at spec.expectedPoints."""

    current: MemoryBreakdown | None = Field(default=None, description="For the current point count.")
    expected: MemoryBreakdown | None = Field(default=None, description="For spec.expectedPoints.")
    recommendation: str | None = Field(default=None, description="What would cut memory most.")


class HealthStatus(QcoModel):
    """status.health: what the last health check measured."""

    unindexed_ratio: float | None = Field(default=None, ge=0, description="(points - indexed) / points.")
    segments: int | None = Field(default=None, ge=0, description="Segments.")
    points: int | None = Field(default=None, ge=0, description="Points.")
    probe_p95_ms: float | None = Field(default=None, ge=0, description="p95 probe latency, ms.")
    probe_errors: int | None = Field(default=None, ge=0, description="Probe queries that failed.")
    last_probe_time: str | None = Field(default=None, description="When the probe last ran (RFC 3339).")
    breaches: list[str] | None = Field(default=None, description="Thresholds breached.")


class EfMeasurement(QcoModel):
    """Recall and latency of HNSW search at one ef (and oversampling, with quantization)."""

    ef: int = Field(ge=1, description="hnsw_ef.")
    recall: float = Field(ge=0, le=1, description="Mean recall@limit against exact search.")
    p50_ms: float = Field(ge=0, description="Median latency, ms.")
    p95_ms: float = Field(ge=0, description="95th percentile latency, ms.")
    oversampling: float | None = Field(default=None, description="Quantization oversampling used.")
    rescore: bool | None = Field(
        default=None, description="Quantization rescore used (absent: no quantization search params)."
    )


class QuantizationRecommendation(QcoModel):
    """The cheapest quantization search params meeting targetRecall (rescore off, then the smallest
    oversampling)."""

    ef: int = Field(ge=1, description="hnsw_ef measured (the recommended ef).")
    rescore: bool = Field(description="Rescore with the original vectors.")
    oversampling: float | None = Field(default=None, description="Oversampling (with rescore).")
    recall: float = Field(ge=0, le=1, description="Mean recall@limit measured.")
    target_met: bool = Field(description="False: the best measured, target not met.")


class SearchTuningStatus(QcoModel):
    """status.searchTuning."""

    measured_at: str | None = Field(default=None, description="When (RFC 3339).")
    vector: str | None = Field(default=None, description="Vector measured.")
    sample_size: int | None = Field(default=None, ge=0, description="Queries sampled.")
    limit: int | None = Field(default=None, ge=1, description="k of recall@k.")
    results: list[EfMeasurement] | None = Field(default=None, description="Per ef.")
    recommended_ef: int | None = Field(default=None, ge=1, description="Smallest ef meeting targetRecall.")
    target_met: bool | None = Field(default=None, description="False: recommendedEf is the best measured.")
    recommended_quantization: QuantizationRecommendation | None = Field(
        default=None, description="Quantized collections: rescore/oversampling to use."
    )


class IntelligenceStatus(QcoModel):
    """Mixin of QdrantCollection's intelligence status fields."""

    effective: CollectionConfig | None = Field(
        default=None, description="The Qdrant settings qco manages: the spec over its preset."
    )
    memory: MemoryStatus | None = Field(default=None, description="Memory and disk estimate.")
    health: HealthStatus | None = Field(default=None, description="Health measurements.")
    search_tuning: SearchTuningStatus | None = Field(default=None, description="Recall per ef.")
