"""Health of a collection against spec.health's thresholds. Pure.

Measured values: the unindexed ratio (points not yet in HNSW / points; indexed vectors are
counted per dense vector, so they are divided by the number of dense vectors), segments, points,
and the probe's p95 latency and errors. Each threshold the spec sets and the measurement breaks is
a breach; `Healthy` is False with the first breach's reason and every breach in the message.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from qco.api.collection_intelligence import HealthSpec


@dataclass(frozen=True)
class ProbeResult:
    """What one probe run measured."""

    latencies_ms: Sequence[float]
    errors: int
    time: str

    @property
    def p95_ms(self) -> float | None:
        """95th percentile latency of the queries that answered."""
        if not self.latencies_ms:
            return None
        return float(np.percentile(np.asarray(self.latencies_ms), 95))


@dataclass(frozen=True)
class Breach:
    """One threshold broken."""

    reason: str
    message: str


@dataclass(frozen=True)
class HealthReport:
    """Measurements and breaches of one check."""

    points: int | None
    segments: int | None
    unindexed_ratio: float | None
    probe: ProbeResult | None
    breaches: tuple[Breach, ...]

    @property
    def healthy(self) -> bool:
        """No threshold broken."""
        return not self.breaches

    def condition(self) -> tuple[str, str, str]:
        """(status, reason, message) of the `Healthy` condition."""
        if self.healthy:
            return "True", "WithinThresholds", "every health threshold holds"
        return "False", self.breaches[0].reason, "; ".join(b.message for b in self.breaches)

    def to_status(self) -> dict[str, Any]:
        """status.health (camelCase)."""
        out: dict[str, Any] = {
            "points": self.points,
            "segments": self.segments,
            "unindexedRatio": None if self.unindexed_ratio is None else round(self.unindexed_ratio, 4),
            "breaches": [b.reason for b in self.breaches] or None,
        }
        if self.probe is not None:
            p95 = self.probe.p95_ms
            out |= {
                "probeP95Ms": None if p95 is None else round(p95, 3),
                "probeErrors": self.probe.errors,
                "lastProbeTime": self.probe.time,
            }
        return {k: v for k, v in out.items() if v is not None}


def unindexed_ratio(points: int | None, indexed_vectors: int | None, dense_vectors: int) -> float | None:
    """(points - indexed per vector) / points, clipped to [0, 1]; None when unknown, 0 when empty."""
    if points is None or indexed_vectors is None:
        return None
    if points == 0:
        return 0.0
    per_vector = indexed_vectors / max(dense_vectors, 1)
    return min(max((points - per_vector) / points, 0.0), 1.0)


def evaluate_health(
    spec: HealthSpec,
    points: int | None,
    indexed_vectors: int | None,
    segments: int | None,
    dense_vectors: int,
    probe: ProbeResult | None,
) -> HealthReport:
    """Compare the measurements with the thresholds the spec sets."""
    ratio = unindexed_ratio(points, indexed_vectors, dense_vectors)
    breaches: list[Breach] = []
    if spec.max_unindexed_ratio is not None and ratio is not None and ratio > spec.max_unindexed_ratio:
        breaches.append(
            Breach(
                "UnindexedRatioExceeded",
                f"unindexed ratio {ratio:.3f} > maxUnindexedRatio {spec.max_unindexed_ratio:g}",
            )
        )
    if spec.max_segments is not None and segments is not None and segments > spec.max_segments:
        breaches.append(Breach("TooManySegments", f"{segments} segments > maxSegments {spec.max_segments}"))
    if spec.min_points is not None and points is not None and points < spec.min_points:
        breaches.append(Breach("TooFewPoints", f"{points} points < minPoints {spec.min_points}"))
    if spec.probe is not None and probe is not None:
        if probe.errors:
            breaches.append(
                Breach("ProbeErrors", f"{probe.errors} of {spec.probe.queries} probe queries failed")
            )
        p95 = probe.p95_ms
        if p95 is not None and p95 > spec.probe.max_latency_ms:
            breaches.append(
                Breach(
                    "ProbeLatencyExceeded",
                    f"probe p95 {p95:.1f} ms > maxLatencyMs {spec.probe.max_latency_ms:g}",
                )
            )
    return HealthReport(points, segments, ratio, probe, tuple(breaches))


def probe_due(last_seconds: float | None, interval_seconds: float | None, now_seconds: float) -> bool:
    """Whether the probe runs in this pass: no interval, never ran, or the interval has passed."""
    if interval_seconds is None or last_seconds is None:
        return True
    return now_seconds - last_seconds >= interval_seconds
