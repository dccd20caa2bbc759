"""Collection snapshots: GNU tar of the shard's live files plus the side file.

Edge has no snapshot-create call; the archive holds `edge_config.json`, `wal/`, the live
segments and our `meta.json`, which `EdgeShard.unpack_snapshot` restores. A restore goes
into a fresh directory that is swapped in only once it loads.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import shutil
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit

import httpx
import qdrant_edge as qe
from qdrant_client.http import models

from qco.sandbox.qdrant.collection import META_FILE, SHARD_DIR, Collection
from qco.sandbox.qdrant.errors import ApiError, bad_request, not_found
from qco.sandbox.qdrant.registry import Registry

SUFFIX = ".snapshot"
CHECKSUM_SUFFIX = ".checksum"


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _describe(path: Path) -> models.SnapshotDescription:
    checksum_file = path.with_name(path.name + CHECKSUM_SUFFIX)
    stat = path.stat()
    return models.SnapshotDescription(
        name=path.name,
        creation_time=datetime.fromtimestamp(stat.st_mtime, UTC).strftime("%Y-%m-%dT%H:%M:%S"),
        size=stat.st_size,
        checksum=checksum_file.read_text().strip() if checksum_file.exists() else None,
    )


def snapshot_dir(registry: Registry, collection: str) -> Path:
    """Where a collection's snapshots live."""
    return registry.snapshots_dir / collection


async def create_snapshot(registry: Registry, collection: Collection) -> models.SnapshotDescription:
    """Flush, then tar the live files; writes wait while the archive is made."""
    target_dir = snapshot_dir(registry, collection.name)
    target_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y-%m-%d-%H-%M-%S")
    name = f"{collection.name}-{secrets.randbelow(10**12)}-{stamp}{SUFFIX}"
    tmp = target_dir / (name + ".part")
    async with collection.lock:
        collection.shard.flush()
        segments = [f"segments/{seg}" for seg in collection.live_segments()]
        process = await asyncio.create_subprocess_exec(
            "tar",
            "--sparse",
            "-cf",
            str(tmp),
            "-C",
            str(collection.shard_dir),
            "edge_config.json",
            "wal",
            *segments,
            "-C",
            str(collection.root),
            META_FILE,
        )
        if await process.wait() != 0:
            tmp.unlink(missing_ok=True)
            raise ApiError(500, "Service internal error: creating the snapshot archive failed")
    checksum = await asyncio.to_thread(sha256_file, tmp)
    final = target_dir / name
    tmp.rename(final)
    final.with_name(name + CHECKSUM_SUFFIX).write_text(checksum)
    return _describe(final)


def list_snapshots(registry: Registry, collection: str) -> list[models.SnapshotDescription]:
    """Snapshots of a collection, oldest first."""
    directory = snapshot_dir(registry, collection)
    if not directory.exists():
        return []
    paths = sorted(directory.glob("*" + SUFFIX), key=lambda p: p.stat().st_mtime)
    return [_describe(p) for p in paths]


def snapshot_path(registry: Registry, collection: str, name: str) -> Path:
    """Path of a named snapshot, or 404 (names with path separators are refused)."""
    path = snapshot_dir(registry, collection) / name
    if "/" in name or not name.endswith(SUFFIX) or not path.exists():
        raise not_found(f"Snapshot {name} not found")
    return path


def delete_snapshot(registry: Registry, collection: str, name: str) -> None:
    """Delete a snapshot and its checksum file."""
    path = snapshot_path(registry, collection, name)
    path.unlink()
    path.with_name(name + CHECKSUM_SUFFIX).unlink(missing_ok=True)


def _local_location(location: str, snapshots_root: Path) -> Path:
    """A `file://` location as a path inside the snapshot directory, with Qdrant's errors."""
    url = urlsplit(location)
    path = Path(unquote(url.path))
    if url.netloc not in ("", "localhost") or not path.is_absolute():
        raise ApiError(400, "Bad request: Invalid snapshot URI, file path must be absolute or on localhost")
    if not path.exists():
        raise ApiError(400, f'Bad request: Snapshot file "{path}" does not exist')
    resolved = path.resolve()
    # Qdrant refuses arbitrary files of its host: only its own snapshot directory is readable.
    if not resolved.is_relative_to(snapshots_root.resolve()):
        raise ApiError(403, f'Forbidden: Snapshot file "{resolved}" must be inside snapshots dir')
    return resolved


async def _download(location: str, into: Path, api_key: str | None) -> None:
    headers = {"api-key": api_key} if api_key else {}
    try:
        async with (
            httpx.AsyncClient(timeout=60, headers=headers) as client,
            client.stream("GET", location) as response,
        ):
            if not response.is_success:
                raise bad_request(
                    f"Failed to download snapshot from {location}: status - "
                    f"{response.status_code} {response.reason_phrase}"
                )
            with into.open("wb") as handle:
                async for chunk in response.aiter_bytes():
                    handle.write(chunk)
    except httpx.HTTPError as exc:
        raise bad_request(f"Failed to download snapshot from {location}: {exc}") from exc


async def fetch_location(location: str, into: Path, snapshots_root: Path, api_key: str | None = None) -> Path:
    """The local archive of a snapshot location: a `file://` path, or an `http(s)://` download."""
    scheme = urlsplit(location).scheme
    if scheme == "file":
        return _local_location(location, snapshots_root)
    if scheme not in ("http", "https"):
        raise ApiError(400, f"Bad request: URL {location} with scheme {scheme} is not supported")
    await _download(location, into, api_key)
    return into


async def recover(registry: Registry, name: str, archive: Path, checksum: str | None) -> None:
    """Restore collection `name` from a local archive: check, unpack fresh, load, then swap in."""
    if checksum is not None:
        actual = await asyncio.to_thread(sha256_file, archive)
        if actual != checksum.lower():
            raise ApiError(400, f"Bad request: Snapshot checksum mismatch: expected {checksum}, got {actual}")
    staging = registry.collections_dir / f".restore-{name}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        await asyncio.to_thread(qe.EdgeShard.unpack_snapshot, str(archive), str(staging / SHARD_DIR))
        meta = staging / SHARD_DIR / META_FILE
        if not meta.exists():
            raise bad_request("Snapshot was not made by this sandbox (no meta.json)")
        meta.rename(staging / META_FILE)
        qe.EdgeShard.load(str(staging / SHARD_DIR)).close()  # it must load before it replaces anything
    except ApiError:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    except Exception as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise bad_request(f"Invalid snapshot: {exc}") from exc
    final = registry.collections_dir / name
    existing = registry.collections.pop(name, None)
    if existing is not None:
        await existing.close()
    trash = registry.collections_dir / f".trash-{name}"
    shutil.rmtree(trash, ignore_errors=True)
    if final.exists():
        final.rename(trash)
    staging.rename(final)
    shutil.rmtree(trash, ignore_errors=True)
    collection = Collection(name, final, registry._paused)
    collection.open()
    registry.collections[name] = collection
