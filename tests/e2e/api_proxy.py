"""An HTTP proxy between an operator and the Kubernetes API (emulator) that can break the API the
way a network or an API server does: hold watch streams open without delivering anything (a dead
watch while LIST still works), or refuse every request (the API cannot be listed).

Served from a daemon thread with its own event loop; it records every request it receives.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import aiohttp
import yaml
from aiohttp import web

Mode = Literal["forward", "hold_watches", "refuse"]

_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "transfer-encoding",
    "content-length",
    "content-encoding",
    "host",
    "accept-encoding",
    "upgrade",
}


@dataclass(frozen=True)
class ProxiedRequest:
    """One request the proxy received."""

    method: str
    path: str
    watch: bool
    user_agent: str


class ApiProxy:
    """Forwards to `upstream` until told otherwise through `mode`."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        #: forward: a plain proxy. hold_watches: watch streams (new and open ones) deliver nothing
        #: more but stay open; everything else is forwarded. refuse: every new request gets 503 and
        #: open watch streams deliver nothing more.
        self.mode: Mode = "forward"
        self.url = ""
        self._requests: list[ProxiedRequest] = []
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopped: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="api-proxy", daemon=True)

    def requests(self) -> list[ProxiedRequest]:
        """Every request received so far."""
        with self._lock:
            return list(self._requests)

    def write_kubeconfig(self, original: Path, path: Path) -> Path:
        """A copy of `original` whose clusters point at this proxy."""
        config = yaml.safe_load(original.read_text())
        for cluster in config["clusters"]:
            cluster["cluster"]["server"] = self.url
        path.write_text(yaml.safe_dump(config))
        return path

    def start(self) -> None:
        """Start serving on a free loopback port."""
        self._thread.start()
        self._ready.wait(30)
        if self._error is not None or not self.url:
            raise RuntimeError("the API proxy failed to start") from self._error

    def stop(self) -> None:
        """Release held streams, stop serving and join the thread."""
        if self._loop is not None and self._stopped is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stopped.set)
        self._thread.join(30)

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # reported by start()
            self._error = exc
            self._ready.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopped = asyncio.Event()
        session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None), auto_decompress=False)
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", lambda request: self._handle(request, session))
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
        self._ready.set()
        try:
            await self._stopped.wait()
        finally:
            await runner.cleanup()
            await session.close()

    async def _hold(self) -> None:
        assert self._stopped is not None
        await self._stopped.wait()

    async def _handle(self, request: web.Request, session: aiohttp.ClientSession) -> web.StreamResponse:
        watch = request.query.get("watch") in ("true", "1")
        with self._lock:
            self._requests.append(
                ProxiedRequest(request.method, request.path, watch, request.headers.get("User-Agent", ""))
            )
        if self.mode == "refuse":
            return web.json_response({"kind": "Status", "status": "Failure", "code": 503}, status=503)
        if watch and self.mode == "hold_watches":
            await self._hold()
            return web.Response(status=503)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP}
        body = await request.read()
        async with session.request(
            request.method, self.upstream + request.path_qs, headers=headers, data=body, allow_redirects=False
        ) as upstream:
            response = web.StreamResponse(
                status=upstream.status,
                headers={k: v for k, v in upstream.headers.items() if k.lower() not in _HOP_BY_HOP},
            )
            if upstream.headers.get("Content-Encoding"):
                response.headers["Content-Encoding"] = upstream.headers["Content-Encoding"]
            await response.prepare(request)
            async for chunk in upstream.content.iter_any():
                if watch and self.mode != "forward":
                    await self._hold()  # the stream stays open; nothing more arrives
                    break
                await response.write(chunk)
            await response.write_eof()
            return response
