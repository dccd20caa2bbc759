"""Snapshot endpoints: create, list, download, delete, recover from a location or an upload."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from aiohttp import BodyPartReader, web
from qdrant_client.http import models

from qco.sandbox.qdrant import snapshots
from qco.sandbox.qdrant.errors import bad_request, collection_not_found, ok
from qco.sandbox.qdrant.http_util import parse_body, registry
from qco.sandbox.qdrant.routes_collections import C


def _name(request: web.Request) -> str:
    return request.match_info["collection_name"]


def _existing(request: web.Request) -> str:
    name = _name(request)
    if not registry(request).exists(name):
        raise collection_not_found(name)
    return name


def _priority(value: str | None) -> None:
    if value is not None:
        try:
            models.SnapshotPriority(value)
        except ValueError as exc:
            raise bad_request(f"unknown snapshot priority `{value}`") from exc


async def create_snapshot(request: web.Request) -> web.Response:
    started = time.perf_counter()
    collection = registry(request).resolve(_existing(request))
    return ok(await snapshots.create_snapshot(registry(request), collection), started)


async def list_snapshots(request: web.Request) -> web.Response:
    started = time.perf_counter()
    return ok(snapshots.list_snapshots(registry(request), _existing(request)), started)


async def download_snapshot(request: web.Request) -> web.FileResponse:
    path = snapshots.snapshot_path(registry(request), _existing(request), request.match_info["snapshot_name"])
    return web.FileResponse(path, headers={"Content-Type": "application/octet-stream"})


async def delete_snapshot(request: web.Request) -> web.Response:
    started = time.perf_counter()
    snapshots.delete_snapshot(registry(request), _existing(request), request.match_info["snapshot_name"])
    return ok(True, started)


async def recover_from_location(request: web.Request) -> web.Response:
    started = time.perf_counter()
    body = await parse_body(request, models.SnapshotRecover)
    with tempfile.TemporaryDirectory(dir=registry(request).data_dir) as tmp:
        archive = Path(tmp) / "download.snapshot"
        await snapshots.fetch_location(body.location, archive)
        await snapshots.recover(registry(request), _name(request), archive, body.checksum)
    return ok(True, started)


async def recover_from_upload(request: web.Request) -> web.Response:
    started = time.perf_counter()
    _priority(request.query.get("priority"))
    reader = await request.multipart()
    with tempfile.TemporaryDirectory(dir=registry(request).data_dir) as tmp:
        archive = Path(tmp) / "upload.snapshot"
        received = False
        while (part := await reader.next()) is not None:
            if isinstance(part, BodyPartReader) and part.name == "snapshot":
                with archive.open("wb") as handle:
                    while chunk := await part.read_chunk():
                        handle.write(chunk)
                received = True
        if not received:
            raise bad_request("multipart field `snapshot` is missing")
        await snapshots.recover(registry(request), _name(request), archive, request.query.get("checksum"))
    return ok(True, started)


def add_routes(app: web.Application) -> None:
    """Register the snapshot routes (fixed paths before `{snapshot_name}`)."""
    r = app.router
    r.add_put(C + "/snapshots/recover", recover_from_location)
    r.add_post(C + "/snapshots/upload", recover_from_upload)
    r.add_post(C + "/snapshots", create_snapshot)
    r.add_get(C + "/snapshots", list_snapshots)
    r.add_get(C + "/snapshots/{snapshot_name}", download_snapshot)
    r.add_delete(C + "/snapshots/{snapshot_name}", delete_snapshot)
