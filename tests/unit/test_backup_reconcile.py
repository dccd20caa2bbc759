"""The BackupSchedule pass on fake Kubernetes, the Qdrant stand-in and moto's S3 server: an
operator killed mid-upload (the run is recorded Failed, its open upload aborted, the slot retried
with backoff and the retry succeeds), Qdrant failing during a run, and bad credentials."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from qdrant_client import QdrantClient, models

from qco.api.backup import BACKUP_SCHEDULE, BackupScheduleSpec
from qco.api.collection import QDRANT_COLLECTION
from qco.plan.backup_schedule import Schedule
from qco.reconcile.backup import reconcile_backup_schedule
from qco.reconcile.context import ConnectionProblem
from qco.reconcile.snapshot import PassSnapshot
from tests.plugins.s3_server import ACCESS_KEY, SECRET_KEY, S3Server, s3_fixture
from tests.unit.fakes import Harness, body, harness

BUCKET = "qco-reconcile"
YEARLY = "0 0 1 1 *"  # one slot a year: a retry's window never closes during a test


s3 = s3_fixture(BUCKET)


def setup(s3: S3Server, qdrant_url: str) -> Harness:
    h = harness(qdrant_url=qdrant_url)
    h.kube.add_secret("team", "s3", "unused")
    h.kube.secrets[("team", "s3")]["data"] = {
        "id": base64.b64encode(ACCESS_KEY.encode()).decode(),
        "secret": base64.b64encode(SECRET_KEY.encode()).decode(),
    }
    h.kube.objects[(QDRANT_COLLECTION.plural, "team", "docs")] = body("docs")
    client = QdrantClient(url=qdrant_url, check_compatibility=False)
    client.create_collection(
        "docs", vectors_config=models.VectorParams(size=4, distance=models.Distance.COSINE)
    )
    client.upsert("docs", [models.PointStruct(id=i, vector=[1.0, i, 0, 0]) for i in range(7)], wait=True)
    client.close()
    return h


def schedule_body(s3: S3Server, status: dict[str, Any] | None = None) -> dict[str, Any]:
    spec = {
        "schedule": YEARLY,
        "collections": {"names": ["docs"]},
        "destination": {
            "s3": {
                "endpoint": s3.url,
                "bucket": BUCKET,
                "forcePathStyle": True,
                "accessKeyId": {"name": "s3", "key": "id"},
                "secretAccessKey": {"name": "s3", "key": "secret"},
            }
        },
    }
    obj = body("yearly", spec=spec, status=status)
    obj["kind"] = "BackupSchedule"
    return obj


async def one_pass(h: Harness, obj: dict[str, Any], now: datetime) -> tuple[Any, dict[str, Any]]:
    snapshot = PassSnapshot.take(BACKUP_SCHEDULE, obj)
    spec = BackupScheduleSpec.model_validate(obj["spec"])
    outcome = await reconcile_backup_schedule(h.ctx, snapshot, spec, _Log(), now=now)
    assert outcome.fields is not None
    status = {**obj["status"], **outcome.fields(obj["status"], "")}
    return outcome, {k: v for k, v in status.items() if v is not None}


class _Log:
    def info(self, *args: Any) -> None: ...

    def warning(self, *args: Any) -> None: ...


def latest_slot(now: datetime) -> datetime:
    slot = Schedule.parse(YEARLY).latest_at_or_before(now)
    assert slot is not None
    return slot


async def test_a_run_interrupted_mid_upload_is_failed_aborted_and_retried(
    s3: S3Server, qdrant_server: Any
) -> None:
    h = setup(s3, qdrant_server.url)
    now = datetime.now(UTC).replace(microsecond=0)
    slot = latest_slot(now)
    name = f"yearly-{slot:%Y%m%d-%H%M}"
    # What a killed operator leaves: the run active in status and a multipart upload still open.
    key = f"yearly/{name}/docs.snapshot"
    upload = s3.client().create_multipart_upload(Bucket=BUCKET, Key=key)
    s3.client().upload_part(
        Bucket=BUCKET, Key=key, UploadId=upload["UploadId"], PartNumber=1, Body=b"x" * 1024
    )
    started = {
        "name": name,
        "trigger": "Scheduled",
        "scheduledTime": f"{slot:%Y-%m-%dT%H:%M:%SZ}",
        "phase": "Uploading",
    }
    status = {"lastScheduleTime": started["scheduledTime"], "active": [name], "runs": [started]}
    outcome, status = await one_pass(h, schedule_body(s3, status), now)
    [run] = status["runs"]
    assert (run["phase"], run["message"]) == (
        "Failed",
        "interrupted: the operator stopped mid-run (unfinished upload aborted)",
    )
    assert s3.open_uploads(BUCKET) == []
    assert s3.keys(BUCKET, f"yearly/{name}/") == []  # nothing listed, let alone as good
    assert outcome.ready.reason == "BackupFailed"
    assert outcome.retry_after is not None and outcome.retry_after <= 30  # wakes for the retry
    assert "BackupInterrupted" in h.reasons()

    # The retry, 30 s later: attempt 2 of the same slot, and it succeeds.
    outcome, status = await one_pass(h, schedule_body(s3, status), now + timedelta(seconds=31))
    retry = status["runs"][0]
    assert (retry["name"], retry["trigger"], retry["attempt"], retry["phase"]) == (
        name,
        "Retry",
        2,
        "Succeeded",
    )
    assert s3.keys(BUCKET, f"yearly/{name}/") == [
        f"yearly/{name}/docs.snapshot",
        f"yearly/{name}/manifest.json",
    ]
    assert outcome.ready.status == "True"


async def test_qdrant_failing_during_a_run_fails_it_and_the_next_attempt_succeeds(
    s3: S3Server, qdrant_server: Any
) -> None:
    h = setup(s3, qdrant_server.url)
    now = datetime.now(UTC).replace(microsecond=0)
    qdrant_server.admin.add_fault(r"/snapshots$", "error", method="POST", status=503, calls=1)
    obj = schedule_body(s3)
    obj["metadata"]["annotations"] = {"qco.dev/backup-now": "1"}
    outcome, status = await one_pass(h, obj, now)
    run = status["runs"][0]
    assert run["phase"] == "Failed"
    assert "Qdrant answered 503" in run["collections"][0]["error"]
    manifest_keys = [k for k in s3.keys(BUCKET, f"yearly/{run['name']}/")]
    assert manifest_keys == [f"yearly/{run['name']}/manifest.json"]  # a Failed manifest, no data object
    assert outcome.ready.reason == "BackupFailed"
    obj = schedule_body(s3, status)
    obj["metadata"]["annotations"] = {"qco.dev/backup-now": "2"}
    outcome, status = await one_pass(h, obj, now + timedelta(seconds=2))
    assert status["runs"][0]["phase"] == "Succeeded"
    assert status["backupNow"] == "2"
    assert s3.open_uploads(BUCKET) == []
    # Metrics: runs by result, bytes as stored, last success as in status, the expected interval.
    registry, labels = h.ctx.metrics.registry, {"namespace": "team", "schedule": "yearly"}
    sample = registry.get_sample_value
    assert sample("qco_backup_runs_total", {**labels, "result": "Failed"}) == 1
    assert sample("qco_backup_runs_total", {**labels, "result": "Succeeded"}) == 1
    assert sample("qco_backup_bytes_total", labels) == status["runs"][0]["collections"][0]["size"]
    ended = datetime.fromisoformat(status["runs"][0]["completionTime"].replace("Z", "+00:00"))
    assert (
        sample("qco_backup_last_success_timestamp_seconds", {**labels, "collection": "docs"})
        == ended.timestamp()
    )
    assert sample("qco_backup_expected_interval_seconds", labels) in (365 * 86400, 366 * 86400)
    assert sample("qco_backup_suspended", labels) == 0


async def test_an_unlabelled_credentials_secret_stalls_with_the_fix(s3: S3Server) -> None:
    h = harness()
    h.kube.add_secret("team", "s3", "x", labelled=False)
    obj = schedule_body(s3)
    with pytest.raises(
        ConnectionProblem, match=r"destination\.s3 credentials: Secret team/s3 is not labelled"
    ):
        await one_pass(h, obj, datetime.now(UTC))


async def test_the_patch_that_answers_backup_now_carries_the_ready_that_run_implies(
    s3: S3Server, qdrant_server: Any
) -> None:
    # A reader who sees `backupNow` answered must not see the Ready of the run before (CI caught
    # `Ready: True BackupSucceeded` beside a Failed run: conditions came only with the final report).
    h = setup(s3, qdrant_server.url)
    now = datetime.now(UTC).replace(microsecond=0)
    qdrant_server.admin.add_fault(r"/snapshots$", "error", method="POST", status=503, calls=1)
    earlier = {
        "conditions": [
            {"type": "Ready", "status": "True", "reason": "BackupSucceeded", "message": "run x succeeded"}
        ]
    }
    obj = schedule_body(s3, earlier)
    obj["metadata"]["annotations"] = {"qco.dev/backup-now": "1"}
    await one_pass(h, obj, now)
    [answer] = [patch for _, _, patch in h.kube.status_patches if patch.get("backupNow") == "1"]
    assert answer["active"] is None
    assert answer["runs"][0]["phase"] == "Failed"
    ready = next(c for c in answer["conditions"] if c["type"] == "Ready")
    assert (ready["status"], ready["reason"]) == ("False", "BackupFailed")


async def test_the_patch_that_answers_backup_now_lists_runs_after_retention(
    s3: S3Server, qdrant_server: Any
) -> None:
    # A reader who sees `backupNow` answered must not find a run retention has deleted (CI caught the
    # expired run still listed: retention ran after that patch, and only the final report dropped it).
    h = setup(s3, qdrant_server.url)
    now = datetime.now(UTC).replace(microsecond=0)
    obj = schedule_body(s3)
    obj["metadata"]["name"] = "keep-one"
    obj["spec"]["retention"] = {"keepLast": 1}
    obj["metadata"]["annotations"] = {"qco.dev/backup-now": "a"}
    _, status = await one_pass(h, obj, now)
    [first] = [r["name"] for r in status["runs"]]
    obj = schedule_body(s3, status)
    obj["metadata"]["name"] = "keep-one"
    obj["spec"]["retention"] = {"keepLast": 1}
    obj["metadata"]["annotations"] = {"qco.dev/backup-now": "b"}
    await one_pass(h, obj, now + timedelta(seconds=2))
    [answer] = [patch for _, _, patch in h.kube.status_patches if patch.get("backupNow") == "b"]
    names = [r["name"] for r in answer["runs"] if r["phase"] == "Succeeded"]
    assert first not in names and len(names) == 1
    assert s3.keys(BUCKET, f"keep-one/{first}/") == []
    assert "BackupExpired" in h.reasons()


async def test_a_run_finished_earlier_in_a_pass_is_shown_only_with_what_it_answered(
    s3: S3Server, qdrant_server: Any
) -> None:
    # A backup-now and a due slot in one pass: the second run's progress patches list the first
    # run finished; CI caught the backup-now run shown Succeeded before its token was answered.
    h = setup(s3, qdrant_server.url)
    now = datetime.now(UTC).replace(microsecond=0)
    obj = schedule_body(s3, {"lastScheduleTime": f"{now.year - 1}-01-01T00:00:00Z"})
    obj["metadata"]["name"] = "both"
    obj["metadata"]["annotations"] = {"qco.dev/backup-now": "x"}
    await one_pass(h, obj, now)
    patches = [patch for _, _, patch in h.kube.status_patches]
    finished = [(p, r) for p in patches for r in p.get("runs") or () if r.get("phase") == "Succeeded"]
    assert {r["trigger"] for _, r in finished} == {"Manual", "Scheduled"}
    for patch, run in finished:
        if run["trigger"] == "Manual":
            assert patch.get("backupNow") == "x", patch
        else:
            assert patch.get("lastScheduleTime") == run["scheduledTime"], patch
