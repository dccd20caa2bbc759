"""The intelligence part of a QdrantCollection pass: `status.effective`, `status.memory`, the
health check (`status.health`, the `Healthy` condition, metrics) and search tuning.

Called once per pass after the collection was reconciled; everything here only reads Qdrant.
Ready stays "Qdrant matches the spec": health is its own condition.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from qdrant_client.http import models

from qco.api.collection import QdrantCollectionSpec
from qco.api.collection_config import CollectionConfig
from qco.api.durations import parse_duration
from qco.clients.qdrant import Endpoint
from qco.plan.health import HealthReport, ProbeResult, evaluate_health, probe_due
from qco.plan.memory import estimate_memory, recommend
from qco.plan.presets import effective_config
from qco.reconcile.collection_health import run_probe
from qco.reconcile.conditions import ConditionUpdate, now_rfc3339
from qco.reconcile.context import Context
from qco.reconcile.machinery import Logger
from qco.reconcile.outcome import PassOutcome
from qco.reconcile.search_tuning import search_tuning_fields
from qco.reconcile.snapshot import PassSnapshot

HEALTHY = "Healthy"


async def with_intelligence(
    ctx: Context,
    snapshot: PassSnapshot,
    spec: QdrantCollectionSpec,
    endpoint: Endpoint,
    name: str,
    info: models.CollectionInfo | None,
    outcome: PassOutcome,
    log: Logger,
) -> PassOutcome:
    """`outcome` plus the effective config, memory estimate, health and search tuning fields."""
    config = effective_config(spec)
    mine: dict[str, Any] = {"effective": config.to_manifest()}
    extra: list[ConditionUpdate] = []
    drop: list[str] = []
    labels = (snapshot.identity.namespace, snapshot.identity.name)
    metrics = ctx.metrics.collections
    if info is not None:
        mine["memory"] = memory_fields(config, spec.expected_points, info)
        metrics.memory_ram.labels(*labels).set(mine["memory"]["current"]["ramBytes"])
        metrics.memory_disk.labels(*labels).set(mine["memory"]["current"]["diskBytes"])
    if spec.health is not None and info is not None:
        probe = await _probe(snapshot.status, spec, endpoint, name, config, log)
        report = evaluate_health(
            spec.health,
            info.points_count,
            info.indexed_vectors_count,
            info.segments_count,
            max(len(config.vectors or {}), 1),
            probe,
        )
        mine["health"] = report.to_status()
        status, reason, message = report.condition()
        extra.append(ConditionUpdate(HEALTHY, status, reason, message))  # type: ignore[arg-type]
        _set_health_metrics(ctx, labels, report)
    elif spec.health is None:
        mine["health"] = None
        drop.append(HEALTHY)
    if spec.search_tuning is not None and info is not None:
        mine |= await search_tuning_fields(ctx, snapshot, spec, endpoint, name, config, labels, log)
    elif spec.search_tuning is None:
        mine["searchTuning"] = None
    return replace(
        outcome,
        extra=(*outcome.extra, *extra),
        drop=(*outcome.drop, *drop),
        fields=_compose(outcome, mine),
    )


def memory_fields(
    config: CollectionConfig, expected_points: int | None, info: models.CollectionInfo
) -> dict[str, Any]:
    """status.memory: now (live points and segments) and at spec.expectedPoints."""
    points = info.points_count or 0
    current = estimate_memory(config, points, segments=info.segments_count or None)
    out: dict[str, Any] = {"current": current.to_status()}
    if expected_points is not None:
        out["expected"] = estimate_memory(config, expected_points).to_status()
    out["recommendation"] = recommend(config, expected_points if expected_points is not None else points)
    return out


async def _probe(
    status: Mapping[str, Any],
    spec: QdrantCollectionSpec,
    endpoint: Endpoint,
    name: str,
    config: CollectionConfig,
    log: Logger,
) -> ProbeResult | None:
    """Run the probe when due; otherwise the last one's result from status."""
    assert spec.health is not None
    probe = spec.health.probe
    if probe is None:
        return None
    last = (status.get("health") or {}) if isinstance(status.get("health"), Mapping) else {}
    last_time = last.get("lastProbeTime")
    interval = parse_duration(probe.interval) if probe.interval else None
    now = now_rfc3339()
    if not probe_due(_seconds(last_time), interval, _seconds(now) or 0.0):
        p95 = last.get("probeP95Ms")
        return ProbeResult(
            [float(p95)] if p95 is not None else [], int(last.get("probeErrors") or 0), str(last_time)
        )
    vector = next(iter(config.vectors or {""}), "")
    return await run_probe(endpoint, name, vector or None, probe.queries, probe.limit, now, log)


def _seconds(stamp: str | None) -> float | None:
    if not stamp:
        return None
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def _set_health_metrics(ctx: Context, labels: tuple[str, str], report: HealthReport) -> None:
    metrics = ctx.metrics.collections
    metrics.healthy.labels(*labels).set(1 if report.healthy else 0)
    breached = {b.reason for b in report.breaches}
    for reason in (
        "UnindexedRatioExceeded",
        "TooManySegments",
        "TooFewPoints",
        "ProbeErrors",
        "ProbeLatencyExceeded",
    ):
        metrics.breach.labels(*labels, reason).set(1 if reason in breached else 0)
    if report.unindexed_ratio is not None:
        metrics.unindexed_ratio.labels(*labels).set(report.unindexed_ratio)
    if report.segments is not None:
        metrics.segments.labels(*labels).set(report.segments)
    if report.points is not None:
        metrics.points.labels(*labels).set(report.points)
    if report.probe is not None:
        p95 = report.probe.p95_ms
        if p95 is not None:
            metrics.probe_p95.labels(*labels).set(p95 / 1000)
        metrics.probe_errors.labels(*labels).set(report.probe.errors)


def _compose(outcome: PassOutcome, mine: dict[str, Any]) -> Any:
    base = outcome.fields

    def fields(current: Mapping[str, Any], now: str) -> Mapping[str, Any]:
        return {**(base(current, now) if base is not None else {}), **mine}

    return fields
