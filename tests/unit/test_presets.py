"""Preset merge rules: explicit wins field by field; unset stays unmanaged; vectors are never invented."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from qdrant_client.http import models

from qco.api.collection import QdrantCollectionSpec
from qco.plan.actions import CreateCollection
from qco.plan.collection import plan_collection_changes
from qco.plan.inputs import DesiredCollection, ObservedCollection, ResourceIdentity
from qco.plan.presets import PRESETS, describe_effective, effective_config, effective_spec, merge_fields

VECTORS = {"": {"size": 8, "distance": "Cosine"}}
ID = ResourceIdentity("ns", "docs", "uid-1", "2024-01-01T00:00:00Z")


def _spec(**fields: Any) -> QdrantCollectionSpec:
    return QdrantCollectionSpec.model_validate({"vectors": VECTORS, **fields})


def _effective(**fields: Any) -> dict[str, Any]:
    return effective_config(_spec(**fields)).model_dump(exclude_none=True)


@pytest.mark.parametrize(
    ("fields", "path", "expected"),
    [
        # each preset's documented values
        ({"preset": "hybrid-search"}, "hnsw", {"m": 16, "ef_construct": 200, "full_scan_threshold": 10000}),
        (
            {"preset": "hybrid-search"},
            "quantization",
            {"scalar": {"type": "int8", "quantile": 0.99, "always_ram": True}},
        ),
        (
            {"preset": "hybrid-search"},
            "optimizers",
            {
                "deleted_threshold": 0.2,
                "vacuum_min_vector_number": 1000,
                "default_segment_number": 4,
                "indexing_threshold": 20000,
                "flush_interval_sec": 5,
            },
        ),
        ({"preset": "semantic-search"}, "hnsw", {"m": 32, "ef_construct": 400}),
        (
            {"preset": "high-accuracy"},
            "quantization",
            {"scalar": {"type": "int8", "quantile": 0.95, "always_ram": True}},
        ),
        ({"preset": "high-performance"}, "hnsw", {"m": 8, "ef_construct": 100}),
        ({"preset": "high-performance"}, "quantization", {"binary": {"always_ram": True}}),
        ({"preset": "multi-tenant"}, "hnsw", {"m": 0, "payload_m": 16}),
        (
            {"preset": "multi-tenant"},
            "payload_indexes",
            [{"field": "tenant_id", "type": "keyword", "is_tenant": True}],
        ),
        (
            {"preset": "multi-tenant", "tenantField": "org"},
            "payload_indexes",
            [{"field": "org", "type": "keyword", "is_tenant": True}],
        ),
        # explicit wins, field by field, at every depth
        (
            {"preset": "hybrid-search", "hnsw": {"m": 64}},
            "hnsw",
            {"m": 64, "ef_construct": 200, "full_scan_threshold": 10000},
        ),
        (
            {"preset": "hybrid-search", "quantization": {"scalar": {"quantile": 0.9}}},
            "quantization",
            {"scalar": {"type": "int8", "quantile": 0.9, "always_ram": True}},
        ),
        (
            {"preset": "hybrid-search", "optimizers": {"indexingThreshold": 0}},
            "optimizers",
            {
                "deleted_threshold": 0.2,
                "vacuum_min_vector_number": 1000,
                "default_segment_number": 4,
                "indexing_threshold": 0,
                "flush_interval_sec": 5,
            },
        ),
        # another kind of quantization replaces the preset's block entirely
        ({"preset": "hybrid-search", "quantization": {"binary": {}}}, "quantization", {"binary": {}}),
        ({"preset": "hybrid-search", "quantization": {"disabled": True}}, "quantization", {"disabled": True}),
        # an explicit index on the tenant field replaces the preset's; other indexes are added
        (
            {
                "preset": "multi-tenant",
                "payloadIndexes": [
                    {"field": "tenant_id", "type": "keyword"},
                    {"field": "year", "type": "integer"},
                ],
            },
            "payload_indexes",
            [{"field": "tenant_id", "type": "keyword"}, {"field": "year", "type": "integer"}],
        ),
        # without a preset nothing is added
        ({}, "hnsw", None),
        ({"hnsw": {"m": 4}}, "hnsw", {"m": 4}),
    ],
)
def test_merge_rule(fields: dict[str, Any], path: str, expected: Any) -> None:
    assert _effective(**fields).get(path) == expected


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_preset_never_invents_vectors_sharding_or_wal(preset: str) -> None:
    bare = QdrantCollectionSpec.model_validate({"preset": preset})
    eff = effective_spec(bare)
    assert (eff.vectors, eff.sparse_vectors, eff.shard_number, eff.sharding_method, eff.wal) == (None,) * 5
    assert effective_config(_spec(preset=preset)).vectors == _spec().vectors


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_unset_fields_stay_unmanaged(preset: str) -> None:
    eff = effective_spec(_spec(preset=preset)).model_dump(exclude_none=True)
    supplied = set(PRESETS[preset]) | {"vectors"}
    config_keys = {
        "sparse_vectors",
        "replication_factor",
        "write_consistency_factor",
        "on_disk_payload",
        "metadata",
    }
    assert not (config_keys - supplied) & set(eff)


def test_no_preset_returns_the_spec_itself() -> None:
    spec = _spec(hnsw={"m": 4})
    assert effective_spec(spec) is spec


def test_plan_creates_the_collection_with_the_effective_settings() -> None:
    desired = DesiredCollection(_spec(preset="high-performance", hnsw={"efConstruct": 50}), ID)
    plan = plan_collection_changes(desired, ObservedCollection(None))
    create = plan.actions[0]
    assert isinstance(create, CreateCollection)
    body = create.request
    assert body.hnsw_config is not None
    assert (body.hnsw_config.m, body.hnsw_config.ef_construct) == (8, 50)
    assert isinstance(body.quantization_config, models.BinaryQuantization)
    assert body.quantization_config.binary.always_ram is True


_hnsw_fields = st.fixed_dictionaries(
    {},
    optional={
        "m": st.integers(0, 64),
        "ef_construct": st.integers(4, 1000),
        "full_scan_threshold": st.integers(10, 100000),
        "on_disk": st.booleans(),
        "payload_m": st.integers(0, 64),
    },
)


@settings(max_examples=80, deadline=None)
@given(preset=st.sampled_from(sorted(PRESETS)), hnsw=_hnsw_fields)
def test_every_explicit_hnsw_field_wins_and_every_other_is_the_presets(
    preset: str, hnsw: dict[str, Any]
) -> None:
    eff = effective_spec(_spec(preset=preset, hnsw=hnsw))
    assert eff.hnsw is not None
    for key in ("m", "ef_construct", "full_scan_threshold", "on_disk", "payload_m", "max_indexing_threads"):
        expected = hnsw.get(key, PRESETS[preset].get("hnsw", {}).get(key))
        assert getattr(eff.hnsw, key) == expected


@settings(max_examples=80, deadline=None)
@given(
    defaults=st.dictionaries(
        st.sampled_from("abc"), st.integers() | st.dictionaries(st.sampled_from("xy"), st.integers())
    ),
    explicit=st.dictionaries(
        st.sampled_from("abc"), st.integers() | st.dictionaries(st.sampled_from("xy"), st.integers())
    ),
)
def test_merge_fields_keeps_every_explicit_leaf(defaults: dict[str, Any], explicit: dict[str, Any]) -> None:
    merged = merge_fields(defaults, explicit)
    assert set(merged) == set(defaults) | set(explicit)
    for key, value in explicit.items():
        if isinstance(value, dict) and isinstance(defaults.get(key), dict):
            assert merged[key] == {**defaults[key], **value}
        else:
            assert merged[key] == value


def test_qco_plan_lines_show_the_effective_settings() -> None:
    assert describe_effective(_spec()) == ""
    text = describe_effective(_spec(preset="multi-tenant", hnsw={"payloadM": 32}))
    assert text.splitlines() == [
        "  effective settings (preset multi-tenant, explicit fields win):",
        '    hnsw: {"m": 0, "payloadM": 32}',
        '    payloadIndexes: [{"field": "tenant_id", "isTenant": true, "type": "keyword"}]',
    ]
