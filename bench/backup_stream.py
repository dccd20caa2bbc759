"""Throughput and memory of a backup's snapshot stream (Qdrant -> S3 multipart upload).

Serves one snapshot of SIZE_MB random bytes from a small Qdrant-snapshot-API server (a
subprocess, so its memory is not ours), starts moto's S3 server, then in one process measures:

- bare: the same snapshot downloaded with httpx and multipart-uploaded with boto3, nothing else;
- backup: qco's path (SnapshotClient + S3Store.upload_stream: SHA-256 on the fly, checksum and
  size checks, node snapshot deleted);

and prints MB/s of each, their ratio (target >= 0.8), and this process's RSS before and at its
peak during the backup (flat: the growth stays near two 8 MiB parts, whatever SIZE_MB).

Usage: python bench/backup_stream.py [SIZE_MB]   (default 512)
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.plugins.s3_server import (  # noqa: E402
    ACCESS_KEY,
    REGION,
    SECRET_KEY,
    S3Server,
    free_port,
    start_s3_server,
)

from qco.clients.qdrant import Endpoint  # noqa: E402
from qco.clients.s3 import PART_BYTES, S3Location, S3Store  # noqa: E402
from qco.clients.snapshot_stream import CHUNK_BYTES, SnapshotClient  # noqa: E402

BUCKET = "bench-backups"

SERVER = """
import hashlib, sys
from pathlib import Path
from aiohttp import web
path = Path(sys.argv[1]); checksum = sys.argv[3]
def describe():
    return {"name": "bench.snapshot", "size": path.stat().st_size, "checksum": checksum}
async def create(request): return web.json_response({"result": describe(), "status": "ok"})
async def download(request): return web.FileResponse(path)
async def delete(request): return web.json_response({"result": True, "status": "ok"})
async def count(request): return web.json_response({"result": {"count": 0}, "status": "ok"})
app = web.Application()
app.router.add_post("/collections/{c}/snapshots", create)
app.router.add_get("/collections/{c}/snapshots/{s}", download)
app.router.add_delete("/collections/{c}/snapshots/{s}", delete)
app.router.add_post("/collections/{c}/points/count", count)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[2]), print=None)
"""


def rss_mb() -> float:
    """This process's resident set size, in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class PeakRss:
    """Samples RSS every 50 ms in a thread while active."""

    def __init__(self) -> None:
        self.peak = rss_mb()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            self.peak = max(self.peak, rss_mb())

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


async def bare(url: str, store: S3Store, key: str) -> int:
    """Download + multipart upload with no checks: the baseline."""
    client = store._client
    upload = await asyncio.to_thread(client.create_multipart_upload, Bucket=BUCKET, Key=key)
    parts, buffer, size = [], bytearray(), 0
    async with (
        httpx.AsyncClient(timeout=600) as http,
        http.stream("GET", f"{url}/collections/c/snapshots/bench.snapshot") as response,
    ):
        async for chunk in response.aiter_bytes(CHUNK_BYTES):
            buffer += chunk
            size += len(chunk)
            while len(buffer) >= PART_BYTES:
                body, buffer = bytes(buffer[:PART_BYTES]), buffer[PART_BYTES:]
                answer = await asyncio.to_thread(
                    client.upload_part, Bucket=BUCKET, Key=key, UploadId=upload["UploadId"],
                    PartNumber=len(parts) + 1, Body=body,
                )  # fmt: skip
                parts.append({"ETag": answer["ETag"], "PartNumber": len(parts) + 1})
    if buffer:
        answer = await asyncio.to_thread(
            client.upload_part, Bucket=BUCKET, Key=key, UploadId=upload["UploadId"],
            PartNumber=len(parts) + 1, Body=bytes(buffer),
        )  # fmt: skip
        parts.append({"ETag": answer["ETag"], "PartNumber": len(parts) + 1})
    await asyncio.to_thread(
        client.complete_multipart_upload, Bucket=BUCKET, Key=key, UploadId=upload["UploadId"],
        MultipartUpload={"Parts": parts},
    )  # fmt: skip
    return size


async def backup(url: str, store: S3Store, key: str, checksum: str) -> int:
    """qco's path: create, stream with SHA-256, compare, check the size, delete the node copy."""
    async with SnapshotClient(Endpoint(url)) as qdrant:
        info = await qdrant.create("c")
        async with qdrant.download("c", info.name) as chunks:
            uploaded = await store.upload_stream(key, chunks)
        assert uploaded.sha256 == info.checksum == checksum, "checksum mismatch"
        assert await store.size(key) == uploaded.size
        await qdrant.delete("c", info.name)
    return uploaded.size


async def measure(url: str, s3: S3Server, checksum: str) -> tuple[int, float, float, float, float]:
    """(bytes, bare seconds, backup seconds, RSS before, RSS peak during the backup)."""
    store = S3Store(S3Location(BUCKET, s3.url, REGION, True, ACCESS_KEY, SECRET_KEY))
    await bare(url, store, "warmup")  # first-use costs (imports, connections) out of the way
    started = time.perf_counter()
    size = await bare(url, store, "bare")
    bare_seconds = time.perf_counter() - started
    before = rss_mb()
    with PeakRss() as peak:
        started = time.perf_counter()
        await backup(url, store, "backup", checksum)
        backup_seconds = time.perf_counter() - started
    return size, bare_seconds, backup_seconds, before, peak.peak


def main(size_mb: int) -> None:
    """Set up the snapshot server and S3, measure, print the figures."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.snapshot"
        digest = hashlib.sha256()
        with path.open("wb") as handle:
            for _ in range(size_mb):
                block = os.urandom(1 << 20)
                digest.update(block)
                handle.write(block)
        port = free_port()
        server = subprocess.Popen([sys.executable, "-c", SERVER, str(path), str(port), digest.hexdigest()])
        s3 = start_s3_server()
        try:
            s3.create_bucket(BUCKET)
            url = f"http://127.0.0.1:{port}"
            while True:
                try:
                    httpx.post(f"{url}/collections/c/points/count", timeout=1)
                    break
                except httpx.HTTPError:
                    time.sleep(0.1)
            size, bare_seconds, backup_seconds, before, peak = asyncio.run(
                measure(url, s3, digest.hexdigest())
            )
        finally:
            server.terminate()
            server.wait()
            s3.stop()
    mb = size / (1 << 20)
    print(f"snapshot: {mb:.0f} MB, part {PART_BYTES >> 20} MiB, chunk {CHUNK_BYTES >> 20} MiB")
    print(f"bare download+upload: {mb / bare_seconds:.1f} MB/s ({bare_seconds:.1f} s)")
    print(f"qco backup:           {mb / backup_seconds:.1f} MB/s ({backup_seconds:.1f} s)")
    print(f"ratio backup/bare:    {bare_seconds / backup_seconds:.2f} (target >= 0.8)")
    print(
        f"RSS before backup:    {before:.0f} MB; peak during backup {peak:.0f} MB (+{peak - before:.0f} MB)"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 512)
