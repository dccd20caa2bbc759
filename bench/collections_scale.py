"""Scale benchmark for QdrantCollection: N objects in `qco sandbox`.

Prints, for each N: seconds until all are Ready; the same N collections created by a bare
AsyncQdrantClient on the same sandbox at the operator's concurrency (the floor) and the ratio;
steady-state Qdrant and Kubernetes requests per object per drift interval (from the stand-ins'
`/_sandbox/requests`); operator RSS. Targets (issue 4): 1000 Ready < 60 s and <= 1.3x the floor;
<= 1 Qdrant read and 0 writes per object per drift interval; RSS < 250 MB at 1000.

Usage: python bench/collections_scale.py [N ...]   (default: 100 1000)
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import yaml
from qdrant_client import AsyncQdrantClient, models

ROOT = Path(__file__).resolve().parents[1]
CONCURRENCY = 8  # the operator's default QCO_MAX_CONCURRENCY_PER_ENDPOINT
DRIFT_SECONDS = 20
SPEC: dict[str, Any] = {
    "vectors": {"": {"size": 64, "distance": "Cosine"}},
    "driftInterval": f"{DRIFT_SECONDS}s",
}


def start_sandbox(data: Path) -> tuple[subprocess.Popen[str], str, str]:
    env = {**os.environ, "QCO_MAX_CONCURRENCY_PER_ENDPOINT": str(CONCURRENCY), "QCO_LOG_LEVEL": "WARNING"}
    log = (data / "sandbox.log").open("w")
    argv = [sys.executable, "-m", "qco", "sandbox", "--data", str(data), "--qdrant-port", "0"]
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=log, text=True, env=env, cwd=ROOT)
    assert process.stdout is not None
    qdrant = process.stdout.readline().split(": ", 1)[1].strip()
    kubeconfig = process.stdout.readline().split(": ", 1)[1].strip()
    server = yaml.safe_load(Path(kubeconfig).read_text())["clusters"][0]["cluster"]["server"]
    time.sleep(3)  # the operator logs in and opens its watch
    return process, qdrant, server


def operator_rss_mb(sandbox_pid: int) -> float:
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().split()
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if int(stat[3]) == sandbox_pid and b"run" in cmdline and b"qco" in cmdline:
            for line in (entry / "status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    return float("nan")


async def create_objects(kube: str, names: list[str]) -> None:
    url = f"{kube}/apis/qco.dev/v1alpha1/namespaces/default/qdrantcollections"
    limit = asyncio.Semaphore(32)
    async with httpx.AsyncClient(timeout=60) as http:

        async def create(name: str) -> None:
            body = {
                "apiVersion": "qco.dev/v1alpha1",
                "kind": "QdrantCollection",
                "metadata": {"name": name},
                "spec": SPEC,
            }
            async with limit:
                response = await http.post(url, json=body)
                response.raise_for_status()

        await asyncio.gather(*(create(n) for n in names))


def _is_ready(obj: dict[str, Any]) -> bool:
    conditions = obj.get("status", {}).get("conditions", [])
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


async def wait_all_ready(kube: str, names: list[str], limit_seconds: float = 600) -> None:
    """Follow one watch (as kubectl wait does) rather than re-listing N objects: polling would
    load the emulator on the same 2 cores and inflate the figure being measured."""
    url = f"{kube}/apis/qco.dev/v1alpha1/namespaces/default/qdrantcollections"
    pending = set(names)
    async with httpx.AsyncClient(timeout=limit_seconds) as http:
        listing = (await http.get(url)).json()
        pending -= {o["metadata"]["name"] for o in listing["items"] if _is_ready(o)}
        version = listing["metadata"]["resourceVersion"]
        async with asyncio.timeout(limit_seconds):
            while pending:
                params = {"watch": "true", "resourceVersion": version, "timeoutSeconds": "60"}
                async with http.stream("GET", url, params=params) as response:
                    async for line in response.aiter_lines():
                        if not line:
                            continue
                        event = json.loads(line)
                        obj = event["object"]
                        version = obj["metadata"].get("resourceVersion", version)
                        if _is_ready(obj):
                            pending.discard(obj["metadata"]["name"])
                        if not pending:
                            return


async def bare_client_floor(qdrant: str, n: int, prefix: str) -> float:
    client = AsyncQdrantClient(url=qdrant, check_compatibility=False, timeout=60)
    limit = asyncio.Semaphore(CONCURRENCY)

    async def create(i: int) -> None:
        async with limit:
            await client.create_collection(
                f"{prefix}{i}", vectors_config=models.VectorParams(size=64, distance=models.Distance.COSINE)
            )

    started = time.monotonic()
    await asyncio.gather(*(create(i) for i in range(n)))
    elapsed = time.monotonic() - started
    await client.close()
    return elapsed


def counts(url: str) -> dict[str, int]:
    result: dict[str, int] = httpx.get(f"{url}/_sandbox/requests", timeout=30).json()
    return result.get("result", result)["counts"]  # type: ignore[no-any-return]


def reset(url: str) -> None:
    httpx.delete(f"{url}/_sandbox/requests", timeout=30).raise_for_status()


async def measure(n: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="qco-bench-") as tmp:
        process, qdrant, kube = start_sandbox(Path(tmp))
        try:
            prefix = f"bench{n}-"
            names = [f"{prefix}{i}" for i in range(n)]
            started = time.monotonic()
            await create_objects(kube, names)
            await wait_all_ready(kube, names)
            ready_seconds = time.monotonic() - started

            # Steady state: let the first drift passes settle, then count over two intervals.
            await asyncio.sleep(DRIFT_SECONDS * 1.2)
            reset(qdrant)
            reset(kube)
            await asyncio.sleep(DRIFT_SECONDS * 2)
            q, k = counts(qdrant), counts(kube)
            intervals = 2 * n
            rss = operator_rss_mb(process.pid)
            floor = await bare_client_floor(qdrant, n, f"floor{n}-")
        finally:
            process.send_signal(2)
            process.wait(120)
    q_reads = sum(v for key, v in q.items() if key.startswith("GET "))
    q_writes = sum(v for key, v in q.items() if not key.startswith("GET "))
    k_reads = sum(v for key, v in k.items() if key.startswith("GET ") and " watch " not in key)
    k_writes = sum(v for key, v in k.items() if not key.startswith("GET "))
    return {
        "n": n,
        "ready_seconds": ready_seconds,
        "floor_seconds": floor,
        "ratio": ready_seconds / floor,
        "qdrant_reads_per_object_interval": q_reads / intervals,
        "qdrant_writes_per_object_interval": q_writes / intervals,
        "kube_reads_per_object_interval": k_reads / intervals,
        "kube_writes_per_object_interval": k_writes / intervals,
        "operator_rss_mb": rss,
    }


def main() -> int:
    sizes = [int(a) for a in sys.argv[1:]] or [100, 1000]
    print(
        f"{'N':>5} {'ready s':>8} {'floor s':>8} {'ratio':>6} {'Q rd/obj/int':>12} {'Q wr/obj/int':>12}"
        f" {'K rd/obj/int':>12} {'K wr/obj/int':>12} {'RSS MB':>7}"
    )
    for n in sizes:
        r = asyncio.run(measure(n))
        print(
            f"{n:>5} {r['ready_seconds']:>8.1f} {r['floor_seconds']:>8.1f} {r['ratio']:>6.2f}"
            f" {r['qdrant_reads_per_object_interval']:>12.2f} {r['qdrant_writes_per_object_interval']:>12.2f}"
            f" {r['kube_reads_per_object_interval']:>12.2f} {r['kube_writes_per_object_interval']:>12.2f}"
            f" {r['operator_rss_mb']:>7.0f}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
