"""Snapshot endpoints: create, list, download, delete, recover from a location or an upload.

Like Qdrant, every snapshot operation waits by default; `?wait=false` starts it in the
background and answers 202 (accepted) at once.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import BodyPartReader, web
from qdrant_client.http import models

from qco.sandbox.qdrant import snapshots
from qco.sandbox.qdrant.errors import bad_request, collection_not_found, ok
from qco.sandbox.qdrant.http_util import parse_body, registry
from qco.sandbox.qdrant.routes_collections import C
from qco.sandbox.qdrant.validation import format_error

log = logging.getLogger(__name__)
# Background snapshot work started with ?wait=false; kept referenced until it ends.
_BACKGROUND: set[asyncio.Task[Any]] = set()


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
            raise format_error(
                f"unknown variant `{value}`, expected one of `no_sync`, `snapshot`, `replica`"
            ) from exc


async def _logged(work: Awaitable[Any], what: str) -> None:
    try:
        await work
    except Exception:
        log.exception("background snapshot %s failed", what)


async def _answer(request: web.Request, work: Callable[[], Awaitable[Any]], what: str) -> web.Response:
    """Run `work` now (`wait=true`, the default) or in the background with 202 (`wait=false`)."""
    started = time.perf_counter()
    if request.query.get("wait", "true").lower() == "false":
        task = asyncio.get_running_loop().create_task(_logged(work(), what))
        _BACKGROUND.add(task)
        task.add_done_callback(_BACKGROUND.discard)
        body = {"status": "accepted", "time": time.perf_counter() - started}
        return web.json_response(body, status=202)
    return ok(await work(), started)


async def create_snapshot(request: web.Request) -> web.Response:
    collection = registry(request).resolve(_existing(request))
    return await _answer(request, lambda: snapshots.create_snapshot(registry(request), collection), "create")


async def list_snapshots(request: web.Request) -> web.Response:
    started = time.perf_counter()
    return ok(snapshots.list_snapshots(registry(request), _existing(request)), started)


async def download_snapshot(request: web.Request) -> web.FileResponse:
    path = snapshots.snapshot_path(registry(request), _existing(request), request.match_info["snapshot_name"])
    return web.FileResponse(path, headers={"Content-Type": "application/octet-stream"})


async def delete_snapshot(request: web.Request) -> web.Response:
    name = _existing(request)
    path = snapshots.snapshot_path(registry(request), name, request.match_info["snapshot_name"])

    async def delete() -> bool:
        snapshots.delete_snapshot(registry(request), name, path.name)
        return True

    return await _answer(request, delete, "delete")


async def recover_from_location(request: web.Request) -> web.Response:
    body = await parse_body(request, models.SnapshotRecover)
    reg, name = registry(request), _name(request)
    tmp = Path(tempfile.mkdtemp(dir=reg.data_dir, prefix=".download-"))
    try:
        # Location errors (bad URI, forbidden path, failed download) answer even with wait=false.
        archive = await snapshots.fetch_location(
            body.location, tmp / "download.snapshot", reg.snapshots_dir, body.api_key
        )
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise

    async def recover() -> bool:
        try:
            await snapshots.recover(reg, name, archive, body.checksum)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return True

    return await _answer(request, recover, "recover")


async def recover_from_upload(request: web.Request) -> web.Response:
    _priority(request.query.get("priority"))
    reg, name = registry(request), _name(request)
    tmp = Path(tempfile.mkdtemp(dir=reg.data_dir, prefix=".upload-"))
    try:
        archive = tmp / "upload.snapshot"
        received = False
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if isinstance(part, BodyPartReader) and part.name == "snapshot":
                with archive.open("wb") as handle:
                    while chunk := await part.read_chunk():
                        handle.write(chunk)
                received = True
        if not received:
            raise bad_request("multipart field `snapshot` is missing")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise

    async def recover() -> bool:
        try:
            await snapshots.recover(reg, name, archive, request.query.get("checksum"))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return True

    return await _answer(request, recover, "recover")


def add_routes(app: web.Application) -> None:
    """Register the snapshot routes (fixed paths before `{snapshot_name}`)."""
    r = app.router
    r.add_put(C + "/snapshots/recover", recover_from_location)
    r.add_post(C + "/snapshots/upload", recover_from_upload)
    r.add_post(C + "/snapshots", create_snapshot)
    r.add_get(C + "/snapshots", list_snapshots)
    r.add_get(C + "/snapshots/{snapshot_name}", download_snapshot)
    r.add_delete(C + "/snapshots/{snapshot_name}", delete_snapshot)
