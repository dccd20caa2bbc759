"""Kill the operator in every phase of a rollout (SIGKILL, then a new operator process): it resumes,
the alias moves exactly once, no orphan revision or collection is left, and the new revision
holds exactly the source's points (count and a checksum over id and payload)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import ROOT, Sandbox, stop_sandbox
from tests.e2e.deployments import (
    alias_target,
    checksum,
    deployment_manifest,
    get_deployment,
    points,
    wait_complete,
)
from tests.e2e.waits import wait_until

pytestmark = pytest.mark.slow

POINTS = 3000
TEMPLATE = {"vectors": {"": {"size": 8, "distance": "Cosine"}}, "hnsw": {"m": 16}}


class Operator:
    """`qco run` as its own process, killed and restarted by the test."""

    def __init__(self, sandbox: Sandbox, workdir: Path) -> None:
        self.sandbox = sandbox
        self.workdir = workdir
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        log = self.workdir / f"operator-{self.starts}.log"
        env = {
            **os.environ,
            "KUBECONFIG": str(self.sandbox.kubeconfig),
            "QCO_QDRANT_URL": self.sandbox.qdrant_url,
            "QCO_METRICS_PORT": "0",
            "QCO_HEALTH_PORT": "0",
            "QCO_METRICS_HOST": "127.0.0.1",
        }
        with log.open("wb") as handle:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "qco", "run"], stdout=handle, stderr=handle, env=env, cwd=ROOT
            )
        wait_until(log.read_text, lambda text: "Initial authentication has finished" in text, 60, "operator")

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


@pytest.fixture(scope="module")
def bare_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """`qco sandbox --no-operator`: the test runs the operator itself."""
    tmp = tmp_path_factory.mktemp("resume")
    log_path = tmp / "sandbox.log"
    argv = [
        sys.executable,
        "-m",
        "qco",
        "sandbox",
        "--data",
        str(tmp / "data"),
        "--qdrant-port",
        "0",
        "--no-operator",
    ]
    with log_path.open("w") as log:
        process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=log, text=True, cwd=ROOT)
    assert process.stdout is not None
    lines = dict(process.stdout.readline().strip().split(": ", 1) for _ in range(2))
    sandbox = Sandbox(process, lines["qdrant"], Path(lines["kubeconfig"]), log_path)
    try:
        yield sandbox
    finally:
        assert stop_sandbox(sandbox) == 0


class AliasWatch:
    """Every collection the alias pointed at, in order (polled from a thread)."""

    def __init__(self, sandbox: Sandbox, alias: str) -> None:
        self.client = sandbox.qdrant()
        self.alias = alias
        self.seen: list[str | None] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            target = alias_target(self.client, self.alias)
            if not self.seen or self.seen[-1] != target:
                self.seen.append(target)
            time.sleep(0.02)

    def __enter__(self) -> AliasWatch:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(10)


def test_operator_killed_in_every_phase_resumes_with_one_switch(
    bare_sandbox: Sandbox, tmp_path: Path
) -> None:
    sandbox, admin = bare_sandbox, bare_sandbox.admin
    client = sandbox.qdrant()
    operator = Operator(sandbox, tmp_path)
    operator.start()
    try:
        sandbox.apply(deployment_manifest("res", {"alias": "res", "template": TEMPLATE}))
        rev1 = wait_complete(sandbox, "res")["status"]["activeCollection"]
        for start in range(0, POINTS, 500):
            client.upsert("res", points(start, 500, 8), wait=True)
        source = checksum(client, rev1)

        spec = {
            "alias": "res",
            "template": {**TEMPLATE, "shardNumber": 2, "hnsw": {"m": 24}},
            "copyBatchSize": 50,
            "copyConcurrency": 2,
            "validation": {"minPointRatio": 1.0},
        }
        new = r"^/collections/res-[0-9a-f]{8}"
        admin.add_fault(new + "$", "latency", method="PUT", latency_ms=4000, calls=1)  # creating it
        admin.add_fault(new + "/points$", "latency", method="PUT", latency_ms=250)  # every upsert
        with AliasWatch(sandbox, "res") as watch:
            sandbox.apply(deployment_manifest("res", spec))

            def kill_when(what: str, done: Callable[[], bool]) -> None:
                try:
                    wait_until(done, bool, 120, what)
                except AssertionError as exc:
                    raise AssertionError(
                        f"{exc}\nstatus: {get_deployment(sandbox, 'res').get('status')}"
                    ) from None
                operator.kill()
                operator.start()

            phase = lambda: get_deployment(sandbox, "res").get("status", {}).get("phase")  # noqa: E731
            kill_when("Creating", lambda: phase() == "Creating")
            kill_when(
                "Filling with a checkpoint",
                lambda: (
                    (get_deployment(sandbox, "res")["status"].get("progress") or {}).get("checkpoint")
                    is not None
                ),
            )
            admin.pause_optimizers(True)  # indexing cannot finish: the rollout waits in Indexing
            admin.clear_faults()
            kill_when("Indexing", lambda: phase() == "Indexing")
            counted = admin.count("POST", "/collections/{collection_name}/points/count")
            admin.add_fault(new + "/points/count$", "latency", method="POST", latency_ms=3000, calls=2)
            # Armed before the validation starts: the next operator may switch right after it logs in.
            switches = admin.count("POST", "/collections/aliases")
            admin.add_fault("^/collections/aliases$", "latency", method="POST", latency_ms=3000, calls=1)
            admin.pause_optimizers(False)
            kill_when(
                "Validating",
                lambda: admin.count("POST", "/collections/{collection_name}/points/count") > counted,
            )
            kill_when("Switching", lambda: admin.count("POST", "/collections/aliases") > switches)
            final = wait_complete(sandbox, "res", timeout=180)
        rev2 = final["status"]["activeCollection"]
        assert rev2 != rev1
        # Exactly one switch: the alias went from revision 1 to revision 2 and nowhere else.
        assert [target for target in watch.seen if target is not None] == [rev1, rev2], watch.seen
        assert checksum(client, rev2) == source
        assert {c.name for c in client.get_collections().collections} == {rev1, rev2}
        qcs = sandbox.kubectl("get", "qc", "-l", "qco.dev/deployment=res", "-o", "name").stdout.split()
        assert len(qcs) == 2
        assert [r["number"] for r in final["status"]["revisions"]] == [1, 2]
        assert final["status"]["validation"]["passed"] is True
        assert operator.starts == 6
    finally:
        admin.clear_faults()
        admin.pause_optimizers(False)
        operator.stop()
