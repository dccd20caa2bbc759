"""plan_shard_keys: create missing keys; drop keys only with consent (removing a key deletes its points)."""

from __future__ import annotations

import pytest

from qco.api.collection_intelligence import ShardKeySpec
from qco.plan.shard_keys import ShardKeyPlan, plan_shard_keys


def _keys(*names: str) -> list[ShardKeySpec]:
    return [ShardKeySpec(key=n) for n in names]


@pytest.mark.parametrize(
    ("wanted", "live", "allow", "create", "delete", "refused", "at_risk"),
    [
        (None, {"de": 3}, False, (), (), (), 0),  # not managed
        (_keys("de", "en"), {}, False, ("de", "en"), (), (), 0),
        (_keys("de", "en"), {"de": 3}, False, ("en",), (), (), 0),
        (_keys("de"), {"de": 3}, False, (), (), (), 0),
        (_keys("de"), {"de": 3, "fr": 7}, False, (), (), ("fr",), 7),  # refused: nothing else happens
        (_keys("de", "en"), {"fr": 7, "it": 1}, False, (), (), ("fr", "it"), 8),
        (_keys("de"), {"de": 3, "fr": 7}, True, (), ("fr",), (), 0),
        ([], {"fr": 0}, True, (), ("fr",), (), 0),
    ],
)
def test_plan(
    wanted: list[ShardKeySpec] | None,
    live: dict[str, int],
    allow: bool,
    create: tuple[str, ...],
    delete: tuple[str, ...],
    refused: tuple[str, ...],
    at_risk: int,
) -> None:
    plan = plan_shard_keys(wanted, live, allow)
    assert tuple(k.key for k in plan.create) == create
    assert (plan.delete, plan.refused, plan.points_at_risk) == (delete, refused, at_risk)


def test_refusal_message_names_keys_points_and_the_way_out() -> None:
    plan = ShardKeyPlan(refused=("fr",), points_at_risk=7)
    assert plan.refusal_message("docs") == (
        "removing shard key(s) fr from collection docs would delete their 7 points; nothing was changed."
        " Restore the key(s) in spec.shardKeys, or set shardKeyRemovalPolicy: Allow to delete them."
    )
