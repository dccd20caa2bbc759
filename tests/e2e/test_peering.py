"""High availability: two operators with kopf peering; exactly one reconciles."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.e2e.conftest import ROOT
from tests.e2e.waits import count, metrics_base, scrape, wait_until
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
        "QCO_LOG_LEVEL": "DEBUG",  # kopf's keep-alive and watch-stream pause/resume lines
        "POD_ID": log.stem,  # kopf's peer identity, as the chart sets it: ties a peer to its log
    }
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "qco", "run"], stderr=out, stdout=out, env=env, cwd=ROOT
        )


def _peering_state(kube: KubeEmulatorHandle, logs: list[Path]) -> tuple[dict[str, int], dict[str, bool]]:
    """Each peer's priority in the peering object, and whether each replica's collection watch runs."""
    peering = json.loads(kube.kubectl("get", "clusterkopfpeering", "qco", "-o", "json").stdout)
    priorities = {peer: int(info["priority"]) for peer, info in (peering.get("status") or {}).items()}
    return priorities, {log.stem: _watching(log) for log in logs}


def _watching(log: Path) -> bool:
    """Whether the replica's QdrantCollection watch-stream runs: kopf logs each pause and resume."""
    watching = False
    for line in log.read_text().splitlines():
        if "Resuming the watch-stream for qdrantcollections" in line:
            watching = True
        elif "Pausing the watch-stream for qdrantcollections" in line:
            watching = False
    return watching


def _one_runs(state: tuple[dict[str, int], dict[str, bool]]) -> bool:
    """Both peers are known and only the one with the highest priority watches collections."""
    priorities, watching = state
    if set(priorities) != set(watching):
        return False
    highest = max(priorities, key=lambda peer: priorities[peer])
    return all(running == (peer == highest) for peer, running in watching.items())


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
        # Both replicas start paused (peering is mandatory); wait until both keep-alives are in the
        # peering object and each replica has acted on the other's: only the highest priority runs.
        wait_until(
            lambda: _peering_state(kube_emulator, logs),
            _one_runs,
            what="both peers in the peering object and only the highest-priority one watching",
        )
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
