"""Search tuning by measured recall: recall@k of HNSW against exact search per ef, and the
recommendation. Pure.

Queries are stored points; each query's own id is removed from both result lists (a stored
point always finds itself, which would inflate recall), so both lists are fetched with limit + 1.
recommendedEf is the smallest ef whose mean recall meets the target; when none does, the ef with
the best recall (the smallest among equals), flagged `targetMet: false`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


def recall_at_k(exact: Sequence[str], approx: Sequence[str], k: int, exclude: str | None = None) -> float:
    """|top-k approx ∩ top-k exact| / |top-k exact|, without `exclude`; 1.0 when exact has nothing."""
    truth = [i for i in exact if i != exclude][:k]
    found = [i for i in approx if i != exclude][:k]
    if not truth:
        return 1.0
    return len(set(truth) & set(found)) / len(truth)


@dataclass(frozen=True)
class EfResult:
    """Recall and latencies measured at one ef."""

    ef: int
    recalls: Sequence[float]
    latencies_ms: Sequence[float]

    @property
    def recall(self) -> float:
        """Mean recall over the queries."""
        return float(np.mean(self.recalls)) if self.recalls else 0.0

    def to_status(self) -> dict[str, Any]:
        """One entry of status.searchTuning.results."""
        lat = np.asarray(self.latencies_ms or [0.0])
        return {
            "ef": self.ef,
            "recall": round(self.recall, 4),
            "p50Ms": round(float(np.percentile(lat, 50)), 3),
            "p95Ms": round(float(np.percentile(lat, 95)), 3),
        }


def recommend_ef(results: Sequence[EfResult], target: float) -> tuple[int | None, bool]:
    """(recommended ef, target met)."""
    if not results:
        return None, False
    ordered = sorted(results, key=lambda r: r.ef)
    for r in ordered:
        if round(r.recall, 4) >= target:
            return r.ef, True
    best = max(ordered, key=lambda r: (round(r.recall, 4), -r.ef))
    return best.ef, False


def tuning_status(
    results: Sequence[EfResult], target: float, limit: int, sample: int, vector: str | None, when: str
) -> dict[str, Any]:
    """status.searchTuning."""
    ef, met = recommend_ef(results, target)
    out: dict[str, Any] = {
        "measuredAt": when,
        "vector": vector or None,
        "sampleSize": sample,
        "limit": limit,
        "results": [r.to_status() for r in sorted(results, key=lambda r: r.ef)],
        "recommendedEf": ef,
        "targetMet": met,
    }
    return {k: v for k, v in out.items() if v is not None}


def tuning_due(
    last: Mapping[str, Any] | None,
    limit: int,
    efs: Sequence[int],
    now: float,
    last_at: float | None,
    interval: float,
) -> bool:
    """Measure again: never measured, another limit or set of ef candidates, or the interval passed."""
    if not last or last_at is None:
        return True
    measured = {int(r.get("ef", 0)) for r in last.get("results") or ()}
    if last.get("limit") != limit or measured != set(efs):
        return True
    return now - last_at >= interval
