"""A window's child spec from the template and its tier: what a window keeps from its creation,
what follows the template in place, and the cold overrides on top."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qco.api.collection import QdrantCollectionSpec
from qco.plan.window_spec import same_spec, window_spec

CHILD_OWN = {"collectionName": "ev-2026-11", "deletionPolicy": "Delete", "adoptionPolicy": "Never"}
LIVE: dict[str, Any] = {
    **CHILD_OWN,
    "vectors": {"": {"size": 4, "distance": "Cosine", "hnsw": {"m": 16}}},
    "shardNumber": 2,
    "hnsw": {"m": 16, "efConstruct": 100},
    "quantization": {"scalar": {"type": "int8", "quantile": 0.99}},
    "payloadIndexes": [{"field": "lang", "type": "keyword"}],
}


def template(**changes: Any) -> dict[str, Any]:
    base = {k: v for k, v in LIVE.items() if k not in CHILD_OWN}
    return {**base, **changes}


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        # Nothing changed: the child spec stays as it is.
        ({}, LIVE),
        # A mutable change (HNSW, payload indexes) reaches the window in place.
        ({"hnsw": {"m": 32}}, {**LIVE, "hnsw": {"m": 32}}),
        (
            {"payloadIndexes": [{"field": "ts", "type": "datetime"}]},
            {**LIVE, "payloadIndexes": [{"field": "ts", "type": "datetime"}]},
        ),
        # Immutable changes (vector size and distance, shard number) wait for the next window; the
        # vector's mutable part still follows.
        (
            {"vectors": {"": {"size": 8, "distance": "Dot", "onDisk": True}}, "shardNumber": 6},
            {**LIVE, "vectors": {"": {"size": 4, "distance": "Cosine", "onDisk": True}}},
        ),
        # A vector added or removed in the template: the window keeps its own vector set.
        (
            {"vectors": {"": {"size": 4, "distance": "Cosine"}, "img": {"size": 3, "distance": "Dot"}}},
            {**LIVE, "vectors": {"": {"size": 4, "distance": "Cosine"}}},
        ),
        # A field removed from the template is removed from the window.
        ({"quantization": None}, {k: v for k, v in LIVE.items() if k != "quantization"}),
    ],
)
def test_template_changes_reach_a_window_only_where_qdrant_changes_in_place(
    changes: dict[str, Any], expected: dict[str, Any]
) -> None:
    tpl = {k: v for k, v in template(**changes).items() if v is not None}
    assert window_spec(LIVE, tpl, None) == expected


def test_cold_overrides_go_on_top_and_replace_quantization_whole() -> None:
    overrides = {
        "vectors": {"": {"onDisk": True}, "missing": {"onDisk": True}},
        "quantization": {"binary": {"alwaysRam": True}},
        "hnsw": {"onDisk": True},
        "onDiskPayload": True,
    }
    cold = window_spec(LIVE, template(), overrides)
    assert cold == {
        **LIVE,
        "vectors": {"": {"size": 4, "distance": "Cosine", "hnsw": {"m": 16}, "onDisk": True}},
        "quantization": {"binary": {"alwaysRam": True}},  # not merged with the scalar block
        "hnsw": {"m": 16, "efConstruct": 100, "onDisk": True},
        "onDiskPayload": True,
    }
    # Back to hot (e.g. cold removed from the spec): the template's settings return.
    assert window_spec(cold, template(), None) == LIVE


def test_defaults_the_api_server_fills_in_do_not_count_as_a_difference() -> None:
    defaulted = {**LIVE, "quantization": {"scalar": {"quantile": 0.99}}}  # type: int8 is the default
    assert same_spec(LIVE, defaulted)
    assert not same_spec(LIVE, {**LIVE, "hnsw": {"m": 8}})


_vector = st.fixed_dictionaries(
    {"size": st.integers(1, 8), "distance": st.sampled_from(["Cosine", "Dot"])},
    optional={"onDisk": st.booleans(), "hnsw": st.fixed_dictionaries({"m": st.integers(0, 64)})},
)
_config = st.fixed_dictionaries(
    {  # the unnamed vector alone, or named ones (Qdrant allows no mix)
        "vectors": st.dictionaries(st.just(""), _vector, min_size=1)
        | st.dictionaries(st.sampled_from(["a", "b"]), _vector, min_size=1)
    },
    optional={
        "shardNumber": st.integers(1, 4),
        "hnsw": st.fixed_dictionaries({"m": st.integers(0, 64)}, optional={"onDisk": st.booleans()}),
        "onDiskPayload": st.booleans(),
        "quantization": st.sampled_from(
            [
                {"scalar": {"quantile": 0.99}},
                {"binary": {"alwaysRam": True}},
                {"product": {"compression": "x4"}},
            ]
        ),
    },
)
_overrides = st.fixed_dictionaries(
    {},
    optional={
        "vectors": st.dictionaries(
            st.sampled_from(["", "a", "z"]), st.fixed_dictionaries({"onDisk": st.booleans()})
        ),
        "hnsw": st.fixed_dictionaries({"onDisk": st.booleans()}),
        "quantization": st.just({"binary": {"alwaysRam": True}}),
        "onDiskPayload": st.booleans(),
    },
)


@settings(max_examples=200, deadline=None)
@given(created=_config, template=_config, overrides=st.none() | _overrides)
def test_a_window_keeps_its_fixed_fields_and_settles_in_one_step(
    created: dict[str, Any], template: dict[str, Any], overrides: dict[str, Any] | None
) -> None:
    live = {**CHILD_OWN, **created}
    once = window_spec(live, template, overrides)
    # What Qdrant cannot change in place stays as the window was created.
    assert {n: (v["size"], v["distance"]) for n, v in once["vectors"].items()} == {
        n: (v["size"], v["distance"]) for n, v in created["vectors"].items()
    }
    assert once.get("shardNumber") == created.get("shardNumber")
    assert {k: once[k] for k in CHILD_OWN} == CHILD_OWN
    # Applying it again changes nothing (no patch loop between passes).
    assert window_spec(once, template, overrides) == once
    # The result is a spec the child accepts.
    assert same_spec(once, once)
    QdrantCollectionSpec.model_validate(once)
