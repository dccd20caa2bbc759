"""Retention with destination.qdrant, on fake Kubernetes and the Qdrant stand-in: the snapshots of
the runs retention lets go are deleted from the node (status.runs is the only record of them), the
newest successful run never is, a snapshot already gone counts as deleted, and a Qdrant error
leaves the run listed until a later pass deletes it."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from qdrant_client import QdrantClient, models

from qco.api.backup import BACKUP_SCHEDULE, BackupScheduleSpec
from qco.api.collection import QDRANT_COLLECTION
from qco.reconcile.backup import reconcile_backup_schedule
from qco.reconcile.snapshot import PassSnapshot
from tests.unit.fakes import Harness, body, harness

# A yearly schedule created on 2026-01-02: no slot falls due before 2027, so every run below is
# a backup-now run at the fake clock's time, one hour apart.
YEARLY = "0 0 1 1 *"
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
DELETE_ROUTE = "/collections/{collection_name}/snapshots/{snapshot_name}"


class _Log:
    def info(self, *args: Any) -> None: ...

    def warning(self, *args: Any) -> None: ...


def setup(url: str) -> tuple[Harness, QdrantClient]:
    h = harness(qdrant_url=url)
    h.kube.objects[(QDRANT_COLLECTION.plural, "team", "docs")] = body("docs")
    client = QdrantClient(url=url, check_compatibility=False)
    client.create_collection(
        "docs", vectors_config=models.VectorParams(size=4, distance=models.Distance.COSINE)
    )
    client.upsert("docs", [models.PointStruct(id=i, vector=[1.0, i, 0, 0]) for i in range(5)], wait=True)
    return h, client


def schedule(retention: dict[str, Any] | None, status: dict[str, Any], token: str | None) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "schedule": YEARLY,
        "collections": {"names": ["docs"]},
        "destination": {"qdrant": {}},
    }
    if retention is not None:
        spec["retention"] = retention
    obj = body(
        "nodekept", spec=spec, status=status, annotations={"qco.dev/backup-now": token} if token else {}
    )
    obj["kind"] = "BackupSchedule"
    return obj


async def one_pass(h: Harness, obj: dict[str, Any], now: datetime) -> dict[str, Any]:
    snapshot = PassSnapshot.take(BACKUP_SCHEDULE, obj)
    spec = BackupScheduleSpec.model_validate(obj["spec"])
    outcome = await reconcile_backup_schedule(h.ctx, snapshot, spec, _Log(), now=now)
    assert outcome.fields is not None
    status = {**obj["status"], **outcome.fields(obj["status"], "")}
    return {k: v for k, v in status.items() if v is not None}


async def backup_now(
    h: Harness, retention: dict[str, Any] | None, status: dict[str, Any], hour: int
) -> dict[str, Any]:
    return await one_pass(h, schedule(retention, status, f"t{hour}"), T0 + timedelta(hours=hour))


def on_node(client: QdrantClient) -> set[str]:
    return {s.name for s in client.list_snapshots("docs")}


def run_snapshots(status: dict[str, Any]) -> dict[str, str]:
    """Run name -> the snapshot it recorded (runs that took one)."""
    return {
        run["name"]: entry["snapshot"]
        for run in status.get("runs") or []
        for entry in run["collections"]
        if entry.get("snapshot")
    }


async def test_keep_last_leaves_exactly_the_newest_runs_snapshots_on_the_node(qdrant_server: Any) -> None:
    h, client = setup(qdrant_server.url)
    status: dict[str, Any] = {}
    taken: list[str] = []  # snapshot names, oldest first
    for hour in range(4):
        status = await backup_now(h, {"keepLast": 2}, status, hour)
        assert status["runs"][0]["phase"] == "Succeeded"
        taken.append(status["runs"][0]["collections"][0]["snapshot"])
        # After every pass the node holds exactly the snapshots of the runs status still lists.
        assert on_node(client) == set(run_snapshots(status).values())
    assert on_node(client) == {taken[3], taken[2]}
    assert [r["name"] for r in status["runs"]] == [
        "nodekept-now-20260301-150000",
        "nodekept-now-20260301-140000",
    ]
    assert h.reasons().count("BackupExpired") == 2
    client.close()


async def test_the_newest_success_is_never_deleted_and_failed_runs_are_kept(qdrant_server: Any) -> None:
    h, client = setup(qdrant_server.url)
    status: dict[str, Any] = {}
    status = await backup_now(h, None, status, 0)  # A
    status = await backup_now(h, None, status, 1)  # B, the newest success
    newest = status["runs"][0]["collections"][0]["snapshot"]
    qdrant_server.admin.add_fault(r"/snapshots$", "error", method="POST", status=503, calls=1)
    status = await backup_now(h, None, status, 2)  # C fails: no snapshot taken
    assert status["runs"][0]["phase"] == "Failed"
    assert len(on_node(client)) == 2

    # Ten days on, maxAge 1d covers every success, and keepLast 0 keeps none by count: the newest
    # success stays anyway, the failed run is kept for inspection, only A goes.
    later = T0 + timedelta(days=10)
    status = await one_pass(h, schedule({"keepLast": 0, "maxAge": "1d"}, status, None), later)
    assert [r["name"] for r in status["runs"]] == [
        "nodekept-now-20260301-140000",
        "nodekept-now-20260301-130000",
    ]
    assert on_node(client) == {newest}
    # Nothing more to expire: the next pass sends Qdrant no delete at all.
    qdrant_server.admin.reset_requests()
    again = await one_pass(h, schedule({"keepLast": 0, "maxAge": "1d"}, status, None), later)
    assert again["runs"] == status["runs"]
    assert qdrant_server.admin.count("DELETE", DELETE_ROUTE) == 0
    assert on_node(client) == {newest}
    client.close()


async def test_a_gone_snapshot_counts_as_deleted_and_a_qdrant_error_keeps_the_run_listed(
    qdrant_server: Any,
) -> None:
    h, client = setup(qdrant_server.url)
    status: dict[str, Any] = {}
    for hour in range(3):
        status = await backup_now(h, {"keepLast": 3}, status, hour)
    a, b, c = (status["runs"][i]["collections"][0]["snapshot"] for i in (2, 1, 0))
    client.delete_snapshot("docs", a)  # deleted by hand: already gone when retention comes
    qdrant_server.admin.add_fault(re.escape(b), "error", method="DELETE", status=503, calls=1)

    qdrant_server.admin.reset_requests()
    status = await one_pass(h, schedule({"keepLast": 1}, status, None), T0 + timedelta(hours=3))
    assert qdrant_server.admin.count("DELETE", DELETE_ROUTE) == 2  # a (404) and b (503)
    assert [r["collections"][0]["snapshot"] for r in status["runs"]] == [c, b]  # b stays listed
    assert on_node(client) == {b, c}
    [(kind, message)] = [(k, m) for _, k, reason, m in h.events if reason == "BackupExpireFailed"]
    assert kind == "Warning" and "Qdrant answered 503" in message
    assert [m for _, _, reason, m in h.events if reason == "BackupExpired"] == [
        "nodekept-now-20260301-120000 deleted by retention"
    ]

    # The next pass retries b, with one delete, and lists only the newest run.
    qdrant_server.admin.reset_requests()
    status = await one_pass(h, schedule({"keepLast": 1}, status, None), T0 + timedelta(hours=4))
    assert qdrant_server.admin.count("DELETE", DELETE_ROUTE) == 1
    assert [r["collections"][0]["snapshot"] for r in status["runs"]] == [c]
    assert on_node(client) == {c}
    client.close()


async def test_a_run_whose_qdrant_is_unknown_stays_listed_and_nothing_is_deleted(qdrant_server: Any) -> None:
    h, client = setup(qdrant_server.url)
    status: dict[str, Any] = {}
    for hour in range(2):
        status = await backup_now(h, {"keepLast": 2}, status, hour)
    # The QdrantCollection is gone and the schedule names no connection: the older run's snapshot
    # may live on any Qdrant, and a 404 from a wrong one must not count as deleted.
    del h.kube.objects[(QDRANT_COLLECTION.plural, "team", "docs")]
    qdrant_server.admin.reset_requests()
    after = await one_pass(h, schedule({"keepLast": 1}, status, None), T0 + timedelta(hours=2))
    assert after["runs"] == status["runs"]
    assert qdrant_server.admin.count("DELETE", DELETE_ROUTE) == 0
    assert len(on_node(client)) == 2
    [message] = [m for _, _, reason, m in h.events if reason == "BackupExpireFailed"]
    assert "QdrantCollection team/docs not found: which Qdrant holds its snapshots is unknown" in message
    client.close()
