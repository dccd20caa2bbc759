"""Shard keys with custom sharding: (spec.shardKeys, live keys, qco's record) -> changes. Pure.

- spec.shardKeys left out: not managed. Listed keys missing in Qdrant are created (with their
  shardNumber and replicationFactor) and recorded in the owner stamp (`qco.dev/shard-keys`).
- Listed keys that already exist are adopted: managed, but not recorded, as for named vectors
  (plan/collection.py): qco never deletes what it did not create.
- A live key the spec no longer lists is deleted only when qco recorded it and
  shardKeyRemovalPolicy is Allow: deleting a shard key deletes its points (no data loss without
  consent). A recorded key dropped without consent refuses the whole change
  (ShardKeyRemovalRefused) and nothing is touched, creations included. Unrecorded keys the spec
  does not list are someone else's and are left alone.
- The record keeps only keys that are still live, so a key someone else deleted and re-created
  later is not mistaken for qco's.
"""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

from qco.api.collection_intelligence import ShardKeySpec


@dataclass(frozen=True)
class ShardKeyPlan:
    """Keys to create and delete, or the refusal, and the record to keep in the stamp."""

    create: tuple[ShardKeySpec, ...] = ()
    delete: tuple[str, ...] = ()
    refused: tuple[str, ...] = ()  # recorded keys the spec drops without consent
    points_at_risk: int = 0
    record: frozenset[str] = frozenset()  # `qco.dev/shard-keys` once the plan is carried out
    foreign: tuple[str, ...] = ()  # live keys neither listed nor qco's: left alone

    @property
    def empty(self) -> bool:
        """Nothing to do and nothing refused."""
        return not (self.create or self.delete or self.refused)

    @property
    def record_before(self) -> frozenset[str]:
        """The record to write before acting: keys are claimed before they are created and released
        only after they are deleted, so a pass cut short never leaves a key of qco's unrecorded."""
        return self.record | frozenset(self.delete)

    def refusal_message(self, collection: str) -> str:
        """What would be lost and how to consent."""
        keys = ", ".join(self.refused)
        return (
            f"removing shard key(s) {keys} from collection {collection} would delete their"
            f" {self.points_at_risk} points; nothing was changed. Restore the key(s) in spec.shardKeys,"
            " or set shardKeyRemovalPolicy: Allow to delete them."
        )


def plan_shard_keys(
    wanted: list[ShardKeySpec] | None,
    live: Mapping[str, int],
    allow_removal: bool,
    *,
    recorded: AbstractSet[str],
) -> ShardKeyPlan:
    """Changes taking the live keys (key -> points) to `wanted`; `recorded`: the keys qco created."""
    alive = frozenset(recorded) & frozenset(live)
    if wanted is None:
        return ShardKeyPlan(record=alive)
    names = {k.key for k in wanted}
    create = tuple(sorted((k for k in wanted if k.key not in live), key=lambda k: k.key))
    unlisted = set(live) - names
    dropped = tuple(sorted(unlisted & alive))
    foreign = tuple(sorted(unlisted - alive))
    if dropped and not allow_removal:
        return ShardKeyPlan(
            refused=dropped, points_at_risk=sum(live[k] for k in dropped), record=alive, foreign=foreign
        )
    record = (alive - set(dropped)) | {k.key for k in create}
    return ShardKeyPlan(create=create, delete=dropped, record=record, foreign=foreign)
