"""Prometheus metrics. One `Metrics` per operator process, built at startup and passed down:
no registration at import time, so tests get fresh counters."""

from __future__ import annotations

import platform
from collections import Counter
from collections.abc import Iterator
from importlib import metadata

import prometheus_client
from prometheus_client import CollectorRegistry, Histogram, ProcessCollector
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from qco.metrics_backup import BackupMetrics
from qco.metrics_collection import CollectionIntelligenceMetrics
from qco.metrics_deployment import DeploymentMetrics
from qco.rollout_metrics import RolloutCollector, RolloutStates


class Metrics:
    """The operator's metrics, all in one registry served on `/metrics`."""

    def __init__(self, registry: CollectorRegistry | None = None, kinds: tuple[str, ...] = ()) -> None:
        self.registry = registry or CollectorRegistry()
        # `*_created` series double every counter and histogram and nobody queries them.
        prometheus_client.disable_created_metrics()  # type: ignore[no-untyped-call]
        ProcessCollector(registry=self.registry)  # process_cpu_seconds_total, memory, open fds
        prometheus_client.Info("qco_build", "The running qco's version.", registry=self.registry).info(
            {"version": _version(), "kopf": _version("kopf"), "python": platform.python_version()}
        )
        self.reconciles = prometheus_client.Counter(
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
        self.drift_corrections = prometheus_client.Counter(
            "qco_drift_corrections",
            "Changes made behind qco's back and corrected, by kind.",
            ["kind"],
            registry=self.registry,
        )
        # Per-object state becomes gauges at scrape time: recording a pass stays O(1) however
        # many objects there are (a Gauge per label set would need a recount on every pass).
        self.backups = BackupMetrics(self.registry)
        self.deployments = DeploymentMetrics(self.registry)
        self.collections = CollectionIntelligenceMetrics(self.registry)
        self.states = ObjectStates()
        self.registry.register(_ObjectStatesCollector(self.states, kinds))
        self.rollouts = RolloutStates()
        self.registry.register(RolloutCollector(self.rollouts))


def _version(distribution: str = "qdrant-collection-operator") -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "unknown"


CONDITIONS = ("Ready", "Reconciling", "Stalled", "Paused")
COLOURS = ("green", "yellow", "grey", "red", "missing")


class ObjectStates:
    """Each object's current condition (and, for collections, the colour Qdrant reports)."""

    def __init__(self) -> None:
        self.by_object: dict[tuple[str, str], tuple[str, str | None]] = {}
        #: (namespace, name, reason of the Ready condition) per object, for `qco_object_ready`.
        self.names: dict[tuple[str, str], tuple[str, str, str]] = {}

    def set(
        self,
        kind: str,
        uid: str,
        condition: str,
        colour: str | None = None,
        *,
        namespace: str = "",
        name: str = "",
        reason: str = "",
    ) -> None:
        """Record the outcome of an object's latest pass."""
        self.by_object[(kind, uid)] = (condition, colour)
        if name:
            self.names[(kind, uid)] = (namespace, name, reason)

    def forget(self, kind: str, uid: str) -> None:
        """The object is gone."""
        self.by_object.pop((kind, uid), None)
        self.names.pop((kind, uid), None)


class _ObjectStatesCollector(Collector):
    def __init__(self, states: ObjectStates, kinds: tuple[str, ...]) -> None:
        self._states = states
        self._kinds = kinds  # every served kind gets its zero series, objects or not

    def collect(self) -> Iterator[Metric]:
        states = list(self._states.by_object.items())
        conditions = Counter((kind, condition) for (kind, _), (condition, _) in states)
        objects = GaugeMetricFamily(
            "qco_objects",
            "Objects by kind and by the condition that is True (Ready, Reconciling, Stalled, Paused).",
            labels=["kind", "condition"],
        )
        for kind in sorted({kind for kind, _ in conditions} | set(self._kinds)):
            for condition in CONDITIONS:
                objects.add_metric([kind, condition], conditions[(kind, condition)])
        yield objects
        colours = Counter(colour for (kind, _), (_, colour) in states if kind == "QdrantCollection")
        status = GaugeMetricFamily(
            "qco_collection_status",
            "QdrantCollections by the colour Qdrant last reported (green, yellow, grey, red, missing).",
            labels=["status"],
        )
        for colour in COLOURS:
            status.add_metric([colour], colours[colour])
        yield status
        ready = GaugeMetricFamily(
            "qco_object_ready",
            "1 when the object's Ready condition is True, else 0; `reason` is the Ready condition's reason.",
            labels=["kind", "namespace", "name", "reason"],
        )
        for (kind, uid), (namespace, name, reason) in sorted(self._states.names.items()):
            condition = self._states.by_object.get((kind, uid), ("", None))[0]
            ready.add_metric([kind, namespace, name, reason], 1.0 if condition == "Ready" else 0.0)
        yield ready
