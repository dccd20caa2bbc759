"""CollectionDeployment copy benchmark on `qco sandbox` (the operator run as its own process).

For each N: N points written through the alias of an empty first revision; then, on the same
sandbox in the same run, (a) a bare scroll -> upsert loop (qdrant-client, batch 256, one page at
a time, into a collection with indexing off) and (b) a CollectionDeployment rollout to a new
revision (bulk indexing, copyBatchSize 256, copyConcurrency 4). Prints points/s of both, their
ratio (target >= 0.8) and the operator's RSS, sampled during the fill (target: flat within 20 %
between 10k and 200k points).

Usage: python bench/deployment_copy.py [N ...]   (default: 10000 200000)
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml
from qdrant_client import QdrantClient, models

ROOT = Path(__file__).resolve().parents[1]
SIZE = 32
BATCH = 256


def start(data: Path) -> tuple[subprocess.Popen[str], subprocess.Popen[bytes], str, str]:
    """The sandbox without its operator, then `qco run` as a process of ours (for its RSS)."""
    log = (data / "sandbox.log").open("w")
    argv = [
        sys.executable,
        "-m",
        "qco",
        "sandbox",
        "--data",
        str(data),
        "--qdrant-port",
        "0",
        "--no-operator",
    ]
    sandbox = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=log, text=True, cwd=ROOT)
    assert sandbox.stdout is not None
    qdrant = sandbox.stdout.readline().split(": ", 1)[1].strip()
    kubeconfig = sandbox.stdout.readline().split(": ", 1)[1].strip()
    env = {
        **os.environ,
        "KUBECONFIG": kubeconfig,
        "QCO_QDRANT_URL": qdrant,
        "QCO_METRICS_PORT": "0",
        "QCO_HEALTH_PORT": "0",
        "QCO_LOG_LEVEL": "WARNING",
    }
    operator_log = (data / "operator.log").open("wb")
    operator = subprocess.Popen(
        [sys.executable, "-m", "qco", "run"], stdout=operator_log, stderr=operator_log, env=env
    )
    time.sleep(4)  # it logs in and opens its watches
    return sandbox, operator, qdrant, kubeconfig


def kubectl(kubeconfig: str, *args: str, stdin: str | None = None) -> str:
    result = subprocess.run(
        ["kubectl", "--kubeconfig", kubeconfig, *args],
        input=stdin,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


def deploy(kubeconfig: str, name: str, template: dict[str, Any]) -> None:
    manifest = {
        "apiVersion": "qco.dev/v1alpha1",
        "kind": "CollectionDeployment",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"alias": name, "template": template, "copyBatchSize": BATCH, "copyConcurrency": 4},
    }
    kubectl(kubeconfig, "apply", "-f", "-", stdin=yaml.safe_dump(manifest))


def status(kubeconfig: str, name: str) -> dict[str, Any]:
    obj = json.loads(kubectl(kubeconfig, "get", "collectiondeployment", name, "-o", "json"))
    result: dict[str, Any] = obj.get("status") or {}
    if obj["metadata"]["generation"] != result.get("observedGeneration"):
        return {}
    return result


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def bare_copy(client: QdrantClient, source: str, target: str) -> float:
    """Points per second of a plain scroll -> upsert loop."""
    client.create_collection(
        target,
        vectors_config=models.VectorParams(size=SIZE, distance=models.Distance.COSINE),
        optimizers_config=models.OptimizersConfigDiff(indexing_threshold=0),
    )
    started, copied, offset = time.monotonic(), 0, None
    while True:
        records, offset = client.scroll(
            source, limit=BATCH, offset=offset, with_payload=True, with_vectors=True
        )
        points = [models.PointStruct(id=r.id, vector=r.vector, payload=r.payload) for r in records]  # type: ignore[arg-type]
        if points:
            client.upsert(target, points, wait=True)
        copied += len(points)
        if offset is None:
            break
    return copied / (time.monotonic() - started)


def run(n: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="qco-bench-") as tmp:
        sandbox, operator, qdrant, kubeconfig = start(Path(tmp))
        client = QdrantClient(url=qdrant, timeout=120, check_compatibility=False)
        try:
            name = "bench"
            deploy(kubeconfig, name, {"vectors": {"": {"size": SIZE, "distance": "Cosine"}}})
            while status(kubeconfig, name).get("phase") != "Complete":
                time.sleep(0.2)
            rng = random.Random(n)
            for start_id in range(0, n, 1000):
                batch = [
                    models.PointStruct(
                        id=i, vector=[rng.random() for _ in range(SIZE)], payload={"n": i, "text": f"doc {i}"}
                    )
                    for i in range(start_id, min(n, start_id + 1000))
                ]
                client.upsert(name, batch, wait=True)
            source = status(kubeconfig, name)["activeCollection"]
            bare = bare_copy(client, source, "bare_target")

            deploy(
                kubeconfig, name, {"vectors": {"": {"size": SIZE, "distance": "Cosine"}}, "hnsw": {"m": 20}}
            )
            fill_start = fill_end = None
            peak = 0.0
            while True:
                phase = status(kubeconfig, name).get("phase")
                now = time.monotonic()
                if phase == "Filling" and fill_start is None:
                    fill_start = now
                if phase not in (None, "Pending", "Creating", "Filling") and fill_start is not None:
                    fill_end = fill_end or now
                peak = max(peak, rss_mb(operator.pid))
                if phase == "Complete" and fill_end is not None:
                    break
                time.sleep(0.1)
            assert fill_start is not None and fill_end is not None
            copied = status(kubeconfig, name)["progress"]["copied"]
            rate = copied / (fill_end - fill_start)
            return {"points": n, "bare": bare, "operator": rate, "ratio": rate / bare, "rss": peak}
        finally:
            client.close()
            operator.send_signal(signal.SIGINT)
            operator.wait(30)
            sandbox.send_signal(signal.SIGINT)
            sandbox.wait(60)


def main(argv: list[str]) -> None:
    sizes = [int(a) for a in argv] or [10_000, 200_000]
    results = [run(n) for n in sizes]
    print(f"{'points':>8} {'bare pts/s':>11} {'qco pts/s':>10} {'ratio':>6} {'operator RSS MB':>16}")
    for r in results:
        figures = f"{r['bare']:>11.0f} {r['operator']:>10.0f} {r['ratio']:>6.2f} {r['rss']:>16.1f}"
        print(f"{r['points']:>8.0f} {figures}")
    if len(results) > 1:
        growth = results[-1]["rss"] / results[0]["rss"] - 1
        first, last = results[0]["points"], results[-1]["points"]
        print(f"operator RSS growth {first:.0f} -> {last:.0f} points: {growth:+.0%}")


if __name__ == "__main__":
    main(sys.argv[1:])
