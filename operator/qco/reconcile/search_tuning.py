"""Search tuning pass: sample stored points, exact vs HNSW per ef, publish the recommendation
(status.searchTuning, the qco_collection_search_* metrics)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from qco.api.collection import QdrantCollectionSpec
from qco.api.collection_config import CollectionConfig
from qco.api.durations import parse_duration
from qco.clients.qdrant import Endpoint
from qco.clients.qdrant_probe import ProbeClient
from qco.plan.search_tuning import EfResult, recall_at_k, recommend_ef, tuning_due, tuning_status
from qco.reconcile.collection_health import vector_of
from qco.reconcile.conditions import now_rfc3339
from qco.reconcile.context import Context
from qco.reconcile.machinery import Logger

DAY = 86400.0


async def search_tuning_fields(
    ctx: Context,
    status: Mapping[str, Any],
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
    return {"searchTuning": fields}


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
