"""Search tuning by measured recall: recall@k of HNSW against exact search per ef, and the
recommendation. Pure.

Queries are stored points; each query's own id is removed from both result lists (a stored
point always finds itself, which would inflate recall), so both lists are fetched with limit + 1.
recommendedEf is the smallest ef whose mean recall meets the target; when none does, the ef with
the best recall (the smallest among equals), flagged `targetMet: false`.

With quantization the recommended ef is measured again with rescoring off and with rescoring on at
each oversampling candidate (entries carrying `rescore`/`oversampling`); recommendedQuantization is
the cheapest of those meeting the target, cheapest meaning rescore off, then the smallest
oversampling (fewer original vectors read). Cost is by construction, not by measured latency,
which is noise on small samples.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from qco.api.collection_config import CollectionConfig


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
    rescore: bool | None = None  # None: plain hnsw_ef, no quantization search params
    oversampling: float | None = None

    @property
    def quantized(self) -> bool:
        """Measured with explicit quantization search params."""
        return self.rescore is not None

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
            **({"rescore": self.rescore} if self.rescore is not None else {}),
            **({"oversampling": self.oversampling} if self.oversampling is not None else {}),
        }


def _cost(r: EfResult) -> tuple[bool, float]:
    return bool(r.rescore), r.oversampling or 1.0


def recommend_quantization(results: Sequence[EfResult], target: float) -> tuple[EfResult | None, bool]:
    """(cheapest quantized measurement meeting the target, target met); when none meets it, the best
    recall (the cheapest among equals)."""
    ordered = sorted((r for r in results if r.quantized), key=_cost)
    if not ordered:
        return None, False
    for r in ordered:
        if round(r.recall, 4) >= target:
            return r, True
    best = max(round(r.recall, 4) for r in ordered)
    return next(r for r in ordered if round(r.recall, 4) == best), False


def quantization_in_use(config: CollectionConfig, vector: str | None) -> bool:
    """The tuned vector is quantized: its own quantization, else the collection-wide one (`disabled`
    counts as none)."""
    own = (config.vectors or {}).get(vector or "")
    if own is None and config.vectors and not vector:
        own = next(iter(config.vectors.values()))
    chosen = own.quantization if own is not None and own.quantization is not None else config.quantization
    return chosen is not None and chosen.disabled is None


def recommend_ef(results: Sequence[EfResult], target: float) -> tuple[int | None, bool]:
    """(recommended ef, target met)."""
    if not results:
        return None, False
    ordered = sorted((r for r in results if not r.quantized), key=lambda r: r.ef)
    if not ordered:
        return None, False
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
        "results": [r.to_status() for r in sorted(results, key=lambda r: (r.ef, r.quantized, _cost(r)))],
        "recommendedEf": ef,
        "targetMet": met,
    }
    chosen, q_met = recommend_quantization(results, target)
    if chosen is not None:
        out["recommendedQuantization"] = {
            "ef": chosen.ef,
            "rescore": bool(chosen.rescore),
            **({"oversampling": chosen.oversampling} if chosen.oversampling is not None else {}),
            "recall": round(chosen.recall, 4),
            "targetMet": q_met,
        }
    return {k: v for k, v in out.items() if v is not None}


def tuning_due(
    last: Mapping[str, Any] | None,
    limit: int,
    efs: Sequence[int],
    now: float,
    last_at: float | None,
    interval: float,
    oversampling: Sequence[float] = (),
) -> bool:
    """Measure again: never measured, another limit or set of ef or oversampling candidates, or the
    interval passed. `oversampling` is empty when no quantized measurement is wanted."""
    if not last or last_at is None:
        return True
    rows = list(last.get("results") or ())
    measured = {int(r.get("ef", 0)) for r in rows}
    sampled = {float(r["oversampling"]) for r in rows if r.get("oversampling") is not None}
    if last.get("limit") != limit or measured != set(efs) or sampled != {float(x) for x in oversampling}:
        return True
    return now - last_at >= interval
