# ruff: noqa: E501 - one table row per line reads better than wrapped rows
"""Table-driven: immutables, ownership and adoption, vectors, payload indexes, aliases, grey, paused."""

from __future__ import annotations

from typing import Any

import pytest
from qdrant_client.http import models

from qco.plan.actions import (
    AdoptionRefused,
    AliasConflict,
    CreatePayloadIndex,
    CreateVector,
    DeletePayloadIndex,
    DeleteVector,
    ImmutableFieldChanged,
    NudgeOptimizers,
    ResourceConflict,
    StampOwner,
    UpdateAliases,
    UpdateCollection,
)
from qco.plan.ownership import OwnerStamp, parse_owner_stamp
from tests.unit.fake_qdrant import FakeQdrant
from tests.unit.planning import OLDER, YOUNGER, converged, foreign, patch_live, plan_for, spec

V = {"size": 4, "distance": "Cosine"}

IMMUTABLE: list[tuple[str, dict[str, Any], dict[str, Any], str]] = [
    ("size", {"vectors": {"": V}}, {"vectors": {"": {**V, "size": 8}}}, 'vectors."".size'),
    ("distance", {"vectors": {"a": V}}, {"vectors": {"a": {**V, "distance": "Dot"}}}, "vectors.a.distance"),
    ("datatype", {"vectors": {"a": V}}, {"vectors": {"a": {**V, "datatype": "uint8"}}}, "vectors.a.datatype"),
    ("multivector", {"vectors": {"a": V}}, {"vectors": {"a": {**V, "multivector": {}}}}, "vectors.a.multivector.comparator"),
    ("layout", {"vectors": {"": V}}, {"vectors": {"a": V}}, "vectors"),
    ("shardNumber", {}, {"shardNumber": 3}, "shardNumber"),
    ("shardingMethod", {}, {"shardingMethod": "custom"}, "shardingMethod"),
    ("walCapacityMb", {}, {"wal": {"walCapacityMb": 64}}, "wal.walCapacityMb"),
    ("walSegmentsAhead", {"wal": {"walSegmentsAhead": 1}}, {"wal": {"walSegmentsAhead": 2}}, "wal.walSegmentsAhead"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("live", "wanted", "field"), [r[1:] for r in IMMUTABLE], ids=[r[0] for r in IMMUTABLE]
)
def test_immutable_change_on_owned_collection_is_stalled_but_mutables_still_converge(
    live: dict[str, Any], wanted: dict[str, Any], field: str
) -> None:
    fake = converged(spec(**live))
    s = spec(**wanted, hnsw={"m": 48})
    plan = plan_for(s, fake)
    [blocker] = plan.blockers
    assert isinstance(blocker, ImmutableFieldChanged)
    assert [m.field for m in blocker.mismatches] == [field]
    assert "CollectionDeployment" in blocker.message() and field in blocker.message()
    # Decision: an immutable mismatch blocks only itself; the hnsw change is still patched.
    assert any(isinstance(a, UpdateCollection) and "hnsw.m" in a.fields for a in plan.actions)


@pytest.mark.parametrize(
    ("live", "wanted", "field"), [r[1:] for r in IMMUTABLE], ids=[r[0] for r in IMMUTABLE]
)
def test_adoption_if_compatible_refuses_immutable_mismatch(
    live: dict[str, Any], wanted: dict[str, Any], field: str
) -> None:
    fake = foreign(spec(**live), None)
    plan = plan_for(spec(**wanted, hnsw={"m": 48}), fake)
    assert plan.actions == ()
    [blocker] = plan.blockers
    assert isinstance(blocker, AdoptionRefused) and blocker.reason == "AdoptionRefused"
    assert field in blocker.message()


def test_matching_defaults_are_not_immutable_mismatches() -> None:
    s = spec(shardNumber=1, shardingMethod="auto", wal={"walCapacityMb": 32, "walSegmentsAhead": 0},
             vectors={"a": {**V, "datatype": "float32"}})  # fmt: skip
    fake = foreign(spec(vectors={"a": V}), None)
    plan = plan_for(s, fake)
    assert not plan.blockers


OWNERSHIP: list[tuple[str, OwnerStamp | None, str, dict[str, bool], type | None, str | None]] = [
    ("unowned Never", None, "Never", {}, AdoptionRefused, None),
    ("unowned IfCompatible adopts", None, "IfCompatible", {}, None, None),
    ("unowned Force adopts", None, "Force", {}, None, None),
    ("older owner wins", OLDER, "IfCompatible", {}, ResourceConflict, None),
    ("older owner wins even with Force", OLDER, "Force", {}, ResourceConflict, None),
    ("younger owner loses", YOUNGER, "IfCompatible", {}, None, YOUNGER.ref),
    ("gone owner: adopt", OLDER, "IfCompatible", {OLDER.ref: False}, None, OLDER.ref),
    ("gone owner: Never", OLDER, "Never", {OLDER.ref: False}, AdoptionRefused, None),
    ("tie on time: the owner with a smaller uid keeps it", OwnerStamp("o", "t", "uid-0", "2026-01-02T00:00:00Z"),
     "IfCompatible", {}, ResourceConflict, None),
    ("tie on time: the owner with a larger uid keeps it too", OwnerStamp("o", "t", "uid-2", "2026-01-02T00:00:00Z"),
     "IfCompatible", {}, ResourceConflict, None),
]  # fmt: skip


@pytest.mark.parametrize(
    ("stamp", "policy", "existing", "blocker", "previous"),
    [r[1:] for r in OWNERSHIP],
    ids=[r[0] for r in OWNERSHIP],
)
def test_ownership_and_adoption(
    stamp: OwnerStamp | None,
    policy: str,
    existing: dict[str, bool],
    blocker: type | None,
    previous: str | None,
) -> None:
    fake = foreign(spec(), stamp)
    plan = plan_for(spec(adoptionPolicy=policy, hnsw={"m": 8}), fake, existing_owners=existing)
    if blocker is not None:
        assert [type(b) for b in plan.blockers] == [blocker]
        assert plan.actions == () and not plan.owned
        if blocker is ResourceConflict:
            assert f"{stamp.namespace}/{stamp.name}" in plan.blockers[0].message()  # type: ignore[union-attr]
        return
    first = plan.actions[0]
    assert isinstance(first, StampOwner) and first.previous_owner == previous
    assert first.metadata["qco.dev/owner"] == "team/c1/uid-1"
    fake.apply(plan)
    assert plan_for(spec(adoptionPolicy=policy, hnsw={"m": 8}), fake, existing_owners=existing).empty


def test_force_adopts_incompatible_and_reports_immutables() -> None:
    fake = foreign(spec(), None)
    plan = plan_for(spec(adoptionPolicy="Force", vectors={"": {**V, "size": 8}}), fake)
    assert isinstance(plan.actions[0], StampOwner)
    assert [type(b) for b in plan.blockers] == [ImmutableFieldChanged]


def test_named_vectors_added_and_removed_only_when_recorded() -> None:
    s1 = spec(vectors={"a": V, "b": V}, sparseVectors={"s": {}})
    fake = converged(s1)
    s2 = spec(
        vectors={"a": V, "c": {**V, "hnsw": {"m": 4}, "onDisk": True}},
        sparseVectors={"t": {"modifier": "idf"}},
    )
    plan = plan_for(s2, fake)
    kinds = [(type(a).__name__, getattr(a, "vector_name", None)) for a in plan.actions]
    assert kinds == [
        ("StampOwner", None), ("DeleteVector", "s"), ("DeleteVector", "b"),
        ("CreateVector", "c"), ("CreateVector", "t"), ("UpdateCollection", None),
    ]  # fmt: skip
    update = plan.actions[-1]
    assert isinstance(update, UpdateCollection)
    assert update.request.model_dump(exclude_none=True)["vectors"] == {
        "c": {"hnsw_config": {"m": 4}, "on_disk": True}
    }
    assert isinstance(plan.actions[4], CreateVector) and plan.actions[4].sparse
    fake.apply(plan)
    assert plan_for(s2, fake).empty
    # An adopted collection's vectors were not created by qco: never deleted.
    adopted = foreign(s1, None)
    assert not any(isinstance(a, DeleteVector) for a in plan_for(spec(vectors={"a": V}), adopted).actions)


def test_vectors_left_out_are_not_managed() -> None:
    fake = converged(spec(vectors={"a": V, "b": V}))
    s = spec()
    s.vectors = None
    assert not any(isinstance(a, DeleteVector | CreateVector) for a in plan_for(s, fake).actions)


IDX: list[tuple[str, dict[str, Any], dict[str, Any], bool]] = [
    ("type changed", {"field": "f", "type": "keyword"}, {"field": "f", "type": "integer"}, True),
    ("tokenizer changed", {"field": "f", "type": "text", "tokenizer": "word"}, {"field": "f", "type": "text", "tokenizer": "prefix"}, True),
    ("minTokenLen", {"field": "f", "type": "text"}, {"field": "f", "type": "text", "minTokenLen": 2}, True),
    ("maxTokenLen", {"field": "f", "type": "text", "maxTokenLen": 5}, {"field": "f", "type": "text", "maxTokenLen": 9}, True),
    ("lowercase", {"field": "f", "type": "text"}, {"field": "f", "type": "text", "lowercase": False}, True),
    ("lowercase default", {"field": "f", "type": "text"}, {"field": "f", "type": "text", "lowercase": True}, False),
    ("lookup", {"field": "f", "type": "integer", "lookup": True}, {"field": "f", "type": "integer", "lookup": False}, True),
    ("range", {"field": "f", "type": "integer"}, {"field": "f", "type": "integer", "range": False}, True),
    ("isTenant", {"field": "f", "type": "keyword"}, {"field": "f", "type": "keyword", "isTenant": True}, True),
    ("isTenant default", {"field": "f", "type": "uuid"}, {"field": "f", "type": "uuid", "isTenant": False}, False),
    ("isPrincipal", {"field": "f", "type": "datetime"}, {"field": "f", "type": "datetime", "isPrincipal": True}, True),
    ("onDisk", {"field": "f", "type": "geo"}, {"field": "f", "type": "geo", "onDisk": True}, True),
    ("same", {"field": "f", "type": "float", "isPrincipal": True}, {"field": "f", "type": "float", "isPrincipal": True}, False),
    ("bool", {"field": "f", "type": "bool"}, {"field": "f", "type": "bool"}, False),
]  # fmt: skip


@pytest.mark.parametrize(("live", "wanted", "replaced"), [r[1:] for r in IDX], ids=[r[0] for r in IDX])
def test_payload_index_created_or_replaced_when_schema_differs(
    live: dict[str, Any], wanted: dict[str, Any], replaced: bool
) -> None:
    fake = converged(spec(payloadIndexes=[live]))
    plan = plan_for(spec(payloadIndexes=[wanted]), fake)
    creates = [a for a in plan.actions if isinstance(a, CreatePayloadIndex)]
    assert bool(creates) == replaced
    if replaced:
        assert creates[0].replace and "payloadIndexes.f" in plan.changed_fields
        fake.apply(plan)
        assert plan_for(spec(payloadIndexes=[wanted]), fake).empty


def test_payload_indexes_deleted_only_when_qco_created_them() -> None:
    fake = converged(spec(payloadIndexes=[{"field": "a", "type": "keyword"}, {"field": "b", "type": "bool"}]))
    assert fake.info is not None
    fake.info.payload_schema["manual"] = models.PayloadIndexInfo(data_type="keyword", points=0)
    s = spec(payloadIndexes=[{"field": "b", "type": "bool"}])
    plan = plan_for(s, fake)
    assert [a.field_name for a in plan.actions if isinstance(a, DeletePayloadIndex)] == ["a"]
    fake.apply(plan)
    assert plan_for(s, fake).empty
    assert parse_owner_stamp(fake.info.config.metadata).payload_indexes == {"b"}  # type: ignore[union-attr]
    s.payload_indexes = None  # left out: not managed
    assert plan_for(s, fake).empty
    s.payload_indexes = []  # empty: remove what qco created
    assert [type(a) for a in plan_for(s, fake).actions] == [StampOwner, DeletePayloadIndex]


def _alias_fake(target_stamp: OwnerStamp | None) -> tuple[FakeQdrant, dict[str, OwnerStamp | None]]:
    fake = converged(spec())
    fake.aliases["prod"] = "elsewhere"
    return fake, {"elsewhere": target_stamp}


ALIAS: list[tuple[str, OwnerStamp | None, str, dict[str, bool], bool]] = [
    ("unmanaged target", None, "IfCompatible", {}, False),
    ("unmanaged target Force", None, "Force", {}, True),
    ("owned by another resource", OLDER, "IfCompatible", {}, False),
    ("owned by another resource, Force", OLDER, "Force", {}, False),
    ("owner gone", OLDER, "IfCompatible", {OLDER.ref: False}, False),
    ("owner gone, Force", OLDER, "Force", {OLDER.ref: False}, True),
    ("our own other collection", OwnerStamp("team", "c1", "uid-1"), "IfCompatible", {}, True),
]  # fmt: skip


@pytest.mark.parametrize(
    ("stamp", "policy", "existing", "moved"), [r[1:] for r in ALIAS], ids=[r[0] for r in ALIAS]
)
def test_alias_pointing_elsewhere(
    stamp: OwnerStamp | None, policy: str, existing: dict[str, bool], moved: bool
) -> None:
    fake, stamps = _alias_fake(stamp)
    s = spec(aliases=["prod"], adoptionPolicy=policy)
    plan = plan_for(s, fake, alias_target_stamps=stamps, existing_owners=existing)
    ops = [a for a in plan.actions if isinstance(a, UpdateAliases)]
    if moved:
        [batch] = ops
        assert [type(o) for o in batch.operations] == [
            models.DeleteAliasOperation,
            models.CreateAliasOperation,
        ]
        assert not plan.blockers
    else:
        assert not ops
        [blocker] = plan.blockers
        assert isinstance(blocker, AliasConflict) and "prod" in blocker.message()


def test_aliases_created_kept_and_removed() -> None:
    s = spec(aliases=["a", "b"])
    fake = converged(s)
    assert fake.aliases == {"a": "c1", "b": "c1"}
    fake.aliases["manual"] = "c1"
    s2 = spec(aliases=["b", "c"])
    fake.aliases["a"] = "c1"
    plan = plan_for(s2, fake)
    [batch] = [a for a in plan.actions if isinstance(a, UpdateAliases)]
    assert batch.describe() == "aliases: delete alias a; point c at c1"
    fake.apply(plan)
    assert fake.aliases == {"b": "c1", "c": "c1", "manual": "c1"}
    assert plan_for(s2, fake).empty


def test_grey_collection_is_nudged_unless_patched() -> None:
    s = spec(hnsw={"m": 8})
    fake = converged(s)
    assert fake.info is not None
    fake.info = fake.info.model_copy(update={"status": models.CollectionStatus.GREY})
    assert [type(a) for a in plan_for(s, fake).actions] == [NudgeOptimizers]
    patch_live(fake, hnsw_config=models.HnswConfigDiff(m=16))
    assert [type(a) for a in plan_for(s, fake).actions] == [UpdateCollection]


def test_paused_plans_but_marks_paused() -> None:
    from qco.plan.collection import plan_collection_changes
    from qco.plan.inputs import ObservedCollection
    from tests.unit.planning import desired

    plan = plan_collection_changes(desired(spec(), paused=True), ObservedCollection(None))
    assert plan.paused and plan.actions


def test_every_action_describes_itself() -> None:
    fake = converged(
        spec(vectors={"a": V}, payloadIndexes=[{"field": "x", "type": "text", "tokenizer": "word"}])
    )
    s = spec(
        vectors={"b": V}, payloadIndexes=[{"field": "y", "type": "keyword"}], aliases=["z"], hnsw={"m": 3}
    )
    plan = plan_for(s, fake)
    lines = plan.describe()
    assert len(lines) == len(plan.actions) >= 6
    assert all(("c1" in line) or line.startswith("aliases") for line in lines)
