"""The owner stamp records the shard keys qco created (`qco.dev/shard-keys`): parse and build are
symmetric and tolerant, the collection planner carries the record over, and a change of owner drops it."""

from __future__ import annotations

from typing import Any

import pytest

from qco.plan.actions import CreateCollection, StampOwner
from qco.plan.ownership import (
    SHARD_KEYS_KEY,
    OwnerStamp,
    build_stamp_metadata,
    parse_owner_stamp,
    removed_stamp_metadata,
)
from tests.unit.fake_qdrant import FakeQdrant
from tests.unit.planning import OLDER, converged, foreign, plan_for, spec

OWNER = "team/c1/uid-1"

PARSE = [
    ("list", ["de", "en"], {"de", "en"}),
    ("comma-string", "de, en,", {"de", "en"}),
    ("empty-list", [], set()),
    ("absent", None, set()),
    ("not-a-list", 7, set()),
    ("non-string-items", [1, " x ", ""], {"1", "x"}),
]  # fmt: skip


@pytest.mark.parametrize(("value", "keys"), [r[1:] for r in PARSE], ids=[r[0] for r in PARSE])
def test_parse_is_tolerant(value: Any, keys: set[str]) -> None:
    meta: dict[str, Any] = {"qco.dev/owner": OWNER}
    if value is not None:
        meta[SHARD_KEYS_KEY] = value
    stamp = parse_owner_stamp(meta)
    assert stamp is not None and stamp.shard_keys == frozenset(keys)


@pytest.mark.parametrize("keys", [frozenset(), frozenset({"de"}), frozenset({"en", "de", "fr"})])
def test_build_then_parse_round_trips(keys: frozenset[str]) -> None:
    stamp = OwnerStamp(
        "team", "c1", "uid-1", "2026-01-02T00:00:00Z", vectors=frozenset({"a"}), shard_keys=keys
    )
    meta = build_stamp_metadata(stamp)
    assert meta[SHARD_KEYS_KEY] == sorted(keys)
    assert parse_owner_stamp(meta) == stamp


def test_retain_removes_the_record_too() -> None:
    assert removed_stamp_metadata()[SHARD_KEYS_KEY] is None


def _set_metadata(fake: FakeQdrant, **keys: Any) -> None:
    """Write qco.dev/ keys into the live metadata (by hand, as a person or an older qco would)."""
    assert fake.info is not None
    meta = {**(fake.info.config.metadata or {}), **{f"qco.dev/{k}": v for k, v in keys.items()}}
    config = fake.info.config.model_copy(update={"metadata": meta})
    fake.info = fake.info.model_copy(update={"config": config})


CARRY = [
    # id, how the live collection came to be, its record, the record qco's next stamp holds (None: no restamp)
    ("ours-kept", "ours", ["de", "en"], None),
    ("ours-restamped-keeps-record", "ours-restamp", ["de"], ["de"]),
    ("adopted-unstamped", "unstamped", ["de"], []),
    ("taken-over-from-a-deleted-owner", "dead-owner", ["de"], []),
]  # fmt: skip


@pytest.mark.parametrize(("origin", "record", "stamped"), [r[1:] for r in CARRY], ids=[r[0] for r in CARRY])
def test_collection_planner_carries_the_record_only_for_its_own_collection(
    origin: str, record: list[str], stamped: list[str] | None
) -> None:
    s = spec(shardingMethod="custom", shardKeys=[{"key": "de"}], adoptionPolicy="Force")
    owner = None if origin == "unstamped" else OLDER
    fake = converged(s) if origin.startswith("ours") else foreign(s, owner)
    _set_metadata(fake, **{"shard-keys": record})
    if origin == "ours-restamp":  # a recorded vector that is gone forces a restamp
        _set_metadata(fake, vectors=["gone"])
    plan = plan_for(s, fake, existing_owners={OLDER.ref: False})
    stamps = [a for a in plan.actions if isinstance(a, StampOwner)]
    if stamped is None:
        assert stamps == []
    else:
        [action] = stamps
        assert action.metadata[SHARD_KEYS_KEY] == stamped
        assert action.metadata["qco.dev/owner"] == OWNER


def test_a_new_collection_records_no_shard_keys_yet() -> None:
    # The keys are created (and recorded) by the shard-key step once the collection exists.
    plan = plan_for(spec(shardingMethod="custom", shardKeys=[{"key": "de"}]), FakeQdrant())
    create = plan.actions[0]
    assert isinstance(create, CreateCollection) and create.request.metadata is not None
    assert create.request.metadata[SHARD_KEYS_KEY] == []
