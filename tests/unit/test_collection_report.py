"""The status a pass ends with: conditions per situation, no churn when nothing changed."""

from __future__ import annotations

from typing import Any

import pytest
from qdrant_client.http import models

from qco.plan.actions import (
    AdoptionRefused,
    CollectionPlan,
    FieldMismatch,
    ImmutableFieldChanged,
    UpdateCollection,
)
from qco.plan.collection_request import create_collection_request
from qco.reconcile.collection_report import build_status, failure_outcome, outcome_for_plan
from tests.unit.fake_qdrant import observe
from tests.unit.planning import spec

T0, T1 = "2026-01-01T00:00:00Z", "2026-01-01T00:01:00Z"


def info(status: str = "green", error: str | None = None) -> models.CollectionInfo:
    live = observe(create_collection_request(spec(), {}), status)
    if error is not None:
        live = live.model_copy(update={"optimizer_status": models.OptimizersStatusOneOf1(error=error)})
    return live


UPDATE = UpdateCollection("c1", models.UpdateCollection(), ("hnsw.m",))
IMMUTABLE = ImmutableFieldChanged("c1", (FieldMismatch("vectors[''].size", 8, 4),))

# (id, plan, live info, expected (Ready, Reconciling, Stalled) statuses, reason, text in Ready's message)
READY, OPTIMIZING, STALLED, WAITING = ("True", "False", "False"), ("False", "True", "False"), (
    "False", "False", "True"), ("False", "False", "False")  # fmt: skip
NOTHING = CollectionPlan("c1")
BLOCKED = CollectionPlan("c1", blockers=(IMMUTABLE,))
TWO_BLOCKERS = CollectionPlan("c1", blockers=(AdoptionRefused("c1", "Never"), IMMUTABLE))

# (id, plan, live info, expected (Ready, Reconciling, Stalled) statuses, reason, text in Ready's message)
CASES: list[tuple[str, CollectionPlan, models.CollectionInfo | None, tuple[str, str, str], str, str]] = [
    ("green matches", NOTHING, info(), READY, "Synced", "matches the spec"),
    ("yellow optimizes", NOTHING, info("yellow"), OPTIMIZING, "Optimizing", "yellow"),
    ("grey optimizes", NOTHING, info("grey"), OPTIMIZING, "Optimizing", "grey"),
    ("red is stalled", NOTHING, info("red", "disk full"), STALLED, "CollectionRed", "disk full"),
    ("immutable blocks", BLOCKED, info(), STALLED, "ImmutableFieldChanged", "CollectionDeployment"),
    ("first blocker names the reason", TWO_BLOCKERS, info(), STALLED, "AdoptionRefused", "Never"),
    (
        "paused with work pending",
        CollectionPlan("c1", (UPDATE,), paused=True),
        info(),
        WAITING,
        "Paused",
        "hnsw.m",
    ),
    ("paused, nothing to do: Ready", CollectionPlan("c1", paused=True), info(), READY, "Synced", "matches"),
]


@pytest.mark.parametrize(
    ("plan", "live", "expected", "reason", "text"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_conditions_for_each_situation(
    plan: CollectionPlan, live: models.CollectionInfo, expected: tuple[str, str, str], reason: str, text: str
) -> None:
    outcome = outcome_for_plan(plan, live, applied=False, aliases=[])
    assert (outcome.ready.status, outcome.reconciling.status, outcome.stalled.status) == expected
    assert outcome.ready.reason == reason
    assert text in outcome.ready.message
    assert [c.type for c in outcome.extra] == (["Paused"] if plan.paused else [])


@pytest.mark.parametrize(
    ("stalled", "expected"), [(True, ("False", "False", "True")), (False, ("False", "True", "False"))]
)
def test_failures_are_stalled_only_when_a_human_must_act(
    stalled: bool, expected: tuple[str, str, str]
) -> None:
    outcome = failure_outcome("QdrantUnreachable", "connection refused", stalled)
    assert (outcome.ready.status, outcome.reconciling.status, outcome.stalled.status) == expected
    assert outcome.ready.message == "connection refused"


def conditions(status: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["type"]: c for c in status["conditions"]}


def test_unchanged_pass_gives_an_identical_status() -> None:
    outcome = outcome_for_plan(CollectionPlan("c1"), info(), applied=False, aliases=["a"])
    first = build_status(None, outcome, 1, T0)
    second = build_status(first, outcome, 1, T1)
    assert second == first  # no timestamp moves: a no-op reconcile writes nothing
    assert first["collection"] == {
        "name": "c1",
        "status": "green",
        "pointsCount": 0,
        "indexedVectorsCount": 0,
        "segmentsCount": 1,
        "aliases": ["a"],
    }
    assert first["lastSyncTime"] == T0


def test_transition_times_move_only_with_the_status() -> None:
    ready = build_status(None, outcome_for_plan(CollectionPlan("c1"), info(), False, []), 1, T0)
    failing = build_status(ready, failure_outcome("QdrantUnreachable", "down", stalled=False), 1, T1)
    assert conditions(failing)["Ready"]["lastTransitionTime"] == T1
    assert conditions(failing)["Stalled"]["lastTransitionTime"] == T0  # False before and after
    assert failing["collection"] == ready["collection"]  # a failed pass keeps the last mirror
    assert failing["lastSyncTime"] == T0


def test_drift_is_counted_and_recorded() -> None:
    start = build_status(None, outcome_for_plan(CollectionPlan("c1"), info(), False, []), 1, T0)
    outcome = outcome_for_plan(CollectionPlan("c1", actions=(UPDATE,)), info(), True, [], ("hnsw.m",))
    drifted = build_status(start, outcome, 1, T1)
    assert drifted["driftCorrections"] == 1
    assert drifted["lastDriftCorrection"] == {"time": T1, "fields": ["hnsw.m"]}
    assert drifted["lastSyncTime"] == T1
    assert "driftCorrections" not in start


def test_red_collection_mirrors_the_optimizer_error() -> None:
    status = build_status(
        None, outcome_for_plan(CollectionPlan("c1"), info("red", "disk full"), False, []), 2, T0
    )
    assert status["collection"]["optimizerError"] == "disk full"
    assert status["observedGeneration"] == 2
    assert all(c["observedGeneration"] == 2 for c in status["conditions"])
