"""Taking one measurement of a canary metric: a Prometheus query, or qco's own probe comparing the
stable and the canary collection. Returns (value, error); None means no data."""

from __future__ import annotations

import random
from typing import Any

import httpx

from qco.api.canary import MetricSpec, ProbeSource
from qco.clients.prometheus import PrometheusError, query_scalar
from qco.clients.qdrant import Endpoint
from qco.clients.qdrant_probe import ProbeClient
from qco.reconcile.conditions import truncate

PROMETHEUS_TIMEOUT = 10.0


async def measure(
    metric: MetricSpec, endpoint: Endpoint, stable: str, canary: str
) -> tuple[float | None, str | None]:
    """One measurement; an error string instead of raising, so a metric error never fails the pass."""
    try:
        if metric.prometheus is not None:
            async with httpx.AsyncClient(timeout=PROMETHEUS_TIMEOUT) as client:
                return await query_scalar(client, metric.prometheus.address, metric.prometheus.query), None
        assert metric.probe is not None
        return await probe(metric.probe, endpoint, stable, canary), None
    except PrometheusError as exc:
        return None, truncate(str(exc), 500)
    except Exception as exc:  # a probe query Qdrant refused, a timeout: an Error measurement
        return None, truncate(f"{type(exc).__name__}: {exc}", 500)


def probe_requests(source: ProbeSource, samples: list[Any]) -> list[dict[str, Any]]:
    """Query API request bodies for the fixed queries plus the sampled points' vectors."""
    requests: list[dict[str, Any]] = []
    for query in source.queries:
        if query.query is not None:
            requests.append(dict(query.query))
        elif query.vector is not None:
            requests.append({"query": query.vector, **({"using": query.using} if query.using else {})})
        else:
            raw = str(query.point_id)
            point_id: int | str = int(raw) if raw.isdigit() else raw
            requests.append({"query": point_id, **({"using": query.using} if query.using else {})})
    for point in samples:
        vector = point.vector
        if isinstance(vector, dict):  # named vectors: the first dense one
            name, value = next(((k, v) for k, v in vector.items() if isinstance(v, list)), (None, None))
            if value is not None:
                requests.append({"query": value, "using": name})
        elif isinstance(vector, list):
            requests.append({"query": vector})
    return requests


async def probe(source: ProbeSource, endpoint: Endpoint, stable: str, canary: str) -> float | None:
    """overlap@limit, latencyRatio or errorRate over the probe's queries; None with no queries."""
    client = ProbeClient(endpoint)
    try:
        samples = await client.sample_points(stable, source.sample * 4)
        samples = random.sample(samples, min(source.sample, len(samples)))
        requests = probe_requests(source, samples)
        if not requests:
            return None
        overlaps: list[float] = []
        stable_time = canary_time = 0.0
        errors = 0
        for request in requests:
            expected, spent = await client.timed_query(stable, request, source.limit)
            stable_time += spent
            try:
                got, spent = await client.timed_query(canary, request, source.limit)
            except Exception:
                errors += 1
                continue
            canary_time += spent
            if expected:
                overlaps.append(len(set(expected) & set(got)) / len(expected))
        if source.measure == "errorRate":
            return errors / len(requests)
        if source.measure == "latencyRatio":
            return canary_time / stable_time if stable_time > 0 and errors < len(requests) else None
        return sum(overlaps) / len(overlaps) if overlaps else None
    finally:
        await client.close()


async def summarize(address: str, configmap: str, variants: list[str], window: str) -> dict[str, Any]:
    """Per-variant requests, p50/p95 latency and error rate over the experiment, from the clients'
    qco_routing_* metrics in Prometheus (None where Prometheus has no data)."""
    summary: dict[str, Any] = {}
    async with httpx.AsyncClient(timeout=PROMETHEUS_TIMEOUT) as client:
        for variant in variants:
            labels = f'configmap="{configmap}",variant="{variant}"'
            requests = f"sum(increase(qco_routing_requests_total{{{labels}}}[{window}]))"
            errors = f"sum(increase(qco_routing_errors_total{{{labels}}}[{window}]))"
            buckets = (
                f"sum by (le) (increase(qco_routing_request_duration_seconds_bucket{{{labels}}}[{window}]))"
            )
            queries = {
                "requests": requests,
                "p50Seconds": f"histogram_quantile(0.5, {buckets})",
                "p95Seconds": f"histogram_quantile(0.95, {buckets})",
                "errorRate": f"{errors} / {requests}",
            }
            entry: dict[str, Any] = {}
            for field, query in queries.items():
                try:
                    entry[field] = await query_scalar(client, address, query)
                except PrometheusError:
                    entry[field] = None
            summary[variant] = {k: v for k, v in entry.items() if v is not None}
    return summary
