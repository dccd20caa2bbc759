"""Search tuning with quantization: the rescore/oversampling selection (plan/search_tuning.py), the
spec bounds, and the measurement's requests (reconcile/search_tuning.py, against a fake client)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pydantic import ValidationError
from qdrant_client import models

from qco.api.collection_config import CollectionConfig
from qco.api.collection_intelligence import SearchTuningSpec, SearchTuningStatus
from qco.clients.qdrant import Endpoint
from qco.plan.search_tuning import (
    EfResult,
    quantization_in_use,
    recommend_ef,
    recommend_quantization,
    tuning_due,
    tuning_status,
)
from qco.reconcile import search_tuning as reconcile_tuning

T = "2026-01-01T00:00:00Z"


def _q(recall: float, rescore: bool, oversampling: float | None = None, ef: int = 64) -> EfResult:
    return EfResult(ef, [recall], [1.0], rescore, oversampling)


OFF_LOW, OFF_OK = _q(0.80, False), _q(0.96, False)
ON1, ON2, ON4 = _q(0.90, True, 1.0), _q(0.95, True, 2.0), _q(0.99, True, 4.0)


@pytest.mark.parametrize(
    ("results", "target", "expected"),
    [
        ([ON4, ON2, ON1, OFF_LOW], 0.95, (ON2, True)),  # smallest oversampling meeting the target
        ([ON4, ON1, OFF_OK], 0.95, (OFF_OK, True)),  # rescore off is cheapest when it suffices
        ([ON4, ON2, ON1, OFF_LOW], 0.99, (ON4, True)),
        ([ON4, ON2, ON1, OFF_LOW], 0.999, (ON4, False)),  # none: best recall
        (
            [_q(0.9, True, 4.0), _q(0.9, True, 2.0), OFF_LOW],
            0.95,
            (_q(0.9, True, 2.0), False),
        ),  # cheapest tie
        ([EfResult(64, [1.0], [1.0])], 0.95, (None, False)),  # plain results only: no recommendation
        ([], 0.95, (None, False)),
    ],
)
def test_recommend_quantization(
    results: list[EfResult], target: float, expected: tuple[EfResult | None, bool]
) -> None:
    assert recommend_quantization(results, target) == expected


def test_recommend_ef_ignores_quantized_variants() -> None:
    results = [EfResult(32, [0.5], [1.0]), EfResult(64, [0.9], [1.0]), _q(1.0, True, 4.0, ef=32)]
    assert recommend_ef(results, 0.9) == (64, True)


def _config(manifest: dict[str, Any]) -> CollectionConfig:
    return CollectionConfig.model_validate(manifest)


SCALAR = {"scalar": {"type": "int8"}}
VEC = {"size": 4, "distance": "Cosine"}


@pytest.mark.parametrize(
    ("manifest", "vector", "quantized"),
    [
        ({"vectors": {"": VEC}}, None, False),
        ({"vectors": {"": VEC}, "quantization": SCALAR}, None, True),
        ({"vectors": {"": {**VEC, "quantization": {"binary": {}}}}}, None, True),
        ({"vectors": {"": {**VEC, "quantization": {"disabled": True}}}, "quantization": SCALAR}, None, False),
        ({"vectors": {"a": VEC, "b": {**VEC, "quantization": SCALAR}}}, "b", True),
        ({"vectors": {"a": VEC, "b": {**VEC, "quantization": SCALAR}}}, "a", False),
        ({"vectors": {"a": {**VEC, "quantization": SCALAR}}}, None, True),  # default: the first vector
        ({"vectors": {"": VEC}, "quantization": {"disabled": True}}, None, False),
    ],
)
def test_quantization_in_use(manifest: dict[str, Any], vector: str | None, quantized: bool) -> None:
    assert quantization_in_use(_config(manifest), vector) is quantized


def test_status_lists_every_variant_and_the_recommendation() -> None:
    results = [EfResult(64, [0.95], [2.0]), EfResult(32, [0.6], [1.0]), ON4, ON1, OFF_LOW, ON2]
    status = tuning_status(results, 0.95, 10, 1, None, T)
    assert [(r["ef"], r.get("rescore"), r.get("oversampling"), r["recall"]) for r in status["results"]] == [
        (32, None, None, 0.6),
        (64, None, None, 0.95),
        (64, False, None, 0.8),
        (64, True, 1.0, 0.9),
        (64, True, 2.0, 0.95),
        (64, True, 4.0, 0.99),
    ]
    assert status["recommendedEf"] == 64 and status["targetMet"] is True
    assert status["recommendedQuantization"] == {
        "ef": 64,
        "rescore": True,
        "oversampling": 2.0,
        "recall": 0.95,
        "targetMet": True,
    }
    parsed = SearchTuningStatus.model_validate(status)  # the CRD's status model accepts it
    assert parsed.recommended_quantization is not None and parsed.recommended_quantization.oversampling == 2.0
    # a plain collection has no quantization entries
    assert "recommendedQuantization" not in tuning_status(results[:2], 0.95, 10, 1, None, T)


def test_due_when_the_oversampling_candidates_change() -> None:
    status = tuning_status([EfResult(64, [1.0], [1.0]), ON1, ON2, OFF_LOW], 0.9, 10, 1, None, T)
    assert not tuning_due(status, 10, [64], 30.0, 0.0, 60.0, [2.0, 1.0])
    assert tuning_due(status, 10, [64], 30.0, 0.0, 60.0, [1.0, 2.0, 4.0])
    assert tuning_due(status, 10, [64], 30.0, 0.0, 60.0, [])  # quantization removed
    plain = tuning_status([EfResult(64, [1.0], [1.0])], 0.9, 10, 1, None, T)
    assert not tuning_due(plain, 10, [64], 30.0, 0.0, 60.0)
    assert tuning_due(plain, 10, [64], 30.0, 0.0, 60.0, [1.0])  # quantization added


def test_oversampling_candidates_bounds() -> None:
    assert SearchTuningSpec().oversampling_candidates == [1.0, 2.0, 4.0]
    assert SearchTuningSpec.model_validate({"oversamplingCandidates": [1, 16]}).oversampling_candidates == [
        1.0,
        16.0,
    ]
    for bad in ([0.5], [17.0], [], [1.0] * 9):
        with pytest.raises(ValidationError, match="oversamplingCandidates"):
            SearchTuningSpec.model_validate({"oversamplingCandidates": bad})


class FakeProbe:
    """Returns ids by the request: exact gives 1..11; hnsw gives 1..6 then misses, rescore on with
    oversampling >= 2 finds them all, rescore off loses one more. Records each request."""

    requests: list[dict[str, Any]] = []

    def __init__(self, *_: Any) -> None:
        pass

    async def sample_points(self, collection: str, count: int) -> list[models.Record]:
        return [models.Record(id=i, vector=[float(i), 1.0]) for i in range(1, count + 1)]

    async def timed_query(
        self, collection: str, request: dict[str, Any], limit: int
    ) -> tuple[list[str], float]:
        FakeProbe.requests.append(request)
        params = request["params"]
        truth = [str(i) for i in range(1, limit + 1)]
        if params.get("exact"):
            return truth, 0.001
        q = params.get("quantization")
        if q is None:
            keep = 6 if params["hnsw_ef"] < 64 else limit
        elif not q["rescore"]:
            keep = limit - 1
        else:
            keep = limit if q["oversampling"] >= 2 else limit - 1
        return truth[:keep] + [f"x{i}" for i in range(limit - keep)], 0.001

    async def close(self) -> None:
        pass


def test_measure_recall_requests_and_results(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reconcile_tuning, "ProbeClient", FakeProbe)
    FakeProbe.requests = []
    results, sampled = asyncio.run(
        reconcile_tuning.measure_recall(Endpoint("http://q"), "c", None, 2, 10, [32, 64], [1.0, 2.0], 0.95)
    )
    # per query: exact, 2 efs, then at ef 64: rescore off, rescore on x2
    assert sampled == 2 and len(FakeProbe.requests) == 2 * (1 + 2 + 3)
    quantized = [r["params"] for r in FakeProbe.requests if "quantization" in r["params"]]
    assert quantized[::2] == [  # each variant runs over both queries
        {"hnsw_ef": 64, "quantization": {"rescore": False, "oversampling": None}},
        {"hnsw_ef": 64, "quantization": {"rescore": True, "oversampling": 1.0}},
        {"hnsw_ef": 64, "quantization": {"rescore": True, "oversampling": 2.0}},
    ]
    # exclude=own drops the query's own id from both lists: recall over the other 9 of the top 10
    got = {(r.ef, r.rescore, r.oversampling): round(r.recall, 4) for r in results}
    assert got[(64, None, None)] == 1.0 and got[(64, True, 2.0)] == 1.0
    assert got[(64, False, None)] == got[(64, True, 1.0)] < 1.0
    assert got[(32, None, None)] < got[(64, False, None)]
    status = tuning_status(results, 0.95, 10, sampled, None, T)
    assert status["recommendedQuantization"]["oversampling"] == 2.0


def test_no_quantized_requests_without_oversampling(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reconcile_tuning, "ProbeClient", FakeProbe)
    FakeProbe.requests = []
    results, _ = asyncio.run(
        reconcile_tuning.measure_recall(Endpoint("http://q"), "c", None, 2, 10, [32, 64])
    )
    assert len(FakeProbe.requests) == 2 * 3 and all(not r.quantized for r in results)
