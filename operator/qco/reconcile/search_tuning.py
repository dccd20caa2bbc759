"""Search tuning pass: sample stored points, exact vs HNSW per ef, publish the recommendation
(status.searchTuning, the qco_collection_search_* metrics)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from qco.api.collection import QDRANT_COLLECTION, QdrantCollectionSpec
from qco.api.collection_config import CollectionConfig
from qco.api.common import API_VERSION
from qco.api.durations import parse_duration
from qco.clients.configmaps import ConfigMaps
from qco.clients.qdrant import Endpoint
from qco.clients.qdrant_probe import ProbeClient
from qco.plan.search_tuning import EfResult, recall_at_k, recommend_ef, tuning_due, tuning_status
from qco.reconcile.collection_health import vector_of
from qco.reconcile.conditions import now_rfc3339
from qco.reconcile.context import Context
from qco.reconcile.machinery import Logger
from qco.reconcile.snapshot import PassSnapshot

DAY = 86400.0
CONFIG_MAP_KEY = "searchTuning.json"


async def search_tuning_fields(
    ctx: Context,
    snapshot: PassSnapshot,
    spec: QdrantCollectionSpec,
    endpoint: Endpoint,
    name: str,
    config: CollectionConfig,
    labels: tuple[str, str],
    log: Logger,
) -> dict[str, Any]:
    """{"searchTuning": ...} when a measurement ran; {} when the last one is still current."""
    tuning = spec.search_tuning
    assert tuning is not None
    status = snapshot.status
    last = status.get("searchTuning") if isinstance(status.get("searchTuning"), Mapping) else None
    now = now_rfc3339()
    last_at = _seconds(last.get("measuredAt")) if last else None
    interval = parse_duration(tuning.interval) or DAY
    if not tuning_due(last, tuning.limit, tuning.ef_candidates, _seconds(now) or 0.0, last_at, interval):
        return {}
    vector = tuning.vector or next(iter(config.vectors or {""}), "") or None
    results, sampled = await measure_recall(
        endpoint, name, vector, tuning.sample_size, tuning.limit, tuning.ef_candidates
    )
    fields = tuning_status(results, tuning.target_recall, tuning.limit, sampled, vector, now)
    metrics = ctx.metrics.collections
    ef, _ = recommend_ef(results, tuning.target_recall)
    if ef is not None:
        metrics.recommended_ef.labels(*labels).set(ef)
    for r in results:
        metrics.recall.labels(*labels, str(r.ef)).set(r.recall)
    log.info("search tuning of %s: recommended ef %s (%s)", name, ef, fields.get("targetMet"))
    if tuning.config_map_name and ef is not None:
        await publish_recommendation(ctx, snapshot, tuning.config_map_name, fields, log)
    return {"searchTuning": fields}


async def publish_recommendation(
    ctx: Context, snapshot: PassSnapshot, config_map: str, fields: Mapping[str, Any], log: Logger
) -> None:
    """Key `searchTuning.json` of a ConfigMap qco owns (created with an ownerReference); a ConfigMap
    of that name that this object does not own is never written."""
    configmaps = ctx.configmaps if ctx.configmaps is not None else ConfigMaps(ctx.kube.api_client)
    identity = snapshot.identity
    view = await configmaps.read(identity.namespace, config_map)
    if view is not None and identity.uid not in view.owner_uids:
        log.warning(
            "ConfigMap %s/%s is not owned by this object: not written", identity.namespace, config_map
        )
        return
    value = json.dumps(
        {k: fields.get(k) for k in ("recommendedEf", "targetMet", "limit", "measuredAt", "vector")}
    )
    owner = {
        "apiVersion": API_VERSION,
        "kind": QDRANT_COLLECTION.kind,
        "name": identity.name,
        "uid": identity.uid,
    }
    await configmaps.publish(identity.namespace, config_map, CONFIG_MAP_KEY, value, owner, view is not None)


async def measure_recall(
    endpoint: Endpoint, name: str, vector: str | None, sample_size: int, limit: int, efs: list[int]
) -> tuple[list[EfResult], int]:
    """Recall@limit and latency per ef over `sample_size` stored points used as queries."""
    client = ProbeClient(endpoint.url, endpoint.api_key, endpoint.timeout_seconds)
    try:
        sample = await client.sample_points(name, sample_size)
        recalls: dict[int, list[float]] = {ef: [] for ef in efs}
        latencies: dict[int, list[float]] = {ef: [] for ef in efs}
        for record in sample:
            base: dict[str, Any] = {"query": vector_of(record.vector, vector)}
            if vector:
                base["using"] = vector
            own = str(record.id)
            exact, _ = await client.timed_query(name, {**base, "params": {"exact": True}}, limit + 1)
            for ef in efs:
                found, seconds = await client.timed_query(
                    name, {**base, "params": {"hnsw_ef": ef}}, limit + 1
                )
                recalls[ef].append(recall_at_k(exact, found, limit, exclude=own))
                latencies[ef].append(seconds * 1000)
    finally:
        await client.close()
    return [EfResult(ef, recalls[ef], latencies[ef]) for ef in efs], len(sample)


def _seconds(stamp: str | None) -> float | None:
    if not stamp:
        return None
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
