# ruff: noqa: E501 - one table row per line reads better than wrapped rows
"""plan_shard_keys: create missing keys and record them; delete only keys qco created, and only with
consent (removing a key deletes its points); adopt listed keys that already exist without recording them."""

from __future__ import annotations

import pytest

from qco.api.collection_intelligence import ShardKeySpec
from qco.plan.shard_keys import ShardKeyPlan, plan_shard_keys


def _keys(*names: str) -> list[ShardKeySpec]:
    return [ShardKeySpec(key=n) for n in names]


PLANS = [
    # id, wanted, live (key -> points), recorded, allow, create, delete, refused, at_risk, record, foreign
    ("unmanaged", None, {"de": 3}, {"de"}, False, (), (), (), 0, {"de"}, ()),
    ("unmanaged-prunes-gone", None, {"de": 3}, {"de", "gone"}, False, (), (), (), 0, {"de"}, ()),
    ("create-all", _keys("de", "en"), {}, set(), False, ("de", "en"), (), (), 0, {"de", "en"}, ()),
    ("create-missing-adopt-existing", _keys("de", "en"), {"de": 3}, set(), False, ("en",), (), (), 0, {"en"}, ()),
    ("in-sync", _keys("de"), {"de": 3}, {"de"}, False, (), (), (), 0, {"de"}, ()),
    ("adopted-stays-unrecorded", _keys("de"), {"de": 3}, set(), True, (), (), (), 0, set(), ()),
    ("refused-recorded", _keys("de"), {"de": 3, "fr": 7}, {"de", "fr"}, False, (), (), ("fr",), 7, {"de", "fr"}, ()),
    ("refused-sums-points", _keys("de", "en"), {"fr": 7, "it": 1}, {"fr", "it"}, False, (), (), ("fr", "it"), 8, {"fr", "it"}, ()),
    ("allow-deletes-recorded", _keys("de"), {"de": 3, "fr": 7}, {"de", "fr"}, True, (), ("fr",), (), 0, {"de"}, ()),
    ("allow-empty-list", [], {"fr": 0}, {"fr"}, True, (), ("fr",), (), 0, set(), ()),
    # keys qco did not create are never deleted, and not a reason to refuse either
    ("allow-spares-foreign", _keys("de"), {"de": 3, "fr": 7}, {"de"}, True, (), (), (), 0, {"de"}, ("fr",)),
    ("refuse-ignores-foreign", _keys("de", "en"), {"de": 3, "fr": 7}, {"de"}, False, ("en",), (), (), 0, {"de", "en"}, ("fr",)),
    ("mixed", _keys("de"), {"de": 3, "fr": 7, "it": 2}, {"it"}, True, (), ("it",), (), 0, set(), ("fr",)),
    # a recorded key that is gone drops out of the record (re-created by qco: recorded again)
    ("recorded-but-gone", _keys("de"), {}, {"de", "fr"}, True, ("de",), (), (), 0, {"de"}, ()),
]  # fmt: skip


@pytest.mark.parametrize(
    ("wanted", "live", "recorded", "allow", "create", "delete", "refused", "at_risk", "record", "foreign"),
    [r[1:] for r in PLANS],
    ids=[r[0] for r in PLANS],
)
def test_plan(
    wanted: list[ShardKeySpec] | None,
    live: dict[str, int],
    recorded: set[str],
    allow: bool,
    create: tuple[str, ...],
    delete: tuple[str, ...],
    refused: tuple[str, ...],
    at_risk: int,
    record: set[str],
    foreign: tuple[str, ...],
) -> None:
    plan = plan_shard_keys(wanted, live, allow, recorded=frozenset(recorded))
    assert tuple(k.key for k in plan.create) == create
    assert (plan.delete, plan.refused, plan.points_at_risk) == (delete, refused, at_risk)
    assert (plan.record, plan.foreign) == (frozenset(record), foreign)


def test_record_claims_before_creating_and_releases_after_deleting() -> None:
    plan = plan_shard_keys(_keys("de", "en"), {"de": 1, "fr": 2}, True, recorded={"de", "fr"})
    assert plan.record_before == {"de", "en", "fr"}  # written first: en claimed, fr still held
    assert plan.record == {"de", "en"}  # written after fr is gone


def test_refusal_message_names_keys_points_and_the_way_out() -> None:
    plan = ShardKeyPlan(refused=("fr",), points_at_risk=7)
    assert plan.refusal_message("docs") == (
        "removing shard key(s) fr from collection docs would delete their 7 points; nothing was changed."
        " Restore the key(s) in spec.shardKeys, or set shardKeyRemovalPolicy: Allow to delete them."
    )
