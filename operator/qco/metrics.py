"""Prometheus metrics. One `Metrics` per operator process, built at startup and passed down:
no registration at import time, so tests get fresh counters."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Metrics:
    """The operator's metrics, all in one registry served on `/metrics`."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.reconciles = Counter(
            "qco_reconciles",
            "Reconcile passes by kind and result (ok, stalled, retry, error).",
            ["kind", "result"],
            registry=self.registry,
        )
        self.reconcile_duration = Histogram(
            "qco_reconcile_duration_seconds",
            "Duration of one reconcile pass by kind and result.",
            ["kind", "result"],
            registry=self.registry,
        )
        self.qdrant_request_duration = Histogram(
            "qco_qdrant_request_duration_seconds",
            "Duration of Qdrant requests by operation and outcome.",
            ["operation", "outcome"],
            registry=self.registry,
        )
        self.drift_corrections = Counter(
            "qco_drift_corrections",
            "Changes made behind qco's back and corrected, by kind.",
            ["kind"],
            registry=self.registry,
        )
        self.objects_by_condition = Gauge(
            "qco_objects",
            "Objects by kind and by the condition that is True (Ready, Reconciling, Stalled, Paused).",
            ["kind", "condition"],
            registry=self.registry,
        )
        self.collections_by_status = Gauge(
            "qco_collection_status",
            "QdrantCollections by the colour Qdrant last reported (green, yellow, grey, red, missing).",
            ["status"],
            registry=self.registry,
        )
