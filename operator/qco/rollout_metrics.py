"""CanaryRollout metrics: each rollout's phase, step, canary weight, confirmed clients and analysis
measurements, as gauges built at scrape time from the latest pass of each rollout."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

PHASES = ("Pending", "Progressing", "Paused", "Promoting", "Succeeded", "Aborted", "Failed")


@dataclass(frozen=True)
class RolloutReading:
    """What the latest pass of one rollout reported."""

    phase: str
    step: int
    canary_weight: int
    verified: int
    #: (run, metric, measurement phase) -> measurements of this attempt
    measurements: Mapping[tuple[str, str, str], int] = field(default_factory=dict)


class RolloutStates:
    """The latest reading per rollout (namespace, name)."""

    def __init__(self) -> None:
        self.by_rollout: dict[tuple[str, str], RolloutReading] = {}

    def set(self, namespace: str, name: str, reading: RolloutReading) -> None:
        """Record a pass."""
        self.by_rollout[(namespace, name)] = reading

    def forget(self, namespace: str, name: str) -> None:
        """The rollout is gone."""
        self.by_rollout.pop((namespace, name), None)


class RolloutCollector(Collector):
    """Yields the qco_canary_* gauges."""

    def __init__(self, states: RolloutStates) -> None:
        self._states = states

    def collect(self) -> Iterator[Metric]:
        readings = sorted(self._states.by_rollout.items())
        labels = ["namespace", "name"]
        phase = GaugeMetricFamily(
            "qco_canary_phase",
            "1 for the rollout's current phase, 0 for the others.",
            labels=[*labels, "phase"],
        )
        step = GaugeMetricFamily("qco_canary_step", "Index of the rollout's current step.", labels=labels)
        weight = GaugeMetricFamily("qco_canary_weight", "Canary percentage published.", labels=labels)
        verified = GaugeMetricFamily(
            "qco_canary_verified_clients", "Clients that confirmed the published split.", labels=labels
        )
        measurements = GaugeMetricFamily(
            "qco_canary_analysis_measurements",
            "Analysis measurements of the current attempt by run, metric and result"
            " (Successful, Failed, Inconclusive, Error).",
            labels=[*labels, "run", "metric", "result"],
        )
        for (namespace, name), reading in readings:
            for candidate in PHASES:
                phase.add_metric([namespace, name, candidate], float(candidate == reading.phase))
            step.add_metric([namespace, name], reading.step)
            weight.add_metric([namespace, name], reading.canary_weight)
            verified.add_metric([namespace, name], reading.verified)
            for (run, metric, result), value in sorted(reading.measurements.items()):
                measurements.add_metric([namespace, name, run, metric, result], value)
        yield from (phase, step, weight, verified, measurements)
