"""The copy engine and its pure planning: vectors, re-embedding, checkpoints, bounded memory,
retries, resumption, progress and overlap."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from qdrant_client.http import models
from qdrant_client.http.exceptions import UnexpectedResponse

from qco.api.collection_config import CollectionConfig
from qco.api.deployment import EmbeddingsTransform
from qco.clients import qdrant_points
from qco.plan.deployment_copy import (
    decode_offset,
    encode_offset,
    eta_seconds,
    overlap,
    plan_copy,
    progress_summary,
    target_points,
    with_vectors_arg,
)
from qco.reconcile.deployment_copy import CopyRequest, copy_slice

UNNAMED = CollectionConfig.model_validate({"vectors": {"": {"size": 2, "distance": "Dot"}}})
NAMED = CollectionConfig.model_validate(
    {"vectors": {"a": {"size": 2, "distance": "Dot"}, "b": {"size": 3, "distance": "Dot"}}}
)
EMBED = EmbeddingsTransform(url="http://e/v1", model="m", input_field="text", vector="b")


def test_plan_reads_template_vectors_the_source_has_except_the_reembedded_one() -> None:
    assert plan_copy(UNNAMED, [""], None).read_vectors == ("",)
    assert plan_copy(NAMED, ["a", "b", "old"], None).read_vectors == ("a", "b")
    plan = plan_copy(NAMED, ["a", "b"], EMBED)
    assert plan.read_vectors == ("a",) and plan.embed is EMBED
    assert with_vectors_arg(plan, source_unnamed=False) == ["a"]
    assert with_vectors_arg(plan_copy(UNNAMED, [""], None), source_unnamed=True) is True


def test_target_points_keep_ids_payloads_and_replace_the_embedded_vector() -> None:
    records = [
        models.Record(
            id=1, payload={"text": "x"}, vector={"a": [1.0, 2.0], "b": [0.0, 0.0, 0.0], "old": [9.0]}
        ),
        models.Record(
            id="6f1e0c2a-2d4c-4d7e-9a49-0c7f0e0f9b1a", payload={"text": "y"}, vector={"a": [3.0, 4.0]}
        ),
    ]
    out = target_points(
        records, plan_copy(NAMED, ["a", "b", "old"], EMBED), [[1.0, 1.0, 1.0], [2.0, 2.0, 2.0]]
    )
    assert [p.id for p in out] == [1, "6f1e0c2a-2d4c-4d7e-9a49-0c7f0e0f9b1a"]
    assert out[0].vector == {"a": [1.0, 2.0], "b": [1.0, 1.0, 1.0]}
    assert out[1].vector == {"a": [3.0, 4.0], "b": [2.0, 2.0, 2.0]}
    unnamed = target_points(
        [models.Record(id=3, payload=None, vector=[5.0, 6.0])], plan_copy(UNNAMED, [""], None)
    )
    assert unnamed[0].vector == [5.0, 6.0] and unnamed[0].payload == {}


@given(st.one_of(st.none(), st.integers(min_value=0, max_value=2**63), st.uuids().map(str)))
def test_checkpoint_round_trip(offset: int | str | None) -> None:
    assert decode_offset(encode_offset(offset)) == offset


@pytest.mark.parametrize(
    ("copied", "total", "rate", "summary", "eta"),
    [
        (0, 0, 0.0, "0/0 (100%)", None),
        (50, 200, 10.0, "50/200 (25%)", 15),
        (200, 200, 5.0, "200/200 (100%)", 0),
    ],
)
def test_progress(copied: int, total: int, rate: float, summary: str, eta: int | None) -> None:
    assert progress_summary(copied, total) == summary
    assert eta_seconds(copied, total, rate) == eta


@pytest.mark.parametrize(
    ("current", "new", "expected"),
    [([], [], 1.0), ([1, 2], [], 0.0), ([1, 2, 3, 4], [4, 3, 9, 8], 0.5), ([1], [1], 1.0)],
)
def test_overlap(current: list[int], new: list[int], expected: float) -> None:
    assert overlap(current, new) == expected


class FakePoints:
    """Scroll over `count` points by integer offset; upserts recorded; failures injected."""

    def __init__(self, count: int, fail_upserts: int = 0, page_delay: float = 0.0) -> None:
        self.count = count
        self.stored: dict[Any, Any] = {}
        self.upserts = 0
        self.fail_upserts = fail_upserts
        self.page_delay = page_delay
        self.in_flight = 0
        self.max_in_flight = 0

    async def scroll(
        self, collection: str, offset: Any, limit: int, with_vectors: Any, scroll_filter: Any = None
    ) -> Any:
        start = offset or 0
        end = min(self.count, start + limit)
        records = [models.Record(id=i, payload={"n": i}, vector=[float(i), 0.0]) for i in range(start, end)]
        return records, (end if end < self.count else None)

    async def upsert(self, collection: str, points: list[models.PointStruct]) -> None:
        async def call() -> None:
            self.upserts += 1
            if self.fail_upserts > 0:
                self.fail_upserts -= 1
                raise UnexpectedResponse(503, "Service Unavailable", b"{}", None)  # type: ignore[arg-type]
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            await asyncio.sleep(self.page_delay)
            self.in_flight -= 1
            for point in points:
                self.stored[point.id] = point.payload

        await qdrant_points.with_retries(call)


def request(source: FakePoints, target: FakePoints, batch: int = 10, concurrency: int = 3) -> CopyRequest:
    return CopyRequest(
        source=source,  # type: ignore[arg-type]
        source_collection="src",
        target=target,  # type: ignore[arg-type]
        target_collection="dst",
        plan=plan_copy(UNNAMED, [""], None),
        with_vectors=True,
        batch_size=batch,
        concurrency=concurrency,
    )


async def test_copy_everything_with_bounded_concurrency() -> None:
    source, target = FakePoints(95), FakePoints(0, page_delay=0.01)
    result = await copy_slice(request(source, target), None, time.monotonic() + 30)
    assert result.done and result.checkpoint is None and result.copied == 95
    assert sorted(target.stored) == list(range(95))
    assert target.max_in_flight <= 3


async def test_a_slice_stops_at_its_deadline_and_resumes_from_its_checkpoint() -> None:
    source, target = FakePoints(100), FakePoints(0)
    first = await copy_slice(request(source, target), None, time.monotonic() - 1)  # deadline passed
    assert not first.done and first.checkpoint is None and first.copied == 0
    partial = await copy_slice(request(source, target, batch=10, concurrency=1), 40, time.monotonic() + 30)
    assert partial.done and partial.copied == 60
    again = await copy_slice(request(source, target), 0, time.monotonic() + 30)  # idempotent by id
    assert again.done and len(target.stored) == 100


async def test_503_bursts_are_retried_and_lose_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(qdrant_points, "BACKOFF_START", 0.001)
    source, target = FakePoints(50), FakePoints(0, fail_upserts=5)
    result = await copy_slice(request(source, target), None, time.monotonic() + 30)
    assert result.done and sorted(target.stored) == list(range(50))
    assert target.upserts == 5 + 5  # five pages, five failed attempts


async def test_a_failure_past_the_retries_propagates(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(qdrant_points, "BACKOFF_START", 0.001)
    source, target = FakePoints(20), FakePoints(0, fail_upserts=100)
    with pytest.raises(UnexpectedResponse):
        await copy_slice(request(source, target), None, time.monotonic() + 30)


async def test_client_errors_are_not_retried() -> None:
    calls = 0

    async def refused() -> None:
        nonlocal calls
        calls += 1
        raise UnexpectedResponse(400, "Bad Request", b"{}", None)  # type: ignore[arg-type]

    with pytest.raises(UnexpectedResponse):
        await qdrant_points.with_retries(refused)
    assert calls == 1
