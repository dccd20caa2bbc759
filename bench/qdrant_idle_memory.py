"""Idle memory of the Qdrant sandbox: RSS of the server process with ten empty collections.

Run: `python bench/qdrant_idle_memory.py` (target: under 200 MB).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

TARGET_MB = 200
COLLECTIONS = 10


def rss_mb(pid: int) -> float:
    """Resident set size of a process in MB, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def main() -> int:
    """Start the server, create ten empty collections, let it settle, print its RSS."""
    with tempfile.TemporaryDirectory() as data:
        process = subprocess.Popen(
            [sys.executable, "-m", "qco.sandbox.qdrant", "--port", "0", "--data", data],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert process.stdout is not None
            url = process.stdout.readline().split("qdrant: ", 1)[1].strip()
            for i in range(COLLECTIONS):
                body = {"vectors": {"size": 384, "distance": "Cosine"}}
                httpx.put(f"{url}/collections/idle-{i}", json=body, timeout=30).raise_for_status()
            time.sleep(2)
            rss = rss_mb(process.pid)
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(30)
    verdict = "OK" if rss < TARGET_MB else "OVER TARGET"
    label = f"qdrant sandbox idle RSS, {COLLECTIONS} empty collections"
    print(f"{label}: {rss:.1f} MB (target < {TARGET_MB} MB) {verdict}")
    return 0 if rss < TARGET_MB else 1


if __name__ == "__main__":
    sys.exit(main())
