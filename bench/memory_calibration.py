"""Calibrate qco's memory estimate (qco.plan.memory) against the real engine in the sandbox.

For each configuration (float32, int8, binary, on_disk originals) a fresh Qdrant stand-in
(qdrant-edge, Qdrant's own engine) gets N known points, indexes them (HNSW built by the
optimizer), answers warm-up searches; then we measure:
- disk: bytes of the collection's files under the data directory (`du`-style, apparent size);
- RAM: the server's resident memory (VmRSS) after minus before the collection existed.
and print them next to the estimate, with the relative error (target: within 25 %).

Run: `python bench/memory_calibration.py [--points 30000] [--dim 256]`. docs/memory.md records a run.
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from qdrant_client import QdrantClient, models

from qco.api.collection_config import CollectionConfig
from qco.plan.memory import estimate_memory, format_bytes

NAME = "calib"
CONFIGS: dict[str, dict[str, Any]] = {
    "float32": {},
    "int8": {"quantization": {"scalar": {"type": "int8", "alwaysRam": True}}},
    "binary": {"quantization": {"binary": {"alwaysRam": True}}},
    "on_disk": {"onDisk": True},
}


def tree_bytes(path: Path) -> int:
    """Allocated bytes (st_blocks, so preallocated sparse chunks count as used only where written) of
    every file under `path` except the WAL (a fixed size per shard, not per point: docs/memory.md)."""
    return sum(p.stat().st_blocks * 512 for p in path.rglob("*") if p.is_file() and "wal" not in p.parts)


# Runs in a fresh interpreter: the engine's own memory for the persisted shard, without the
# server's Python heap (JSON parsing of upserts). Prints the RSS growth from loading the shard
# and answering searches.
_ENGINE_PROBE = """
import sys, numpy as np, qdrant_edge as qe
def rss():
    for line in open('/proc/self/status'):
        if line.startswith('VmRSS:'):
            return int(line.split()[1]) * 1024
base = rss()
shard = qe.EdgeShard.load(sys.argv[1])
rng = np.random.default_rng(1)
for q in rng.standard_normal((200, int(sys.argv[2]))).astype(np.float32):
    shard.query(qe.QueryRequest(limit=10, query=qe.Query.Nearest(q.tolist())))
print(rss() - base)
"""


def engine_rss(shard_dir: Path, dim: int) -> int:
    """RSS growth of a fresh process that loads the shard and searches it."""
    out = subprocess.run(
        [sys.executable, "-c", _ENGINE_PROBE, str(shard_dir), str(dim)],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(out.stdout.strip())


def wait_green(client: QdrantClient, timeout: float = 600) -> models.CollectionInfo:
    """Poll until the optimizer finished (green)."""
    deadline = time.monotonic() + timeout
    while True:
        info = client.get_collection(NAME)
        if info.status == models.CollectionStatus.GREEN or time.monotonic() > deadline:
            return info
        time.sleep(0.5)


def measure(label: str, extra: dict[str, Any], points: int, dim: int, payload_bytes: int) -> dict[str, Any]:
    """One configuration on a fresh server: (estimate, measurement)."""
    vector = {"size": dim, "distance": "Cosine", **({"onDisk": True} if extra.get("onDisk") else {})}
    raw_config = {"vectors": {"": vector}, **{k: v for k, v in extra.items() if k != "onDisk"}}
    config = CollectionConfig.model_validate(raw_config)
    with tempfile.TemporaryDirectory() as data:
        process = subprocess.Popen(
            [sys.executable, "-m", "qco.sandbox.qdrant", "--port", "0", "--data", data],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert process.stdout is not None
            url = process.stdout.readline().split("qdrant: ", 1)[1].strip()
            client = QdrantClient(url=url, timeout=120, check_compatibility=False)
            base_disk = tree_bytes(Path(data))
            quant = extra.get("quantization")
            client.create_collection(
                NAME,
                vectors_config=models.VectorParams(
                    size=dim, distance=models.Distance.COSINE, on_disk=bool(extra.get("onDisk"))
                ),
                quantization_config=_quantization(quant),
            )
            rng = np.random.default_rng(7)
            filler = "x" * max(payload_bytes - 12, 0)
            for start in range(0, points, 1000):
                block = rng.standard_normal((min(1000, points - start), dim)).astype(np.float32)
                client.upsert(
                    NAME,
                    points=models.Batch(
                        ids=list(range(start, start + len(block))),
                        vectors=block.tolist(),
                        payloads=[{"p": filler} for _ in range(len(block))],
                    ),
                    wait=True,
                )
            info = wait_green(client)
            disk = tree_bytes(Path(data)) - base_disk
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(60)
        rss = engine_rss(Path(data) / "collections" / NAME / "shard", dim)
    est = estimate_memory(config, points, payload_bytes)
    return {
        "label": label,
        "indexed": info.indexed_vectors_count,
        "ram_est": est.total.ram,
        "ram": rss,
        "disk_est": est.total.disk,
        "disk": disk,
    }


def _quantization(raw: dict[str, Any] | None) -> models.QuantizationConfig | None:
    if raw is None:
        return None
    if "scalar" in raw:
        return models.ScalarQuantization(
            scalar=models.ScalarQuantizationConfig(type=models.ScalarType.INT8, always_ram=True)
        )
    return models.BinaryQuantization(binary=models.BinaryQuantizationConfig(always_ram=True))


def main() -> int:
    """Measure every configuration and print a table with the errors."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--points", type=int, default=30000)
    parser.add_argument("--dim", type=int, default=256)
    parser.add_argument("--payload-bytes", type=int, default=32)
    args = parser.parse_args()
    print(f"{args.points} points x {args.dim} dims, payload ~{args.payload_bytes} B")
    print("config   | indexed | RAM est   | RAM meas  | err    | disk est  | disk meas | err")
    worst = 0.0
    for label, extra in CONFIGS.items():
        r = measure(label, extra, args.points, args.dim, args.payload_bytes)
        ram_err = (r["ram_est"] - r["ram"]) / r["ram"] if r["ram"] > 0 else float("nan")
        disk_err = (r["disk_est"] - r["disk"]) / r["disk"]
        worst = max(worst, abs(disk_err), abs(ram_err))
        print(
            f"{label:8} | {r['indexed']:7} | {format_bytes(r['ram_est']):9} | {format_bytes(r['ram']):9} |"
            f" {ram_err:+.0%} | {format_bytes(r['disk_est']):9} | {format_bytes(r['disk']):9} |"
            f" {disk_err:+.0%}"
        )
    print(f"worst error: {worst:.0%} (target 25 %)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
