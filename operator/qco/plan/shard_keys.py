"""Shard keys of a collection with custom sharding: (spec.shardKeys, live keys) -> changes. Pure.

- spec.shardKeys left out: not managed. Listed keys missing in Qdrant are created (with their
  shardNumber and replicationFactor).
- A live key the spec no longer lists is deleted only with shardKeyRemovalPolicy Allow: deleting a
  shard key deletes its points (no data loss without consent). Otherwise the whole change is
  refused (ShardKeyRemovalRefused) and nothing is touched, creations included.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from qco.api.collection_intelligence import ShardKeySpec


@dataclass(frozen=True)
class ShardKeyPlan:
    """Keys to create and delete, or the refusal."""

    create: tuple[ShardKeySpec, ...] = ()
    delete: tuple[str, ...] = ()
    refused: tuple[str, ...] = ()  # keys the spec drops without consent
    points_at_risk: int = 0

    @property
    def empty(self) -> bool:
        """Nothing to do and nothing refused."""
        return not (self.create or self.delete or self.refused)

    def refusal_message(self, collection: str) -> str:
        """What would be lost and how to consent."""
        keys = ", ".join(self.refused)
        return (
            f"removing shard key(s) {keys} from collection {collection} would delete their"
            f" {self.points_at_risk} points; nothing was changed. Restore the key(s) in spec.shardKeys,"
            " or set shardKeyRemovalPolicy: Allow to delete them."
        )


def plan_shard_keys(
    wanted: list[ShardKeySpec] | None, live: Mapping[str, int], allow_removal: bool
) -> ShardKeyPlan:
    """Changes taking the live keys (key -> points) to `wanted`."""
    if wanted is None:
        return ShardKeyPlan()
    names = {k.key for k in wanted}
    create = tuple(sorted((k for k in wanted if k.key not in live), key=lambda k: k.key))
    dropped = tuple(sorted(set(live) - names))
    if dropped and not allow_removal:
        return ShardKeyPlan(refused=dropped, points_at_risk=sum(live[k] for k in dropped))
    return ShardKeyPlan(create=create, delete=dropped)
