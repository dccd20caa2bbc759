"""High availability: two operators with kopf peering; exactly one reconciles."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from tests.e2e.conftest import ROOT
from tests.e2e.waits import count, metrics_base, scrape
from tests.plugins.kube_emulator import KubeEmulatorHandle
from tests.plugins.qdrant_server import QdrantServerProcess

PEERING = """
apiVersion: kopf.dev/v1
kind: ClusterKopfPeering
metadata:
  name: qco
"""
COLLECTION = """
apiVersion: qco.dev/v1alpha1
kind: QdrantCollection
metadata:
  name: ha
  namespace: default
spec:
  vectors:
    "":
      size: 4
      distance: Dot
"""


def _start_operator(
    kube: KubeEmulatorHandle, qdrant: QdrantServerProcess, log: Path
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "KUBECONFIG": str(kube.kubeconfig),
        "QCO_QDRANT_URL": qdrant.url,
        "QCO_PEERING_NAME": "qco",
        "QCO_METRICS_PORT": "0",
        "QCO_METRICS_HOST": "127.0.0.1",
        "QCO_HEALTH_PORT": "0",  # two replicas on one host: no fixed liveness port to fight over
        "QCO_LOG_LEVEL": "DEBUG",
    }
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "qco", "run"], stderr=out, stdout=out, env=env, cwd=ROOT
        )


def _reconciles(log: Path) -> float:
    samples = scrape(metrics_base(log.read_text()))
    return count(samples, "qco_reconciles_total", kind="QdrantCollection", result="ok")


def test_two_replicas_one_reconciles(
    kube_emulator: KubeEmulatorHandle, qdrant_server: QdrantServerProcess, tmp_path: Path
) -> None:
    kube_emulator.apply_crds([ROOT / "crds", ROOT / "charts" / "qco" / "crds" / "kopf-peering.yaml"])
    kube_emulator.kubectl("apply", "-f", "-", input=PEERING)
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    operators = [_start_operator(kube_emulator, qdrant_server, log) for log in logs]
    try:
        # A replica that meets a higher-priority peer at start stays paused silently; one that
        # sees a peer arrive logs the pause. Either way, wait until both keep-alives are written
        # (a DEBUG line), then give the watch events a moment to reach both.
        deadline = time.monotonic() + 60
        while not all("Keep-alive in 'qco'" in log.read_text() for log in logs):
            assert time.monotonic() < deadline, "\n".join(log.read_text() for log in logs)
            time.sleep(0.3)
        time.sleep(1)
        kube_emulator.kubectl("apply", "-f", "-", input=COLLECTION)
        kube_emulator.kubectl("wait", "--for=condition=Ready", "qc/ha", "--timeout=60s")
        counts = sorted(_reconciles(log) for log in logs)
        assert counts[0] == 0, counts
        assert counts[1] >= 1, counts
        assert not any("Pausing all operators, including self" in log.read_text() for log in logs)
    finally:
        for operator in operators:
            operator.terminate()
        for operator in operators:
            operator.wait(30)
