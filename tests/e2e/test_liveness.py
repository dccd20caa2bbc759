"""Liveness that means something: `qco run`'s /healthz answers 200 while the watch delivers changes,
and 500 when the watch is dead (the API still lists) or when the API cannot be listed.

The operator runs as its own process (as in a pod) and reaches the Kubernetes emulator through a
proxy that can break the watch or the whole API; the test changes objects directly on the emulator.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.e2e.api_proxy import ApiProxy
from tests.plugins.kube_emulator import KubeEmulatorHandle
from tests.plugins.qdrant_server import QdrantServerProcess

ROOT = Path(__file__).resolve().parents[2]
GRACE_SECONDS = "2"
MANIFEST = """
apiVersion: qco.dev/v1alpha1
kind: QdrantCollection
metadata: {name: NAME, namespace: default}
spec:
  vectors: {"": {size: 4, distance: Cosine}}
  hnsw: {m: M}
"""


@dataclass
class Operator:
    """`qco run` behind the proxy, and where its probe answers."""

    process: subprocess.Popen[bytes]
    healthz: str
    log: Path
    proxy: ApiProxy

    def probe(self) -> int | None:
        """The status code of /healthz, or None while it does not answer."""
        if self.process.poll() is not None:
            raise AssertionError(f"qco run exited with {self.process.returncode}:\n{self.log.read_text()}")
        try:
            return httpx.get(self.healthz, timeout=30).status_code
        except httpx.TransportError:
            return None

    def probe_lists(self) -> int:
        """How many times the probe listed QdrantCollections (the kubernetes client's LISTs)."""
        return sum(
            1
            for r in self.proxy.requests()
            if r.method == "GET" and r.path.endswith("/qdrantcollections") and not r.watch
        )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def operator(
    kube_emulator: KubeEmulatorHandle, qdrant_server: QdrantServerProcess, tmp_path: Path
) -> Iterator[Operator]:
    kube_emulator.apply_crds([ROOT / "crds"])
    proxy = ApiProxy(kube_emulator.url)
    proxy.start()
    kubeconfig = proxy.write_kubeconfig(kube_emulator.kubeconfig, tmp_path / "kubeconfig-via-proxy")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QCO_", "KUBECONFIG"))}
    env |= {
        "KUBECONFIG": str(kubeconfig),
        "QCO_QDRANT_URL": qdrant_server.url,
        "QCO_NAMESPACES": "default",
        "QCO_METRICS_HOST": "127.0.0.1",
        "QCO_METRICS_PORT": "0",
        "QCO_HEALTH_PORT": str(port),
        "QCO_LIVENESS_GRACE_SECONDS": GRACE_SECONDS,
    }
    log = tmp_path / "operator.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "qco", "run"], env=env, stdout=sink, stderr=subprocess.STDOUT, cwd=tmp_path
        )
    try:
        yield Operator(process, f"http://127.0.0.1:{port}/healthz", log, proxy)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        proxy.stop()


def _apply(kube: KubeEmulatorHandle, name: str, m: int) -> None:
    kube.kubectl("apply", "-f", "-", input=MANIFEST.replace("NAME", name).replace("M", str(m)))


def _wait_ready(kube: KubeEmulatorHandle, name: str) -> None:
    kube.kubectl("wait", "--for=condition=Ready", f"qc/{name}", "--timeout=90s", timeout=120)
    generation = kube.kubectl("get", "qc", name, "-o", "jsonpath={.metadata.generation}").stdout
    deadline = time.monotonic() + 90
    while True:
        observed = kube.kubectl("get", "qc", name, "-o", "jsonpath={.status.observedGeneration}").stdout
        if observed == generation:
            return
        assert time.monotonic() < deadline, f"{name}: observedGeneration {observed} != {generation}"
        time.sleep(0.2)


def _wait_for_probe(operator: Operator, want: int, timeout: float = 120) -> list[int | None]:
    """Poll /healthz until it answers `want`; every answer seen, in order."""
    answers: list[int | None] = []
    deadline = time.monotonic() + timeout
    while not answers or answers[-1] != want:
        assert time.monotonic() < deadline, (
            f"/healthz never answered {want}: {answers[-10:]}\n" + (operator.log.read_text()[-3000:])
        )
        answers.append(operator.probe())
        if answers[-1] != want:
            time.sleep(0.3)
    return answers


def _healthy_across_fresh_probes(operator: Operator, runs: int = 2, timeout: float = 120) -> None:
    """/healthz answers 200 on every call until the probe has listed the API `runs` more times
    (kopf caches a successful probe for a while: fresh runs are what show the watch keeps up)."""
    target = operator.probe_lists() + runs
    deadline = time.monotonic() + timeout
    while operator.probe_lists() < target:
        assert time.monotonic() < deadline, "the probe did not run again"
        assert operator.probe() == 200, operator.log.read_text()[-3000:]
        time.sleep(0.3)
    assert operator.probe() == 200


def test_healthz_fails_when_the_watch_is_dead(kube_emulator: KubeEmulatorHandle, operator: Operator) -> None:
    assert _wait_for_probe(operator, 200)[-1] == 200
    _apply(kube_emulator, "alive", 16)
    _wait_ready(kube_emulator, "alive")
    _apply(kube_emulator, "alive", 20)  # an update, delivered by the watch
    _wait_ready(kube_emulator, "alive")
    _healthy_across_fresh_probes(operator)

    # The watch goes silent while LIST still works; a change is made behind the operator's back.
    operator.proxy.mode = "hold_watches"
    kube_emulator.kubectl("annotate", "qc", "alive", "example.com/touched=yes")
    answers = _wait_for_probe(operator, 500)
    assert set(answers) <= {200, 500}
    assert operator.probe() == 500
    # The watch, not the API: the probe listed fine and named the change it never received.
    log = operator.log.read_text()
    assert "watch stream is dead: QdrantCollection default/alive" in log
    assert "cannot list" not in log


def test_healthz_fails_when_the_api_cannot_be_listed(
    kube_emulator: KubeEmulatorHandle, operator: Operator
) -> None:
    _apply(kube_emulator, "listed", 16)
    _wait_ready(kube_emulator, "listed")
    _healthy_across_fresh_probes(operator, runs=1)

    operator.proxy.mode = "refuse"
    answers = _wait_for_probe(operator, 500)
    assert set(answers) <= {200, 500}
    assert operator.probe() == 500
    assert "cannot list qdrantcollections: (503)" in operator.log.read_text()
