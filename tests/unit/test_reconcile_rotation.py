"""The rotation pass on fakes with a fake clock: windows created ahead, one alias move per
boundary, an operator back after missed boundaries (rotates once, names what it missed), a
clock going backwards (no alias move back, no deletion), template changes in place, and
backupBeforeDelete (nothing deleted until a run holds the window; one backup-now request)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from qco.api.deployment import COLLECTION_DEPLOYMENT, CollectionDeploymentSpec
from qco.reconcile.deployment_rotation import reconcile_rotation
from qco.reconcile.outcome import PassOutcome
from qco.reconcile.snapshot import PassSnapshot
from tests.unit.deployment_fakes import FakeObjects
from tests.unit.fakes import Harness, harness

LOG = logging.getLogger("test")
NS = "team"
CHILDREN = "qdrantcollections"


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def deployment(rotation: dict[str, Any], status: dict[str, Any], **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "qco.dev/v1alpha1",
        "kind": "CollectionDeployment",
        "metadata": {"name": "ev", "namespace": NS, "uid": "uid-ev", "generation": 1, "annotations": {}},
        "spec": {
            "alias": "ev",
            "template": {"vectors": {"": {"size": 4, "distance": "Cosine"}}, "hnsw": {"m": 16}},
            "rotation": {"schedule": "@monthly", "nameFormat": "ev-{yyyy}-{mm}", **rotation},
            **spec,
        },
        "status": status,
    }


class World:
    """A deployment's status carried from pass to pass, its children and the Qdrant aliases."""

    def __init__(self, rotation: dict[str, Any], **spec: Any) -> None:
        self.h: Harness = harness()
        self.objects = FakeObjects()
        self.rotation, self.spec = rotation, spec
        self.status: dict[str, Any] = {}

    @property
    def gateway(self) -> Any:
        return self.h.gateway()

    async def run(self, now: str, settle: bool = True) -> PassOutcome:
        """One pass at `now`; children become Ready and green afterwards (as their own loops would)."""
        obj = deployment(self.rotation, self.status, **self.spec)
        snapshot = PassSnapshot.take(COLLECTION_DEPLOYMENT, obj)
        spec = CollectionDeploymentSpec.model_validate(obj["spec"])
        outcome = await reconcile_rotation(
            self.h.ctx, snapshot, spec, self.status, self.objects, self.gateway, LOG, now=utc(now)
        )
        assert outcome.fields is not None
        self.status = {**self.status, **outcome.fields(self.status, ""), "conditions": [outcome.ready]}
        self.status = {k: v for k, v in self.status.items() if v is not None}
        if settle:
            self.settle()
        return outcome

    def settle(self) -> None:
        for (plural, _, _), child in self.objects.items.items():
            if plural == CHILDREN:
                child["status"] = {
                    "observedGeneration": child["metadata"]["generation"],
                    "conditions": [{"type": "Ready", "status": "True", "reason": "Synced", "message": ""}],
                    "collection": {"status": "green", "pointsCount": 0},
                }

    def windows(self) -> dict[str, dict[str, Any]]:
        return {w["name"]: w for w in self.status.get("windows") or ()}

    def children(self) -> dict[str, dict[str, Any]]:
        return {n: o for (p, _, n), o in self.objects.items.items() if p == CHILDREN}

    def alias_moves(self) -> int:
        return sum(1 for op, _ in self.gateway.calls if op == "update_aliases")


async def test_windows_are_created_ahead_and_the_alias_moves_once_per_boundary() -> None:
    w = World({"precreate": 1})
    outcome = await w.run("2026-11-29T10:00:00", settle=False)
    assert sorted(c["spec"]["collectionName"] for c in w.children().values()) == ["ev-2026-11", "ev-2026-12"]
    assert outcome.ready.reason == "Rotating" and w.gateway.aliases == {}  # children not Ready yet
    w.settle()
    outcome = await w.run("2026-11-29T10:00:01")
    assert w.gateway.aliases == {"ev": "ev-2026-11"}
    assert (outcome.ready.status, outcome.ready.reason) == ("True", "WindowCurrent")
    assert w.status["nextRotationTime"] == "2026-12-01T00:00:00Z"
    # It sleeps until the boundary (just past it), not the default interval.
    assert outcome.retry_after is not None and abs(outcome.retry_after - (38 * 3600 + 0.2)) < 1.5
    assert {n: x["phase"] for n, x in w.windows().items()} == {"ev-2026-11": "Current", "ev-2026-12": "Ahead"}

    await w.run("2026-11-30T10:00:00")
    assert w.alias_moves() == 1  # nothing moves inside a window
    await w.run("2026-12-01T00:00:00")
    assert w.gateway.aliases == {"ev": "ev-2026-12"} and w.alias_moves() == 2
    assert "ev-2027-01" in w.windows()
    assert [m for _, _, r, m in w.h.events if r == "Rotate"][-1] == "alias ev: ev-2026-11 -> ev-2026-12"


async def test_an_operator_back_after_missed_boundaries_rotates_once_and_names_them() -> None:
    w = World({"precreate": 1, "retain": 2})
    await w.run("2026-07-10T00:00:00")
    await w.run("2026-07-10T00:00:01")
    moves = w.alias_moves()
    await w.run("2026-10-15T00:00:00")  # away from July 10 to October 15
    await w.run("2026-10-15T00:00:01")
    assert w.gateway.aliases == {"ev": "ev-2026-10"}
    assert w.alias_moves() == moves + 1  # one move, straight to October
    assert w.status["missedWindows"] == ["ev-2026-08", "ev-2026-09"]
    [missed] = [m for _, t, r, m in w.h.events if r == "MissedWindows"]
    assert "2 window(s) passed while qco was away (ev-2026-08, ev-2026-09)" in missed
    assert "of those, created ahead: ev-2026-08" in missed
    # retain 2: October and August (the newest behind) stay; July goes (listed until its child is).
    assert "ev-ev-2026-07" not in w.children()
    assert w.windows()["ev-2026-07"]["phase"] == "Deleting"
    await w.run("2026-10-15T00:00:02")
    assert sorted(w.windows()) == ["ev-2026-08", "ev-2026-10", "ev-2026-11"]


async def test_a_clock_going_backwards_neither_moves_the_alias_back_nor_deletes() -> None:
    w = World({"precreate": 1, "retain": 1})
    await w.run("2026-11-10T00:00:00")
    await w.run("2026-11-10T00:00:01")
    await w.run("2026-12-01T00:00:05")
    await w.run("2026-12-01T00:00:06")
    assert w.gateway.aliases == {"ev": "ev-2026-12"}
    children, moves = sorted(w.children()), w.alias_moves()
    outcome = await w.run("2026-11-20T00:00:00")  # the clock jumped back into November
    assert (outcome.ready.reason, w.gateway.aliases) == ("ClockBehind", {"ev": "ev-2026-12"})
    assert w.alias_moves() == moves and sorted(w.children()) == children
    assert w.objects.deleted == ["ev-ev-2026-11"]  # only the one deleted before, at December's start
    assert w.status["currentWindow"] == "ev-2026-12"


async def test_template_changes_reach_windows_in_place_but_not_their_vector_size() -> None:
    w = World({"precreate": 1})
    await w.run("2026-11-10T00:00:00")
    await w.run("2026-11-10T00:00:01")
    w.spec = {"template": {"vectors": {"": {"size": 8, "distance": "Cosine"}}, "hnsw": {"m": 32}}}
    await w.run("2026-11-10T00:01:00")
    for child in w.children().values():
        assert child["spec"]["hnsw"] == {"m": 32}
        assert child["spec"]["vectors"] == {"": {"size": 4, "distance": "Cosine"}}
    await w.run("2026-12-01T00:00:00")
    assert w.children()["ev-ev-2027-01"]["spec"]["vectors"] == {"": {"size": 8, "distance": "Cosine"}}


async def test_a_window_waits_for_a_backup_and_asks_for_one_once() -> None:
    w = World({"precreate": 0, "retain": 1, "backupBeforeDelete": {"backupSchedule": "arch"}})
    await w.run("2026-11-10T00:00:00")
    await w.run("2026-11-10T00:00:01")
    await w.run("2026-12-01T00:00:00")
    await w.run("2026-12-01T00:00:01")
    assert "ev-ev-2026-11" in w.children() and w.objects.deleted == []
    assert w.windows()["ev-2026-11"]["phase"] == "AwaitingBackup"
    assert w.windows()["ev-2026-11"]["message"] == "BackupSchedule arch not found"

    schedule: dict[str, Any] = {"metadata": {"name": "arch", "annotations": {}}, "spec": {}, "status": {}}
    w.objects.items[("backupschedules", NS, "arch")] = schedule
    await w.run("2026-12-01T00:01:00")
    await w.run("2026-12-01T00:01:01")
    assert schedule["metadata"]["annotations"] == {"qco.dev/backup-now": "before-delete-ev-2026-11"}
    assert [r for _, _, r, _ in w.h.events].count("RequestBackup") == 1  # asked once, not per pass
    assert w.objects.deleted == []

    run = {"name": "arch-1", "phase": "Succeeded", "startTime": "2026-12-01T00:01:30Z"}
    run["collections"] = [{"name": "ev-ev-2026-11", "collection": "ev-2026-11"}]
    schedule["status"] = {"backupNow": "before-delete-ev-2026-11", "runs": [run]}
    await w.run("2026-12-01T00:02:00")
    assert w.objects.deleted == ["ev-ev-2026-11"]
    await w.run("2026-12-01T00:02:01")
    assert sorted(w.windows()) == ["ev-2026-12"]


async def test_rotation_takes_the_alias_from_the_revision_it_served_but_never_from_a_stranger() -> None:
    w = World({"precreate": 0})
    w.gateway.aliases["ev"] = "ev-1a2b3c4d"  # a revision served the alias before rotation was added
    w.status = {"activeCollection": "ev-1a2b3c4d", "activeRevision": 1}
    await w.run("2026-11-10T00:00:00")
    await w.run("2026-11-10T00:00:01")
    assert w.gateway.aliases == {"ev": "ev-2026-11"}

    stranger = World({"precreate": 0})
    stranger.gateway.aliases["ev"] = "someone-elses"
    await stranger.run("2026-11-10T00:00:00")
    outcome = await stranger.run("2026-11-10T00:00:01")
    assert (outcome.stalled.status, outcome.stalled.reason) == ("True", "AliasConflict")
    assert stranger.gateway.aliases == {"ev": "someone-elses"}
