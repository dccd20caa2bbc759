"""Properties: create -> observe -> plan is empty; applying the PATCH converges; no flapping."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings

from qco.api.collection import QdrantCollectionSpec
from qco.plan.actions import UpdateCollection
from tests.unit.fake_qdrant import FakeQdrant, apply_update
from tests.unit.planning import plan_for
from tests.unit.strategies import specs

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(specs())
def test_create_observe_plan_is_empty(raw: dict[str, Any]) -> None:
    s = QdrantCollectionSpec.model_validate(raw)
    fake = FakeQdrant()
    fake.apply(plan_for(s, fake))  # create, indexes, aliases
    plan = plan_for(s, fake)
    assert plan.empty, plan.describe()


@SETTINGS
@given(specs(), specs())
def test_applying_the_patch_converges(first: dict[str, Any], second: dict[str, Any]) -> None:
    # Live created from one spec, desired another (with the same vectors, so only mutable blocks differ).
    second = {**second, "vectors": first["vectors"], "sparseVectors": first.get("sparseVectors", {}),
              "shardNumber": first.get("shardNumber"), "shardingMethod": first.get("shardingMethod"),
              "wal": first.get("wal"), "adoptionPolicy": "IfCompatible"}  # fmt: skip
    second = {k: v for k, v in second.items() if v is not None}
    fake = FakeQdrant()
    fake.apply(plan_for(QdrantCollectionSpec.model_validate(first), fake))
    s = QdrantCollectionSpec.model_validate(second)
    plan = plan_for(s, fake)
    assert not plan.blockers, plan.describe()
    for action in plan.actions:
        if isinstance(action, UpdateCollection):
            assert fake.info is not None
            fake.info = apply_update(fake.info, action.request)
    fake.apply(plan)  # the rest (stamp, indexes, aliases); re-applying the PATCH is idempotent
    after = plan_for(s, fake)
    assert after.empty, after.describe()


@SETTINGS
@given(specs())
def test_plan_is_deterministic(raw: dict[str, Any]) -> None:
    s = QdrantCollectionSpec.model_validate(raw)
    fake = FakeQdrant()
    assert plan_for(s, fake) == plan_for(s, fake)
