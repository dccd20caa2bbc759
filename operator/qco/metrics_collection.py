"""QdrantCollection intelligence metrics: health measurements, the Healthy verdict, memory estimate
and the search-tuning recommendation, per collection object. Set on every pass that measured them
and removed when the object goes (so they never stay stale)."""

from __future__ import annotations

import contextlib

from prometheus_client import CollectorRegistry, Gauge

_LABELS = ["namespace", "object"]


class CollectionIntelligenceMetrics:
    """The qco_collection_* series, in the operator's registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        def gauge(name: str, text: str, extra: tuple[str, ...] = ()) -> Gauge:
            return Gauge(name, text, [*_LABELS, *extra], registry=registry)

        self.healthy = gauge("qco_collection_healthy", "1 when every spec.health threshold holds, else 0.")
        self.breach = gauge(
            "qco_collection_health_breach", "1 while a health threshold is breached, by reason.", ("reason",)
        )
        self.unindexed_ratio = gauge("qco_collection_unindexed_ratio", "Points not yet in HNSW / points.")
        self.segments = gauge("qco_collection_segments", "Segments of the collection.")
        self.points = gauge("qco_collection_points", "Points of the collection.")
        self.probe_p95 = gauge("qco_collection_probe_p95_seconds", "p95 latency of the last health probe.")
        self.probe_errors = gauge("qco_collection_probe_errors", "Failed queries in the last health probe.")
        self.memory_ram = gauge("qco_collection_memory_estimate_ram_bytes", "Estimated RAM now.")
        self.memory_disk = gauge("qco_collection_memory_estimate_disk_bytes", "Estimated disk now.")
        self.recommended_ef = gauge(
            "qco_collection_search_recommended_ef", "Smallest ef meeting targetRecall."
        )
        self.recall = gauge("qco_collection_search_recall", "Measured recall@limit per ef.", ("ef",))

    def forget(self, namespace: str, name: str) -> None:
        """Remove every series of one object."""
        for gauge in vars(self).values():
            if not isinstance(gauge, Gauge):
                continue
            for labels in list(gauge._metrics):  # label tuples; remove only this object's
                if labels[:2] == (namespace, name):
                    with contextlib.suppress(KeyError):
                        gauge.remove(*labels)
