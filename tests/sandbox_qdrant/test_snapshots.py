"""Snapshots like Qdrant: 202 for wait=false, locations and their errors, http(s) recovery."""

from __future__ import annotations

import functools
import hashlib
import threading
import time
from collections.abc import Callable, Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from qdrant_client import QdrantClient, models
from qdrant_client.http.exceptions import UnexpectedResponse

from tests.plugins.qdrant_server import QdrantServerProcess


def _small(client: QdrantClient, name: str) -> None:
    client.create_collection(name, vectors_config=models.VectorParams(size=2, distance=models.Distance.DOT))
    client.upsert(name, [models.PointStruct(id=i, vector=[1.0, float(i)]) for i in range(12)], wait=True)


def _eventually(check: Callable[[], bool]) -> bool:
    """Poll a condition of background work (bounded by attempts; asserts values, not time)."""
    for _ in range(200):
        if check():
            return True
        time.sleep(0.05)
    return False


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def file_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A plain HTTP server on loopback serving a fresh directory: (base URL, directory)."""
    root = tmp_path / "served"
    root.mkdir()
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", root
    server.shutdown()
    server.server_close()


def test_wait_false_create_and_delete_answer_202(
    client: QdrantClient, qdrant_server: QdrantServerProcess
) -> None:
    _small(client, "s")
    base = f"{qdrant_server.url}/collections/s/snapshots"
    accepted = httpx.post(base, params={"wait": "false"})
    assert accepted.status_code == 202
    assert accepted.json()["status"] == "accepted"
    assert "result" not in accepted.json()
    assert _eventually(lambda: len(client.list_snapshots("s")) == 1)
    name = client.list_snapshots("s")[0].name
    deleted = httpx.delete(f"{base}/{name}", params={"wait": "false"})
    assert deleted.status_code == 202
    assert _eventually(lambda: client.list_snapshots("s") == [])
    # Through qdrant-client as well.
    assert client.create_snapshot("s", wait=False) is None
    assert _eventually(lambda: len(client.list_snapshots("s")) == 1)


def test_listing_download_and_delete(client: QdrantClient, qdrant_server: QdrantServerProcess) -> None:
    _small(client, "s")
    first = client.create_snapshot("s", wait=True)
    second = client.create_snapshot("s", wait=True)
    assert first is not None and second is not None
    listed = {s.name: s for s in client.list_snapshots("s")}
    assert set(listed) == {first.name, second.name}
    for snapshot in listed.values():
        content = httpx.get(f"{qdrant_server.url}/collections/s/snapshots/{snapshot.name}").content
        assert len(content) == snapshot.size
        assert hashlib.sha256(content).hexdigest() == snapshot.checksum
    assert client.delete_snapshot("s", first.name, wait=True) is True
    assert [s.name for s in client.list_snapshots("s")] == [second.name]
    missing = httpx.get(f"{qdrant_server.url}/collections/s/snapshots/{first.name}")
    assert missing.status_code == 404
    gone = httpx.delete(f"{qdrant_server.url}/collections/s/snapshots/{first.name}")
    assert gone.status_code == 404
    assert httpx.get(f"{qdrant_server.url}/collections/nope/snapshots").status_code == 404
    assert httpx.post(f"{qdrant_server.url}/collections/nope/snapshots").status_code == 404


def test_recover_from_http_with_and_without_checksum(
    client: QdrantClient, qdrant_server: QdrantServerProcess, file_server: tuple[str, Path]
) -> None:
    _small(client, "s")
    snapshot = client.create_snapshot("s", wait=True)
    assert snapshot is not None
    base_url, served = file_server
    content = httpx.get(f"{qdrant_server.url}/collections/s/snapshots/{snapshot.name}").content
    (served / "backup.snapshot").write_bytes(content)
    location = f"{base_url}/backup.snapshot"

    assert client.recover_snapshot(
        "with_checksum",
        location,
        checksum=snapshot.checksum,
        priority=models.SnapshotPriority.SNAPSHOT,
        wait=True,
    )
    assert client.count("with_checksum").count == 12
    assert client.recover_snapshot("without_checksum", location, wait=True)
    assert client.count("without_checksum").count == 12
    assert client.recover_snapshot("replica_priority", location, priority=models.SnapshotPriority.REPLICA)
    assert client.count("replica_priority").count == 12

    with pytest.raises(UnexpectedResponse) as wrong:
        client.recover_snapshot("wrong", location, checksum="0" * 64, wait=True)
    assert wrong.value.status_code == 400
    assert "checksum mismatch" in wrong.value.content.decode()
    assert not client.collection_exists("wrong")

    missing = httpx.put(
        f"{qdrant_server.url}/collections/x/snapshots/recover", json={"location": f"{base_url}/nope.snapshot"}
    )
    assert missing.status_code == 400
    assert f"Failed to download snapshot from {base_url}/nope.snapshot: status - 404" in missing.text


def test_recover_wait_false_answers_202(
    client: QdrantClient, qdrant_server: QdrantServerProcess, file_server: tuple[str, Path]
) -> None:
    _small(client, "s")
    snapshot = client.create_snapshot("s", wait=True)
    assert snapshot is not None
    path = qdrant_server.data_dir / "snapshots" / "s" / snapshot.name
    response = httpx.put(
        f"{qdrant_server.url}/collections/later/snapshots/recover",
        params={"wait": "false"},
        json={"location": f"file://{path}"},
    )
    assert response.status_code == 202
    assert _eventually(lambda: client.collection_exists("later") and client.count("later").count == 12)


@pytest.mark.parametrize(
    ("location", "status", "error"),
    [
        (
            "file://whatever.snapshot",
            400,
            "Bad request: Invalid snapshot URI, file path must be absolute or on localhost",
        ),
        ("file:///whatever.snapshot", 400, 'Bad request: Snapshot file "/whatever.snapshot" does not exist'),
        (
            "file://localhost/whatever.snapshot",
            400,
            'Bad request: Snapshot file "/whatever.snapshot" does not exist',
        ),
        (
            "ftp://host/x.snapshot",
            400,
            "Bad request: URL ftp://host/x.snapshot with scheme ftp is not supported",
        ),
    ],
)
def test_location_errors(qdrant_server: QdrantServerProcess, location: str, status: int, error: str) -> None:
    response = httpx.put(f"{qdrant_server.url}/collections/x/snapshots/recover", json={"location": location})
    assert response.status_code == status
    assert response.json()["status"]["error"] == error


def test_files_outside_the_snapshot_directory_are_forbidden(
    qdrant_server: QdrantServerProcess, tmp_path: Path
) -> None:
    outside = tmp_path / "elsewhere.snapshot"
    outside.write_bytes(b"not a snapshot")
    escaping = qdrant_server.data_dir / "snapshots" / ".." / "collections"
    for path in (outside, escaping):
        response = httpx.put(
            f"{qdrant_server.url}/collections/x/snapshots/recover", json={"location": f"file://{path}"}
        )
        assert response.status_code == 403, response.text
        assert response.json()["status"]["error"].startswith("Forbidden: Snapshot file")
        assert response.json()["status"]["error"].endswith("must be inside snapshots dir")
