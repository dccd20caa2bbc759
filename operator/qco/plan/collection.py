"""plan_collection_changes: (desired QdrantCollection, observed Qdrant) -> CollectionPlan. Pure.

Rules (the tests in tests/unit/test_plan_collection*.py hold one row per rule):
- Missing collection: create it with everything the spec sets and qco's stamp in its metadata,
  then its payload indexes and aliases.
- Ownership: our stamp -> manage. A foreign stamp whose owner still exists -> the older resource
  (creationTimestamp, then uid) wins; the younger gets ResourceConflict and plans nothing. No
  stamp (or the owner is gone) -> adoptionPolicy: Never refuses; IfCompatible refuses when an
  immutable field differs; Force adopts. Refusals plan nothing: qco writes nothing to a
  collection it does not own.
- Immutable mismatches on a collection qco owns (or Force-adopted) block only themselves: the
  mutable blocks, indexes and aliases still converge, and the plan carries ImmutableFieldChanged.
- Fields the spec leaves out are not managed. Named vectors, payload indexes and aliases that
  the spec no longer lists are removed only if qco recorded them in its stamp; a list left out
  entirely (None) is not managed at all, an empty list removes what qco recorded.
- No data loss without consent: removing a vector from a collection that holds points needs
  vectorRemovalPolicy Allow; otherwise the whole plan is VectorRemovalRefused and touches nothing.
- Aliases: never taken from a collection another existing resource owns; taken from an
  unmanaged collection only with adoptionPolicy Force.
- A grey collection with nothing else to patch gets its optimizers nudged.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from qdrant_client.http import models

from qco.api.collection_config import CollectionConfig
from qco.plan import collection_request as req
from qco.plan.actions import (
    Action,
    AdoptionRefused,
    AliasConflict,
    Blocker,
    CollectionPlan,
    CreateCollection,
    CreatePayloadIndex,
    CreateVector,
    DeletePayloadIndex,
    DeleteVector,
    FieldMismatch,
    ImmutableFieldChanged,
    NudgeOptimizers,
    ResourceConflict,
    StampOwner,
    UpdateAliases,
    VectorRemovalRefused,
)
from qco.plan.compare import plain, same
from qco.plan.inputs import DesiredCollection, ObservedCollection, ResourceIdentity
from qco.plan.ownership import OwnerStamp, build_stamp_metadata, parse_owner_stamp
from qco.plan.presets import with_preset
from qco.plan.updates import collection_update, payload_index_differs


def plan_collection_changes(desired: DesiredCollection, observed: ObservedCollection) -> CollectionPlan:
    """Compute the ordered actions and the blockers that take `observed` to `desired`.

    Pure: the same inputs always give the same plan, and nothing is read or written. When
    `desired.paused`, the plan is still computed (for status and `qco plan`) but marked paused.
    """
    desired = with_preset(desired)  # spec.preset's defaults under the explicit fields
    name = desired.collection_name
    if observed.info is None:
        return _plan_create(desired, observed)
    spec, identity = desired.spec, desired.identity
    info = observed.info
    live_stamp = parse_owner_stamp(info.config.metadata)
    mismatches = immutable_mismatches(spec, info)
    me = _stamp(identity)

    base: OwnerStamp | None = live_stamp
    previous_owner: str | None = None
    if live_stamp is None or (live_stamp.uid != identity.uid and not observed.owner_exists(live_stamp)):
        if spec.adoption_policy == "Never":
            return _blocked(desired, AdoptionRefused(name, "Never"))
        if spec.adoption_policy == "IfCompatible" and mismatches:
            return _blocked(desired, AdoptionRefused(name, "IfCompatible", tuple(mismatches)))
        previous_owner, base = (live_stamp.ref if live_stamp else None), None
    elif live_stamp.uid != identity.uid:
        if not me.is_older_than(live_stamp):
            return _blocked(desired, ResourceConflict(name, live_stamp))
        previous_owner, base = live_stamp.ref, None  # we are older: the claim is ours

    blockers: list[Blocker] = [ImmutableFieldChanged(name, tuple(mismatches))] if mismatches else []
    actions: list[Action] = []
    recorded_vectors = set(base.vectors) if base else set()
    recorded_indexes = set(base.payload_indexes) if base else set()

    # Named vectors: add missing ones, delete the ones qco recorded and the spec dropped.
    live_dense = _live_vectors(info)
    live_sparse = dict(info.config.params.sparse_vectors or {})
    vector_actions: list[Action] = []
    new_vectors: set[str] = set()
    unnamed_live = isinstance(info.config.params.vectors, models.VectorParams)
    if spec.vectors is not None:
        for vname, vspec in sorted(spec.vectors.items()):
            if vname not in live_dense and vname != "" and not unnamed_live:
                vector_actions.append(
                    CreateVector(name, vname, req.dense_vector_name_config(vspec), (f"vectors.{vname}",))
                )
                new_vectors.add(vname)
        for vname in sorted(set(live_dense) - set(spec.vectors)):
            if vname in recorded_vectors:
                vector_actions.insert(0, DeleteVector(name, vname, False, (f"vectors.{vname}",)))
                recorded_vectors.discard(vname)
    if spec.sparse_vectors is not None:
        for sname, sspec in sorted(spec.sparse_vectors.items()):
            if sname not in live_sparse:
                vector_actions.append(
                    CreateVector(
                        name, sname, req.sparse_vector_name_config(sspec), (f"sparseVectors.{sname}",)
                    )
                )
                new_vectors.add(sname)
        for sname in sorted(set(live_sparse) - set(spec.sparse_vectors)):
            if sname in recorded_vectors:
                vector_actions.insert(0, DeleteVector(name, sname, True, (f"sparseVectors.{sname}",)))
                recorded_vectors.discard(sname)
    recorded_vectors = (recorded_vectors & (set(live_dense) | set(live_sparse))) | new_vectors
    removed = tuple(a.vector_name for a in vector_actions if isinstance(a, DeleteVector))
    if removed and _refuses_vector_removal(desired, info):
        refusal = VectorRemovalRefused(name, tuple(sorted(removed)), info.points_count)
        return CollectionPlan(name, (), (refusal,), desired.paused, owned=True)

    update = collection_update(name, spec, info, new_vectors)

    # Payload indexes: create or replace what differs; delete only what qco created.
    index_actions: list[Action] = []
    live_schema = info.payload_schema or {}
    recorded_indexes &= set(live_schema)
    if spec.payload_indexes is not None:
        wanted = {p.field: p for p in spec.payload_indexes}
        for field_name in sorted(set(live_schema) - set(wanted)):
            if field_name in recorded_indexes:
                index_actions.append(DeletePayloadIndex(name, field_name, (f"payloadIndexes.{field_name}",)))
                recorded_indexes.discard(field_name)
        for field_name, pspec in sorted(wanted.items()):
            live_index = live_schema.get(field_name)
            if live_index is None or payload_index_differs(pspec, live_index):
                schema = req.payload_field_schema(pspec)
                fields = (f"payloadIndexes.{field_name}",)
                index_actions.append(
                    CreatePayloadIndex(name, field_name, schema, live_index is not None, fields)
                )
                recorded_indexes.add(field_name)

    alias_ops, alias_blockers, recorded_aliases = _plan_aliases(desired, observed, base)
    blockers += alias_blockers

    # Shard keys are planned after this plan is applied (plan/shard_keys.py, which sees the live
    # keys): carry qco's record of them over unchanged, or drop it with a change of owner.
    recorded_shard_keys = base.shard_keys if base else frozenset()
    stamp = _stamp(identity, recorded_indexes, recorded_aliases, recorded_vectors, recorded_shard_keys)
    if stamp != live_stamp:
        actions.append(StampOwner(name, build_stamp_metadata(stamp), previous_owner))
    actions += vector_actions
    if update is not None:
        actions.append(update)
    actions += index_actions
    if alias_ops:
        actions.append(UpdateAliases(name, tuple(alias_ops)))
    if update is None and plain(info.status) == "grey":
        actions.append(NudgeOptimizers(name))
    return CollectionPlan(name, tuple(actions), tuple(blockers), desired.paused, owned=True)


def _plan_create(desired: DesiredCollection, observed: ObservedCollection) -> CollectionPlan:
    spec, identity, name = desired.spec, desired.identity, desired.collection_name
    alias_ops, blockers, recorded_aliases = _plan_aliases(desired, observed, None)
    named = {n for n in (spec.vectors or {}) if n} | set(spec.sparse_vectors or {})
    indexes = spec.payload_indexes or []
    stamp = _stamp(identity, {p.field for p in indexes}, recorded_aliases, named)
    metadata: dict[str, Any] = {**(spec.metadata or {}), **build_stamp_metadata(stamp)}
    actions: list[Action] = [CreateCollection(name, req.create_collection_request(spec, metadata))]
    for p in sorted(indexes, key=lambda p: p.field):
        actions.append(
            CreatePayloadIndex(
                name, p.field, req.payload_field_schema(p), False, (f"payloadIndexes.{p.field}",)
            )
        )
    if alias_ops:
        actions.append(UpdateAliases(name, tuple(alias_ops)))
    return CollectionPlan(name, tuple(actions), tuple(blockers), desired.paused, owned=True)


def _refuses_vector_removal(desired: DesiredCollection, info: models.CollectionInfo) -> bool:
    """No consent (vectorRemovalPolicy Refuse) and points that would lose data (unknown counts as some)."""
    return desired.spec.vector_removal_policy != "Allow" and info.points_count != 0


def _stamp(
    identity: ResourceIdentity,
    payload_indexes: Iterable[str] = (),
    aliases: Iterable[str] = (),
    vectors: Iterable[str] = (),
    shard_keys: Iterable[str] = (),
) -> OwnerStamp:
    """The stamp `identity` writes, with what qco records about the collection."""
    return OwnerStamp(
        identity.namespace,
        identity.name,
        identity.uid,
        identity.creation_timestamp,
        identity.kind,
        payload_indexes=frozenset(payload_indexes),
        aliases=frozenset(aliases),
        vectors=frozenset(vectors),
        shard_keys=frozenset(shard_keys),
    )


def _blocked(desired: DesiredCollection, blocker: Blocker) -> CollectionPlan:
    return CollectionPlan(desired.collection_name, (), (blocker,), desired.paused, owned=False)


def _plan_aliases(
    desired: DesiredCollection, observed: ObservedCollection, base: OwnerStamp | None
) -> tuple[list[models.CreateAliasOperation | models.DeleteAliasOperation], list[Blocker], set[str]]:
    """Alias operations (deletes first), conflicts, and the aliases qco will have recorded."""
    name, spec = desired.collection_name, desired.spec
    recorded = set(base.aliases) if base else set()
    if spec.aliases is None:
        return [], [], recorded
    deletes: list[models.CreateAliasOperation | models.DeleteAliasOperation] = []
    creates: list[models.CreateAliasOperation | models.DeleteAliasOperation] = []
    blockers: list[Blocker] = []
    for alias in sorted(recorded - set(spec.aliases)):
        if observed.aliases.get(alias) == name:
            deletes.append(models.DeleteAliasOperation(delete_alias=models.DeleteAlias(alias_name=alias)))
    recorded &= set(spec.aliases)
    for alias in sorted(spec.aliases):
        target = observed.aliases.get(alias)
        if target == name:
            recorded.add(alias)
            continue
        if target is not None:
            stamp = observed.alias_target_stamps.get(target)
            ours = stamp is not None and stamp.uid == desired.identity.uid
            foreign_owner = stamp is not None and not ours and observed.owner_exists(stamp)
            if foreign_owner:
                blockers.append(AliasConflict(alias, target, stamp))
                recorded.discard(alias)
                continue
            if not ours and spec.adoption_policy != "Force":
                blockers.append(AliasConflict(alias, target, None))
                recorded.discard(alias)
                continue
            # create_alias would overwrite silently; say what we do: move it explicitly.
            deletes.append(models.DeleteAliasOperation(delete_alias=models.DeleteAlias(alias_name=alias)))
        creates.append(
            models.CreateAliasOperation(
                create_alias=models.CreateAlias(collection_name=name, alias_name=alias)
            )
        )
        recorded.add(alias)
    return deletes + creates, blockers, recorded


def _live_vectors(info: models.CollectionInfo) -> dict[str, models.VectorParams]:
    """Live dense vectors by name; the unnamed vector is "" (Qdrant's own internal name for it)."""
    vectors = info.config.params.vectors
    if vectors is None:
        return {}
    if isinstance(vectors, models.VectorParams):
        return {"": vectors}
    return dict(vectors)


def immutable_mismatches(spec: CollectionConfig, info: models.CollectionInfo) -> list[FieldMismatch]:
    """Every immutable field the spec sets whose live value differs."""
    params = info.config.params
    out: list[FieldMismatch] = []
    live_dense = _live_vectors(info)
    unnamed_live = isinstance(params.vectors, models.VectorParams)
    if spec.vectors is not None:
        unnamed_spec = set(spec.vectors) == {""}
        if spec.vectors and live_dense and unnamed_spec != unnamed_live:
            out.append(FieldMismatch("vectors", sorted(spec.vectors), sorted(live_dense)))
        else:
            for vname, v in sorted(spec.vectors.items()):
                live = live_dense.get(vname)
                if live is None:
                    continue  # a named vector that can be added
                path = f"vectors.{vname}" if vname else 'vectors.""'
                checks: list[tuple[str, Any, Any, str]] = [
                    ("size", v.size, live.size, "size"),
                    ("distance", v.distance, live.distance, "distance"),
                ]
                if v.datatype is not None:
                    checks.append(("datatype", v.datatype, live.datatype, "datatype"))
                if v.multivector is not None:
                    lm = live.multivector_config
                    checks.append(
                        ("multivector.comparator", v.multivector.comparator, lm and lm.comparator, "")
                    )
                for label, want, have, key in checks:
                    if not same(want, have, key):
                        out.append(FieldMismatch(f"{path}.{label}", want, plain(have)))
    if spec.shard_number is not None and not same(spec.shard_number, params.shard_number, "shard_number"):
        out.append(FieldMismatch("shardNumber", spec.shard_number, params.shard_number))
    if spec.sharding_method is not None and not same(
        spec.sharding_method, params.sharding_method, "sharding_method"
    ):
        out.append(
            FieldMismatch("shardingMethod", spec.sharding_method, plain(params.sharding_method) or "auto")
        )
    if spec.wal is not None:
        wal = info.config.wal_config
        for key, camel in (("wal_capacity_mb", "walCapacityMb"), ("wal_segments_ahead", "walSegmentsAhead")):
            want = getattr(spec.wal, key)
            have = getattr(wal, key) if wal is not None else None
            if want is not None and not same(want, have, key):
                out.append(FieldMismatch(f"wal.{camel}", want, have))
    return out
