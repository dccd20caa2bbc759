"""Shard keys step of a QdrantCollection pass: create the keys spec.shardKeys lists, delete dropped
ones only with shardKeyRemovalPolicy Allow, else Stalled (ShardKeyRemovalRefused)."""

from __future__ import annotations

from dataclasses import replace

from qco.api.collection import QdrantCollectionSpec
from qco.clients.qdrant import Endpoint
from qco.clients.qdrant_shard_keys import ShardKeyClient
from qco.plan.shard_keys import plan_shard_keys
from qco.reconcile.context import Context
from qco.reconcile.machinery import Logger, post_event
from qco.reconcile.outcome import PassOutcome, stalled_outcome
from qco.reconcile.snapshot import PassSnapshot


async def with_shard_keys(
    ctx: Context,
    snapshot: PassSnapshot,
    spec: QdrantCollectionSpec,
    endpoint: Endpoint,
    name: str,
    outcome: PassOutcome,
    act: bool,
    log: Logger,
) -> PassOutcome:
    """Bring the live shard keys to spec.shardKeys; `act` False (paused, not owned, blocked): skip."""
    if spec.shard_keys is None or not act:
        return outcome
    client = ShardKeyClient(endpoint)
    try:
        live = await client.live_keys(name)
        plan = plan_shard_keys(spec.shard_keys, live, spec.shard_key_removal_policy == "Allow")
        if plan.refused:
            message = plan.refusal_message(name)
            log.warning("%s", message)
            return stalled_outcome(
                "ShardKeyRemovalRefused",
                message,
                extra=outcome.extra,
                drop=outcome.drop,
                fields=outcome.fields,
                colour=outcome.colour,
            )
        ref = snapshot.object_ref()
        for key in plan.create:
            await client.create(name, key.key, key.shard_number, key.replication_factor)
            post_event(ctx, ref, "Normal", "CreateShardKey", f"created shard key {key.key} in {name}")
        for dropped in plan.delete:
            await client.delete(name, dropped)
            post_event(ctx, ref, "Normal", "DeleteShardKey", f"deleted shard key {dropped} from {name}")
    finally:
        await client.close()
    return replace(outcome)
