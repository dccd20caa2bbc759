# ruff: noqa: E501 - one table row per line reads better than wrapped rows
"""Table-driven: every managed field is created, left alone when it matches, and corrected when it drifts."""

from __future__ import annotations

from typing import Any

import pytest
from qdrant_client.http import models

from qco.plan.actions import CreateCollection, UpdateCollection
from tests.unit.planning import converged, patch_live, plan_for, spec

H = models.HnswConfigDiff
O = models.OptimizersConfigDiff  # noqa: E741

# (id, spec fields, out-of-band PATCH, expected changed fields, expected PATCH body (exclude_none))
DRIFT: list[tuple[str, dict[str, Any], dict[str, Any], list[str], dict[str, Any]]] = [
    ("hnsw.m", {"hnsw": {"m": 32}}, {"hnsw_config": H(m=16)}, ["hnsw.m"], {"hnsw_config": {"m": 32}}),
    ("hnsw.efConstruct", {"hnsw": {"efConstruct": 200, "m": 8}}, {"hnsw_config": H(ef_construct=100)},
     ["hnsw.efConstruct"], {"hnsw_config": {"ef_construct": 200}}),
    ("hnsw.fullScanThreshold", {"hnsw": {"fullScanThreshold": 20000}}, {"hnsw_config": H(full_scan_threshold=10)},
     ["hnsw.fullScanThreshold"], {"hnsw_config": {"full_scan_threshold": 20000}}),
    ("hnsw.maxIndexingThreads", {"hnsw": {"maxIndexingThreads": 2}}, {"hnsw_config": H(max_indexing_threads=0)},
     ["hnsw.maxIndexingThreads"], {"hnsw_config": {"max_indexing_threads": 2}}),
    ("hnsw.onDisk", {"hnsw": {"onDisk": True}}, {"hnsw_config": H(on_disk=False)},
     ["hnsw.onDisk"], {"hnsw_config": {"on_disk": True}}),
    ("hnsw.onDisk false", {"hnsw": {"onDisk": False}}, {"hnsw_config": H(on_disk=True)},
     ["hnsw.onDisk"], {"hnsw_config": {"on_disk": False}}),
    ("hnsw.payloadM", {"hnsw": {"payloadM": 8}}, {"hnsw_config": H(payload_m=4)},
     ["hnsw.payloadM"], {"hnsw_config": {"payload_m": 8}}),
    ("optimizers.deletedThreshold", {"optimizers": {"deletedThreshold": 0.3}}, {"optimizers_config": O(deleted_threshold=0.2)},
     ["optimizers.deletedThreshold"], {"optimizers_config": {"deleted_threshold": 0.3}}),
    ("optimizers.vacuumMinVectorNumber", {"optimizers": {"vacuumMinVectorNumber": 500}},
     {"optimizers_config": O(vacuum_min_vector_number=1000)}, ["optimizers.vacuumMinVectorNumber"],
     {"optimizers_config": {"vacuum_min_vector_number": 500}}),
    ("optimizers.defaultSegmentNumber", {"optimizers": {"defaultSegmentNumber": 2}},
     {"optimizers_config": O(default_segment_number=0)}, ["optimizers.defaultSegmentNumber"],
     {"optimizers_config": {"default_segment_number": 2}}),
    ("optimizers.maxSegmentSize", {"optimizers": {"maxSegmentSize": 100000}},
     {"optimizers_config": O(max_segment_size=5)}, ["optimizers.maxSegmentSize"],
     {"optimizers_config": {"max_segment_size": 100000}}),
    ("optimizers.memmapThreshold", {"optimizers": {"memmapThreshold": 1000}},
     {"optimizers_config": O(memmap_threshold=5)}, ["optimizers.memmapThreshold"],
     {"optimizers_config": {"memmap_threshold": 1000}}),
    ("optimizers.indexingThreshold", {"optimizers": {"indexingThreshold": 0}},
     {"optimizers_config": O(indexing_threshold=10000)}, ["optimizers.indexingThreshold"],
     {"optimizers_config": {"indexing_threshold": 0}}),
    ("optimizers.flushIntervalSec", {"optimizers": {"flushIntervalSec": 10}},
     {"optimizers_config": O(flush_interval_sec=5)}, ["optimizers.flushIntervalSec"],
     {"optimizers_config": {"flush_interval_sec": 10}}),
    ("optimizers.maxOptimizationThreads", {"optimizers": {"maxOptimizationThreads": 1}},
     {"optimizers_config": O(max_optimization_threads=4)}, ["optimizers.maxOptimizationThreads"],
     {"optimizers_config": {"max_optimization_threads": 1}}),
    ("quantization scalar->product", {"quantization": {"scalar": {"quantile": 0.99}}},
     {"quantization_config": models.ProductQuantization(product=models.ProductQuantizationConfig(compression="x4"))},
     ["quantization"], {"quantization_config": {"scalar": {"type": "int8", "quantile": 0.99}}}),
    ("quantization scalar quantile", {"quantization": {"scalar": {"quantile": 0.99}}},
     {"quantization_config": models.ScalarQuantization(scalar=models.ScalarQuantizationConfig(type="int8", quantile=0.9))},
     ["quantization"], {"quantization_config": {"scalar": {"type": "int8", "quantile": 0.99}}}),
    ("quantization product", {"quantization": {"product": {"compression": "x16", "alwaysRam": True}}},
     {"quantization_config": models.Disabled.DISABLED}, ["quantization"],
     {"quantization_config": {"product": {"compression": "x16", "always_ram": True}}}),
    ("quantization binary", {"quantization": {"binary": {"encoding": "two_bits"}}},
     {"quantization_config": models.BinaryQuantization(binary=models.BinaryQuantizationConfig(encoding="one_bit"))},
     ["quantization"], {"quantization_config": {"binary": {"encoding": "two_bits"}}}),
    ("quantization disabled", {"quantization": {"disabled": True}},
     {"quantization_config": models.BinaryQuantization(binary=models.BinaryQuantizationConfig())},
     ["quantization"], {"quantization_config": "Disabled"}),
    ("replicationFactor", {"replicationFactor": 2}, {"params": models.CollectionParamsDiff(replication_factor=1)},
     ["replicationFactor"], {"params": {"replication_factor": 2}}),
    ("writeConsistencyFactor", {"writeConsistencyFactor": 2},
     {"params": models.CollectionParamsDiff(write_consistency_factor=1)}, ["writeConsistencyFactor"],
     {"params": {"write_consistency_factor": 2}}),
    ("onDiskPayload", {"onDiskPayload": False}, {"params": models.CollectionParamsDiff(on_disk_payload=True)},
     ["onDiskPayload"], {"params": {"on_disk_payload": False}}),
    ("vector onDisk", {"vectors": {"": {"size": 4, "distance": "Cosine", "onDisk": True}}},
     {"vectors": {"": models.VectorParamsDiff(on_disk=False)}}, ['vectors."".onDisk'],
     {"vectors": {"": {"on_disk": True}}}),
    ("vector hnsw", {"vectors": {"a": {"size": 4, "distance": "Dot", "hnsw": {"m": 8, "efConstruct": 64}}}},
     {"vectors": {"a": models.VectorParamsDiff(hnsw_config=H(m=4))}}, ["vectors.a.hnsw"],
     {"vectors": {"a": {"hnsw_config": {"m": 8, "ef_construct": 64}}}}),
    ("vector quantization", {"vectors": {"a": {"size": 4, "distance": "Dot", "quantization": {"binary": {}}}}},
     {"vectors": {"a": models.VectorParamsDiff(quantization_config=models.Disabled.DISABLED)}},
     ["vectors.a.quantization"], {"vectors": {"a": {"quantization_config": {"binary": {}}}}}),
    ("vector quantization disabled", {"vectors": {"a": {"size": 4, "distance": "Dot", "quantization": {"disabled": True}}}},
     {"vectors": {"a": models.VectorParamsDiff(quantization_config=models.BinaryQuantization(
         binary=models.BinaryQuantizationConfig()))}},
     ["vectors.a.quantization"], {"vectors": {"a": {"quantization_config": "Disabled"}}}),
    ("sparse modifier", {"sparseVectors": {"s": {"modifier": "idf"}}},
     {"sparse_vectors": {"s": models.SparseVectorParams(modifier="none")}}, ["sparseVectors.s"],
     {"sparse_vectors": {"s": {"modifier": "idf"}}}),
    ("sparse index", {"sparseVectors": {"s": {"index": {"fullScanThreshold": 100, "onDisk": True}}}},
     {"sparse_vectors": {"s": models.SparseVectorParams(index=models.SparseIndexParams(full_scan_threshold=5))}},
     ["sparseVectors.s"], {"sparse_vectors": {"s": {"index": {"full_scan_threshold": 100, "on_disk": True}}}}),
    ("metadata", {"metadata": {"team": "search", "n": 1}}, {"metadata": {"team": "ads"}}, ["metadata.team"],
     {"metadata": {"team": "search"}}),
]  # fmt: skip


@pytest.mark.parametrize(
    ("fields", "drift", "changed", "body"), [r[1:] for r in DRIFT], ids=[r[0] for r in DRIFT]
)
def test_drift_is_corrected_with_only_the_fields_that_differ(
    fields: dict[str, Any], drift: dict[str, Any], changed: list[str], body: dict[str, Any]
) -> None:
    s = spec(**fields)
    fake = converged(s)
    assert plan_for(s, fake).empty, "converged collection must plan nothing"
    patch_live(fake, **drift)
    plan = plan_for(s, fake)
    assert [type(a) for a in plan.actions] == [UpdateCollection]
    update = plan.actions[0]
    assert isinstance(update, UpdateCollection)
    assert list(update.fields) == changed
    assert update.request.model_dump(mode="json", exclude_none=True) == body
    assert plan.changed_fields == tuple(sorted(changed))
    assert not plan.blockers
    fake.apply(plan)
    assert plan_for(s, fake).empty


@pytest.mark.parametrize(("fields", "drift"), [(r[1], r[2]) for r in DRIFT], ids=[r[0] for r in DRIFT])
def test_fields_left_out_of_the_spec_are_not_managed(fields: dict[str, Any], drift: dict[str, Any]) -> None:
    # Same drift, but the spec does not name the block: nothing to do. (Vectors stay in BASE shape.)
    unmanaged = {k: v for k, v in fields.items() if k in ("vectors", "sparseVectors")}
    if "vectors" in unmanaged:
        unmanaged["vectors"] = {
            n: {"size": v["size"], "distance": v["distance"]} for n, v in unmanaged["vectors"].items()
        }
    if "sparseVectors" in unmanaged:
        unmanaged["sparseVectors"] = {n: {} for n in unmanaged["sparseVectors"]}
    s = spec(**unmanaged)
    fake = converged(s)
    patch_live(fake, **drift)
    assert plan_for(s, fake).empty


def test_create_request_carries_every_set_field_and_nothing_else() -> None:
    s = spec(
        vectors={"img": {"size": 8, "distance": "Euclid", "datatype": "float16", "multivector": {}, "onDisk": True}},
        sparseVectors={"bm25": {"modifier": "idf", "index": {"onDisk": True, "datatype": "uint8"}}},
        shardNumber=2, shardingMethod="custom", replicationFactor=2, writeConsistencyFactor=1,
        onDiskPayload=False, hnsw={"m": 8}, quantization={"scalar": {"quantile": 0.95, "alwaysRam": True}},
        optimizers={"indexingThreshold": 0}, wal={"walCapacityMb": 64}, metadata={"owner": "search"},
    )  # fmt: skip
    fake = converged(s)  # noqa: F841 - converges, i.e. create -> observe -> empty plan
    from tests.unit.fake_qdrant import FakeQdrant

    plan = plan_for(s, FakeQdrant())
    create = plan.actions[0]
    assert isinstance(create, CreateCollection)
    body = create.request.model_dump(mode="json", exclude_none=True)
    meta = body.pop("metadata")
    assert meta["owner"] == "search" and meta["qco.dev/owner"] == "team/c1/uid-1"
    assert meta["qco.dev/vectors"] == ["bm25", "img"]
    assert body == {
        "vectors": {"img": {"size": 8, "distance": "Euclid", "datatype": "float16", "on_disk": True,
                            "multivector_config": {"comparator": "max_sim"}}},
        "sparse_vectors": {"bm25": {"modifier": "idf", "index": {"on_disk": True, "datatype": "uint8"}}},
        "shard_number": 2, "sharding_method": "custom", "replication_factor": 2, "write_consistency_factor": 1,
        "on_disk_payload": False, "hnsw_config": {"m": 8},
        "quantization_config": {"scalar": {"type": "int8", "quantile": 0.95, "always_ram": True}},
        "optimizers_config": {"indexing_threshold": 0}, "wal_config": {"wal_capacity_mb": 64},
    }  # fmt: skip


def test_unnamed_vector_is_sent_as_single_vector_params() -> None:
    from tests.unit.fake_qdrant import FakeQdrant

    create = plan_for(spec(), FakeQdrant()).actions[0]
    assert isinstance(create, CreateCollection)
    assert isinstance(create.request.vectors, models.VectorParams)


@pytest.mark.parametrize(
    ("live_memory", "field", "value"),
    [
        pytest.param(
            models.HnswConfigDiff(memory=models.Memory.COLD), "onDisk", True, id="memory cold = on_disk"
        ),
        pytest.param(models.HnswConfigDiff(memory=models.Memory.CACHED), "onDisk", False, id="memory cached"),
    ],
)
def test_memory_placement_counts_as_on_disk(
    live_memory: models.HnswConfigDiff, field: str, value: bool
) -> None:
    s = spec(hnsw={field: value})
    fake = converged(s)
    assert fake.info is not None
    hnsw = fake.info.config.hnsw_config.model_copy(update={"memory": live_memory.memory, "on_disk": None})
    fake.info = fake.info.model_copy(
        update={"config": fake.info.config.model_copy(update={"hnsw_config": hnsw})}
    )
    assert plan_for(s, fake).empty
