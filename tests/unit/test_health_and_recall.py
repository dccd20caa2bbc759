"""Health thresholds (plan/health.py) and the recall computation (plan/search_tuning.py)."""

from __future__ import annotations

from typing import Any

import pytest

from qco.api.collection_intelligence import HealthSpec
from qco.plan.health import ProbeResult, evaluate_health, probe_due, unindexed_ratio
from qco.plan.search_tuning import EfResult, recall_at_k, recommend_ef, tuning_due, tuning_status

T = "2026-01-01T00:00:00Z"


@pytest.mark.parametrize(
    ("spec", "measured", "reasons"),
    [
        ({}, {}, []),
        ({"maxUnindexedRatio": 0.1}, {"points": 100, "indexed": 95}, []),
        ({"maxUnindexedRatio": 0.1}, {"points": 100, "indexed": 80}, ["UnindexedRatioExceeded"]),
        # two dense vectors: indexed vectors count per vector
        ({"maxUnindexedRatio": 0.1}, {"points": 100, "indexed": 190, "dense": 2}, []),
        ({"maxSegments": 4}, {"segments": 5}, ["TooManySegments"]),
        ({"maxSegments": 4}, {"segments": 4}, []),
        ({"minPoints": 10}, {"points": 0, "indexed": 0}, ["TooFewPoints"]),
        ({"probe": {"maxLatencyMs": 50}}, {"probe": ProbeResult([10.0] * 19 + [80.0], 0, T)}, []),
        (
            {"probe": {"maxLatencyMs": 50}},
            {"probe": ProbeResult([10.0] * 18 + [80.0, 90.0], 0, T)},
            ["ProbeLatencyExceeded"],
        ),
        ({"probe": {"queries": 5}}, {"probe": ProbeResult([1.0] * 3, 2, T)}, ["ProbeErrors"]),
        # every breach is listed, the first one gives the reason
        (
            {"minPoints": 10, "maxSegments": 1},
            {"points": 1, "indexed": 0, "segments": 2},
            ["TooManySegments", "TooFewPoints"],
        ),
    ],
)
def test_thresholds(spec: dict[str, Any], measured: dict[str, Any], reasons: list[str]) -> None:
    report = evaluate_health(
        HealthSpec.model_validate(spec),
        measured.get("points", 100),
        measured.get("indexed", 100 * measured.get("dense", 1)),
        measured.get("segments", 1),
        measured.get("dense", 1),
        measured.get("probe"),
    )
    assert [b.reason for b in report.breaches] == reasons
    status, reason, _ = report.condition()
    assert (status, reason) == (("False", reasons[0]) if reasons else ("True", "WithinThresholds"))


def test_status_fields_and_message() -> None:
    spec = HealthSpec.model_validate({"maxUnindexedRatio": 0.1, "probe": {"maxLatencyMs": 5}})
    report = evaluate_health(spec, 200, 100, 3, 1, ProbeResult([4.0, 6.0], 0, T))
    assert report.to_status() == {
        "points": 200,
        "segments": 3,
        "unindexedRatio": 0.5,
        "breaches": ["UnindexedRatioExceeded", "ProbeLatencyExceeded"],
        "probeP95Ms": 5.9,
        "probeErrors": 0,
        "lastProbeTime": T,
    }
    assert (
        report.condition()[2]
        == "unindexed ratio 0.500 > maxUnindexedRatio 0.1; probe p95 5.9 ms > maxLatencyMs 5"
    )


@pytest.mark.parametrize(
    ("points", "indexed", "dense", "ratio"),
    [
        (None, 1, 1, None),
        (10, None, 1, None),
        (0, 0, 1, 0.0),
        (10, 0, 1, 1.0),
        (10, 30, 2, 0.0),
        (10, 5, 1, 0.5),
    ],
)
def test_unindexed_ratio(points: int | None, indexed: int | None, dense: int, ratio: float | None) -> None:
    assert unindexed_ratio(points, indexed, dense) == ratio


@pytest.mark.parametrize(
    ("last", "interval", "now", "due"),
    [(None, 60.0, 0.0, True), (0.0, None, 1.0, True), (0.0, 60.0, 59.0, False), (0.0, 60.0, 60.0, True)],
)
def test_probe_due(last: float | None, interval: float | None, now: float, due: bool) -> None:
    assert probe_due(last, interval, now) is due


@pytest.mark.parametrize(
    ("exact", "approx", "k", "exclude", "recall"),
    [
        (["1", "2", "3"], ["1", "2", "3"], 3, None, 1.0),
        (["1", "2", "3"], ["1", "9", "3"], 3, None, 2 / 3),
        (["1", "2", "3"], ["3", "2", "1"], 3, None, 1.0),  # order within top-k does not matter
        (["q", "1", "2"], ["q", "1", "9"], 2, "q", 0.5),  # the query's own id is ignored
        (["1", "2", "3", "4"], ["1", "2", "4", "3"], 2, None, 1.0),  # only the top k count
        ([], ["1"], 3, None, 1.0),
    ],
)
def test_recall_at_k(exact: list[str], approx: list[str], k: int, exclude: str | None, recall: float) -> None:
    assert recall_at_k(exact, approx, k, exclude) == pytest.approx(recall)


def _r(ef: int, recall: float) -> EfResult:
    return EfResult(ef, [recall], [float(ef) / 10])


@pytest.mark.parametrize(
    ("results", "target", "expected"),
    [
        ([_r(32, 0.8), _r(64, 0.95), _r(128, 0.99)], 0.95, (64, True)),
        ([_r(128, 0.99), _r(32, 0.96)], 0.95, (32, True)),
        ([_r(32, 0.8), _r(64, 0.9), _r(128, 0.9)], 0.95, (64, False)),  # best, smallest among equals
        ([], 0.95, (None, False)),
    ],
)
def test_recommend_ef(results: list[EfResult], target: float, expected: tuple[int | None, bool]) -> None:
    assert recommend_ef(results, target) == expected


def test_tuning_status_and_due() -> None:
    results = [EfResult(64, [1.0, 0.8], [1.0, 3.0]), EfResult(32, [0.5, 0.7], [1.0, 1.0])]
    status = tuning_status(results, 0.9, 10, 2, None, T)
    assert status == {
        "measuredAt": T,
        "sampleSize": 2,
        "limit": 10,
        "results": [
            {"ef": 32, "recall": 0.6, "p50Ms": 1.0, "p95Ms": 1.0},
            {"ef": 64, "recall": 0.9, "p50Ms": 2.0, "p95Ms": 2.9},
        ],
        "recommendedEf": 64,
        "targetMet": True,
    }
    assert tuning_due(None, 10, [32, 64], 0.0, None, 60.0)
    assert not tuning_due(status, 10, [64, 32], 30.0, 0.0, 60.0)
    assert tuning_due(status, 10, [64, 32], 60.0, 0.0, 60.0)
    assert tuning_due(status, 5, [64, 32], 30.0, 0.0, 60.0)
    assert tuning_due(status, 10, [64, 128], 30.0, 0.0, 60.0)
