"""BackupSchedule faults end to end: `qco sandbox --no-operator` with `qco run` started and SIGKILLed
by the test, moto's S3 server behind a fault proxy. The operator killed mid-upload: the run is
recorded Failed (interrupted), its multipart upload aborted, nothing of it listed, and the
backup-now request it was serving runs again and succeeds. S3 answering 500s mid-upload: the run
is Failed, no object and no open upload remain, and the next run succeeds."""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from qdrant_client import models

from tests.e2e.backup_helpers import example, run_named, wait_schedule
from tests.e2e.canary_env import Operator, start_operatorless_sandbox
from tests.e2e.conftest import Sandbox, collection_manifest, stop_sandbox
from tests.e2e.waits import wait_until
from tests.plugins.s3_fault_proxy import S3FaultProxy
from tests.plugins.s3_server import S3Server, running_s3

BUCKET = "qdrant-backups"
PREFIX = "faults/nightly/"


@dataclass
class World:
    sandbox: Sandbox
    operator: Operator
    s3: S3Server
    proxy: S3FaultProxy


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("backup-faults")
    with running_s3(BUCKET) as s3:
        proxy = S3FaultProxy(s3.url).start()
        sandbox = start_operatorless_sandbox(tmp)
        operator = Operator(sandbox, Path(tmp / "operator.log")).start()
        try:
            yield World(sandbox, operator, s3, proxy)
        finally:
            operator.stop()
            stop_sandbox(sandbox)
            proxy.stop()


def backup_now(sandbox: Sandbox, value: str) -> dict[str, Any]:
    sandbox.kubectl("annotate", "--overwrite", "backupschedule/nightly", f"qco.dev/backup-now={value}")
    return wait_schedule(sandbox, "nightly", lambda o: o.get("status", {}).get("backupNow") == value)


@pytest.fixture(scope="module")
def schedule(world: World) -> str:
    sandbox = world.sandbox
    sandbox.apply(collection_manifest("docs", {"vectors": {"": {"size": 4, "distance": "Cosine"}}}))
    sandbox.wait_ready("docs")
    sandbox.qdrant().upsert(
        "docs", [models.PointStruct(id=i, vector=[1.0, i, 0.5, 0.25]) for i in range(20)], wait=True
    )
    secret, nightly = copy.deepcopy(example("nightly-s3.yaml"))
    nightly["spec"]["destination"]["s3"].update(
        endpoint=world.proxy.url, prefix="faults", region="us-east-1", forcePathStyle=True
    )
    nightly["spec"].update(schedule="0 0 1 1 *", verify=False)
    sandbox.apply(secret)
    sandbox.apply(nightly)
    return "nightly"


def test_the_operator_killed_mid_upload(world: World, schedule: str) -> None:
    sandbox, s3 = world.sandbox, world.s3
    world.proxy.hold("PUT", "partNumber=", seconds=15, calls=1)
    sandbox.kubectl("annotate", "--overwrite", "backupschedule/nightly", "qco.dev/backup-now=kill")
    obj = wait_schedule(
        sandbox, schedule, lambda o: (run_named(o, lambda r: True) or {}).get("phase") == "Uploading"
    )
    interrupted = run_named(obj, lambda r: True)
    assert interrupted is not None and obj["status"]["active"] == [interrupted["name"]]
    wait_until(  # the multipart upload has started; its part is held
        lambda: s3.open_uploads(BUCKET), lambda keys: len(keys) > 0, 30, what=f"an open upload in {BUCKET}"
    )
    world.operator.kill()
    assert s3.open_uploads(BUCKET) == [f"{PREFIX}{interrupted['name']}/docs.snapshot"]

    world.operator.start()
    obj = wait_schedule(sandbox, schedule, lambda o: o.get("status", {}).get("backupNow") == "kill")
    failed = run_named(obj, lambda r: r["name"] == interrupted["name"])
    assert failed is not None and failed["phase"] == "Failed", failed
    assert failed["message"].startswith("interrupted")
    # The request it served ran again, and succeeded.
    again = run_named(obj, lambda r: r["trigger"] == "Manual")
    assert again is not None and again["name"] != interrupted["name"]
    assert again["phase"] == "Succeeded", again
    entry = again["collections"][0]
    body = s3.client().get_object(Bucket=BUCKET, Key=entry["key"])["Body"].read()
    assert hashlib.sha256(body).hexdigest() == entry["sha256"]
    assert obj["status"].get("active") is None
    assert s3.keys(BUCKET, f"{PREFIX}{interrupted['name']}/") == []
    assert s3.open_uploads(BUCKET) == []
    reasons = [e["reason"] for e in sandbox.events(schedule)]
    assert reasons.count("BackupInterrupted") == 1


def test_s3_500s_mid_upload_fail_the_run_and_the_next_run_succeeds(world: World, schedule: str) -> None:
    sandbox, s3 = world.sandbox, world.s3
    world.proxy.fail("PUT", "partNumber=", calls=1000)
    obj = backup_now(sandbox, "s3-down")
    failed = run_named(obj, lambda r: r["trigger"] == "Manual")
    assert failed is not None and failed["phase"] == "Failed", failed
    assert "InternalError" in failed["collections"][0]["error"]
    assert "key" not in failed["collections"][0]
    assert s3.keys(BUCKET, f"{PREFIX}{failed['name']}/") == [f"{PREFIX}{failed['name']}/manifest.json"]
    assert s3.open_uploads(BUCKET) == []
    ready = next(c for c in obj["status"]["conditions"] if c["type"] == "Ready")
    assert (ready["status"], ready["reason"]) == ("False", "BackupFailed")

    world.proxy.clear()
    obj = backup_now(sandbox, "s3-back")
    good = run_named(obj, lambda r: r["trigger"] == "Manual")
    assert good is not None and good["phase"] == "Succeeded", good
    assert s3.keys(BUCKET, f"{PREFIX}{good['name']}/") == [
        f"{PREFIX}{good['name']}/docs.snapshot",
        f"{PREFIX}{good['name']}/manifest.json",
    ]
    assert s3.open_uploads(BUCKET) == []
