"""Old -> new values of planned updates (what logs, Events and `qco plan` show)."""

from __future__ import annotations

from qdrant_client.http import models

from qco.plan.actions import UpdateCollection
from qco.plan.change_values import value_changes
from tests.unit.planning import converged, patch_live, plan_for, spec


def test_update_shows_each_field_with_its_live_and_new_value() -> None:
    s = spec(
        hnsw={"m": 32}, optimizers={"indexingThreshold": 5000}, replicationFactor=2, metadata={"team": "a"}
    )
    fake = converged(s)
    patch_live(
        fake,
        hnsw_config=models.HnswConfigDiff(m=16),
        optimizers_config=models.OptimizersConfigDiff(indexing_threshold=100),
        params=models.CollectionParamsDiff(replication_factor=1),
        metadata={"team": "b"},
    )
    plan = plan_for(s, fake)
    (update,) = [a for a in plan.actions if isinstance(a, UpdateCollection)]
    lines = [c.describe() for c in value_changes(update, fake.info)]
    assert lines == [
        "hnsw.m: 16 -> 32",
        "optimizers.indexingThreshold: 100 -> 5000",
        "replicationFactor: 1 -> 2",
        "metadata.team: b -> a",
    ]
    assert value_changes(update, fake.info)[0].to_json() == {"field": "hnsw.m", "old": 16, "new": 32}


def test_named_vector_placement_change_and_other_actions() -> None:
    s = spec(vectors={"text": {"size": 4, "distance": "Cosine", "onDisk": True}})
    fake = converged(s)
    patch_live(fake, vectors={"text": models.VectorParamsDiff(on_disk=False)})
    plan = plan_for(s, fake)
    (update,) = plan.actions
    assert [c.describe() for c in value_changes(update, fake.info)] == ["vectors.text.onDisk: False -> True"]
    first = plan_for(s, converged(spec()))
    assert all(value_changes(a, None) == () for a in first.actions)
