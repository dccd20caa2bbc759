"""Timing benchmark for QdrantCollection in `qco sandbox`: how soon drift is corrected, and how soon
qco converges once Qdrant comes back after an outage (the e2e tests only wait for these effects).

Prints, for a collection with `driftInterval: 5s`: seconds from an out-of-band change to the
correction (min / median / max over several changes made at random points of the interval); then,
for each outage length, seconds from Qdrant answering again to Ready on the spec changed during
the outage (qco's backoff for transient failures grows up to 30 s, which bounds this figure).

Usage: python bench/drift_and_recovery.py [SAMPLES] [OUTAGE_SECONDS ...]   (default: 5 5 20)
"""

from __future__ import annotations

import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import yaml
from qdrant_client import QdrantClient, models

ROOT = Path(__file__).resolve().parents[1]
DRIFT_SECONDS = 5
NAME = "bench"
OBJECT = f"/apis/qco.dev/v1alpha1/namespaces/default/qdrantcollections/{NAME}"


def start_sandbox(data: Path) -> tuple[subprocess.Popen[str], str, str]:
    env = {**os.environ, "QCO_LOG_LEVEL": "WARNING"}
    log = (data / "sandbox.log").open("w")
    argv = [sys.executable, "-m", "qco", "sandbox", "--data", str(data), "--qdrant-port", "0"]
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=log, text=True, env=env, cwd=ROOT)
    assert process.stdout is not None
    qdrant = process.stdout.readline().split(": ", 1)[1].strip()
    kubeconfig = process.stdout.readline().split(": ", 1)[1].strip()
    server = yaml.safe_load(Path(kubeconfig).read_text())["clusters"][0]["cluster"]["server"]
    return process, qdrant, server


def poll(read: Callable[[], Any], done: Callable[[Any], bool], limit: float = 180) -> float:
    """Seconds until `done(read())` holds, polling every 50 ms."""
    started = time.monotonic()
    while not done(read()):
        if time.monotonic() - started > limit:
            raise TimeoutError("no convergence within the limit")
        time.sleep(0.05)
    return time.monotonic() - started


def ready_on_current_generation(obj: dict[str, Any]) -> bool:
    status = obj.get("status", {})
    ready = any(c["type"] == "Ready" and c["status"] == "True" for c in status.get("conditions", []))
    return ready and status.get("observedGeneration") == obj["metadata"]["generation"]


def main() -> int:
    samples = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    outages = [float(a) for a in sys.argv[2:]] or [5.0, 20.0]
    with tempfile.TemporaryDirectory(prefix="qco-bench-") as tmp:
        process, qdrant_url, kube = start_sandbox(Path(tmp))
        http = httpx.Client(base_url=kube, timeout=30)
        admin = httpx.Client(base_url=f"{qdrant_url}/_sandbox", timeout=30)
        qdrant = QdrantClient(url=qdrant_url, check_compatibility=False, timeout=30)

        def get() -> dict[str, Any]:
            obj: dict[str, Any] = http.get(OBJECT).json()
            return obj

        def patch_spec(spec: dict[str, Any]) -> None:
            headers = {"Content-Type": "application/merge-patch+json"}
            http.patch(OBJECT, json={"spec": spec}, headers=headers).raise_for_status()

        try:
            spec = {"vectors": {"": {"size": 8, "distance": "Cosine"}}, "hnsw": {"m": 16}}
            body = {"apiVersion": "qco.dev/v1alpha1", "kind": "QdrantCollection", "metadata": {"name": NAME}}
            poll(
                lambda: http.post(OBJECT.rsplit("/", 1)[0], json={**body, "spec": {**spec}}).status_code,
                lambda code: code == 201,  # the CRD is served once the sandbox applied it
            )
            poll(get, ready_on_current_generation)
            patch_spec({"driftInterval": f"{DRIFT_SECONDS}s"})
            poll(get, ready_on_current_generation)

            delays = []
            for i in range(samples):
                time.sleep(random.uniform(0, DRIFT_SECONDS))  # a random point of the interval
                seen = get()["status"].get("driftCorrections", 0)
                qdrant.update_collection(NAME, hnsw_config=models.HnswConfigDiff(m=8 + i))
                delays.append(poll(get, lambda o, s=seen: o["status"].get("driftCorrections", 0) > s))
            print(
                f"drift corrected (interval {DRIFT_SECONDS}s, {samples} changes): "
                f"min {min(delays):.1f}s, median {statistics.median(delays):.1f}s, max {max(delays):.1f}s",
                flush=True,
            )

            for n, outage in enumerate(outages):
                fault = {"route": f"^/collections/{NAME}", "kind": "drop"}
                admin.put("faults", json=fault).raise_for_status()
                patch_spec({"hnsw": {"m": 20 + n}})
                time.sleep(outage)
                retries = admin.get("faults").json()["result"][0]["used"]
                admin.delete("faults").raise_for_status()
                recovered = poll(get, ready_on_current_generation)
                print(
                    f"outage {outage:.0f}s ({retries} dropped calls): "
                    f"Ready {recovered:.1f}s after Qdrant was back",
                    flush=True,
                )
        finally:
            qdrant.close()
            process.send_signal(2)
            process.wait(120)
    return 0


if __name__ == "__main__":
    sys.exit(main())
