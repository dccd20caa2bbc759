"""A deleted QdrantCollection's qco_collection_* series go when its loop ends (the one place every
exit passes through), and only its own: a neighbour's values stay exactly as they were."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from typing import Any, cast

import kopf

from qco.api.collection import QDRANT_COLLECTION
from qco.handlers.loop import register_kind, release_slot, run_finalizer, run_pass
from qco.handlers.runtime import ObjectSlot, Runtime
from qco.reconcile.collection import COLLECTION_RECONCILER
from tests.unit.fakes import Harness, body, harness

LOG = logging.getLogger("test")
V4 = {"size": 4, "distance": "Cosine"}


class _Stopped:
    """kopf.DaemonStopped as the loop uses it: falsy until set, and awaitable."""

    def __init__(self) -> None:
        self.event = asyncio.Event()

    def __bool__(self) -> bool:
        return self.event.is_set()

    async def wait(self) -> None:
        await self.event.wait()


def _sample(h: Harness, metric: str, name: str, **extra: str) -> float | None:
    labels = {"namespace": "team", "object": name, **extra}
    return h.ctx.metrics.registry.get_sample_value(metric, labels)


def _ram_in_status(h: Harness, name: str) -> int:
    statuses = [s for _, n, s in h.kube.status_patches if n == name and "memory" in s]
    return int(statuses[-1]["memory"]["current"]["ramBytes"])


def _set_measurements(h: Harness, name: str, base: float) -> None:
    # The health and search-tuning gauges need a probe and a real engine; set them as a pass would.
    m = h.ctx.metrics.collections
    m.healthy.labels("team", name).set(0)
    m.breach.labels("team", name, "MaxSegmentsExceeded").set(1)
    m.unindexed_ratio.labels("team", name).set(base / 10)
    m.segments.labels("team", name).set(base)
    m.probe_p95.labels("team", name).set(base / 100)
    m.recommended_ef.labels("team", name).set(base * 10)
    m.recall.labels("team", name, "64").set(0.9)


def _loop_fn(passed: asyncio.Event) -> Any:
    """The collection loop kopf would run, with a reconcile that says when a pass is done."""

    async def reconcile(*args: Any) -> Any:
        outcome = await COLLECTION_RECONCILER.reconcile(*args)
        passed.set()
        return outcome

    registry = kopf.OperatorRegistry()
    register_kind(registry, QDRANT_COLLECTION, replace(COLLECTION_RECONCILER, reconcile=reconcile))
    # kopf is pinned (pyproject.toml): its registry's spawning handlers are the daemons.
    [daemon] = registry._spawning.get_all_handlers()
    return daemon.fn


async def test_the_loop_ending_removes_the_deleted_objects_series_and_keeps_the_neighbours() -> None:
    h = harness()
    runtime = Runtime(h.ctx)
    h.ctx.wake = runtime.wake
    docs, other = body("docs", spec={"vectors": {"": V4}}), body("other", spec={"vectors": {"": V4}})
    neighbour = runtime.slots.setdefault("uid-other", ObjectSlot())
    await run_pass(runtime, QDRANT_COLLECTION, COLLECTION_RECONCILER, neighbour, other, LOG)
    _set_measurements(h, "other", 7)

    stopped, passed = _Stopped(), asyncio.Event()
    daemon = _loop_fn(passed)
    raw = cast(Any, docs)
    loop = asyncio.create_task(
        daemon(body=kopf.Body(raw), memo=kopf.Memo(runtime=runtime), stopped=stopped, logger=LOG)
    )
    await asyncio.wait_for(passed.wait(), timeout=30)  # the loop's first pass
    assert _sample(h, "qco_collection_memory_estimate_ram_bytes", "docs") == _ram_in_status(h, "docs")
    _set_measurements(h, "docs", 3)
    assert _sample(h, "qco_collection_segments", "docs") == 3

    await run_finalizer(runtime, QDRANT_COLLECTION, COLLECTION_RECONCILER, docs, LOG)  # deletion
    await asyncio.wait_for(loop, timeout=30)  # ends on its own: no pass after the finalizer
    assert not stopped

    for metric, extra in [
        ("qco_collection_memory_estimate_ram_bytes", {}),
        ("qco_collection_memory_estimate_disk_bytes", {}),
        ("qco_collection_healthy", {}),
        ("qco_collection_health_breach", {"reason": "MaxSegmentsExceeded"}),
        ("qco_collection_unindexed_ratio", {}),
        ("qco_collection_segments", {}),
        ("qco_collection_probe_p95_seconds", {}),
        ("qco_collection_search_recommended_ef", {}),
        ("qco_collection_search_recall", {"ef": "64"}),
    ]:
        assert _sample(h, metric, "docs", **extra) is None, metric
    # The neighbour keeps its exact values.
    assert _sample(h, "qco_collection_memory_estimate_ram_bytes", "other") == _ram_in_status(h, "other")
    assert _sample(h, "qco_collection_segments", "other") == 7
    assert _sample(h, "qco_collection_unindexed_ratio", "other") == 0.7
    assert _sample(h, "qco_collection_search_recall", "other", ef="64") == 0.9
    assert _sample(h, "qco_collection_health_breach", "other", reason="MaxSegmentsExceeded") == 1
    assert "uid-docs" not in runtime.slots


def test_release_slot_without_a_name_or_hook_leaves_collection_series_alone() -> None:
    h = harness()
    runtime = Runtime(h.ctx)
    _set_measurements(h, "docs", 3)
    slot = runtime.slots.setdefault("uid-docs", ObjectSlot())
    release_slot(runtime, QDRANT_COLLECTION, "uid-docs", slot)  # no reconciler: states only
    assert _sample(h, "qco_collection_segments", "docs") == 3
    release_slot(runtime, QDRANT_COLLECTION, "uid-docs", slot, COLLECTION_RECONCILER, ("team", "docs"))
    assert _sample(h, "qco_collection_segments", "docs") is None
