"""Shard keys step of a QdrantCollection pass: create the keys spec.shardKeys lists, delete dropped
ones qco created only with shardKeyRemovalPolicy Allow, else Stalled (ShardKeyRemovalRefused).
What qco created is recorded in the owner stamp (`qco.dev/shard-keys`)."""

from __future__ import annotations

from dataclasses import replace

from qdrant_client.http import models

from qco.api.collection import QdrantCollectionSpec
from qco.clients.qdrant import Endpoint
from qco.clients.qdrant_shard_keys import ShardKeyClient
from qco.plan.ownership import SHARD_KEYS_KEY, parse_owner_stamp
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
    info: models.CollectionInfo | None,
    outcome: PassOutcome,
    act: bool,
    log: Logger,
) -> PassOutcome:
    """Bring the live shard keys to spec.shardKeys; `act` False (paused, not owned, blocked): skip.

    `info` is the collection as this pass left it (its stamp holds the keys qco created).
    """
    if spec.shard_keys is None or not act or info is None:
        return outcome
    stamp = parse_owner_stamp(info.config.metadata)
    recorded = stamp.shard_keys if stamp else frozenset()
    gateway = ctx.qdrant.gateway(endpoint)

    async def write_record(keys: frozenset[str]) -> None:
        # A metadata PATCH merges keys, so this touches only qco.dev/shard-keys.
        update = models.UpdateCollection(metadata={SHARD_KEYS_KEY: sorted(keys)})
        await gateway.update_collection(name, update)

    client = ShardKeyClient(endpoint)
    try:
        live = await client.live_keys(name)
        allow = spec.shard_key_removal_policy == "Allow"
        plan = plan_shard_keys(spec.shard_keys, live, allow, recorded=recorded)
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
        if plan.record_before != recorded:
            await write_record(plan.record_before)
        for key in plan.create:
            await client.create(name, key.key, key.shard_number, key.replication_factor)
            post_event(ctx, ref, "Normal", "CreateShardKey", f"created shard key {key.key} in {name}")
        for dropped in plan.delete:
            await client.delete(name, dropped)
            post_event(ctx, ref, "Normal", "DeleteShardKey", f"deleted shard key {dropped} from {name}")
        if plan.record != plan.record_before:
            await write_record(plan.record)
    finally:
        await client.close()
    return replace(outcome)
