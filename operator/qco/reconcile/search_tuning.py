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
from qco.plan.search_tuning import (
    EfResult,
    quantization_in_use,
    recall_at_k,
    recommend_ef,
    tuning_due,
    tuning_status,
)
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
    vector = tuning.vector or next(iter(config.vectors or {""}), "") or None
    oversampling = tuning.oversampling_candidates if quantization_in_use(config, vector) else []
    if not tuning_due(
        last, tuning.limit, tuning.ef_candidates, _seconds(now) or 0.0, last_at, interval, oversampling
    ):
        return {}
    results, sampled = await measure_recall(
        endpoint,
        name,
        vector,
        tuning.sample_size,
        tuning.limit,
        tuning.ef_candidates,
        oversampling,
        tuning.target_recall,
    )
    fields = tuning_status(results, tuning.target_recall, tuning.limit, sampled, vector, now)
    metrics = ctx.metrics.collections
    ef, _ = recommend_ef(results, tuning.target_recall)
    if ef is not None:
        metrics.recommended_ef.labels(*labels).set(ef)
    for r in results:
        if not r.quantized:  # the per-ef series is plain hnsw_ef; quantized variants are in status
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
    published = {k: fields.get(k) for k in ("recommendedEf", "targetMet", "limit", "measuredAt", "vector")}
    if fields.get("recommendedQuantization"):
        published["recommendedQuantization"] = fields["recommendedQuantization"]
    value = json.dumps(published)
    owner = {
        "apiVersion": API_VERSION,
        "kind": QDRANT_COLLECTION.kind,
        "name": identity.name,
        "uid": identity.uid,
    }
    await configmaps.publish(identity.namespace, config_map, CONFIG_MAP_KEY, value, owner, view is not None)


# (rescore, oversampling); (None, None) is a plain hnsw_ef query
Variant = tuple[bool | None, float | None]


async def measure_recall(
    endpoint: Endpoint,
    name: str,
    vector: str | None,
    sample_size: int,
    limit: int,
    efs: list[int],
    oversampling: list[float] | None = None,
    target: float = 1.0,
) -> tuple[list[EfResult], int]:
    """Recall@limit and latency per ef over `sample_size` stored points used as queries; with
    `oversampling`, the recommended ef again with rescore off and rescore on per oversampling (the
    same queries and exact results, so they compare like for like). `target` picks that ef."""
    client = ProbeClient(endpoint)
    plain: Variant = (None, None)
    try:
        sample = await client.sample_points(name, sample_size)
        queries: list[tuple[dict[str, Any], str, list[str]]] = []
        runs: dict[tuple[int, Variant], tuple[list[float], list[float]]] = {}
        for record in sample:
            base: dict[str, Any] = {"query": vector_of(record.vector, vector)}
            if vector:
                base["using"] = vector
            exact, _ = await client.timed_query(name, {**base, "params": {"exact": True}}, limit + 1)
            queries.append((base, str(record.id), exact))
        for ef in efs:
            await _run(client, name, limit, queries, ef, plain, runs)
        plain_results = [EfResult(ef, *runs[(ef, plain)]) for ef in efs]
        chosen, _ = recommend_ef(plain_results, target)
        variants: list[Variant] = [(False, None)] + [(True, x) for x in oversampling or []]
        if oversampling and chosen is not None:
            for variant in variants:
                await _run(client, name, limit, queries, chosen, variant, runs)
    finally:
        await client.close()
    results = [EfResult(ef, rec, lat, *variant) for (ef, variant), (rec, lat) in runs.items()]
    return results, len(sample)


async def _run(
    client: ProbeClient,
    name: str,
    limit: int,
    queries: list[tuple[dict[str, Any], str, list[str]]],
    ef: int,
    variant: Variant,
    runs: dict[tuple[int, Variant], tuple[list[float], list[float]]],
) -> None:
    rescore, oversampling = variant
    params: dict[str, Any] = {"hnsw_ef": ef}
    if rescore is not None:
        params["quantization"] = {"rescore": rescore, "oversampling": oversampling}
    recalls, latencies = runs.setdefault((ef, variant), ([], []))
    for base, own, exact in queries:
        found, seconds = await client.timed_query(name, {**base, "params": params}, limit + 1)
        recalls.append(recall_at_k(exact, found, limit, exclude=own))
        latencies.append(seconds * 1000)


def _seconds(stamp: str | None) -> float | None:
    if not stamp:
        return None
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
