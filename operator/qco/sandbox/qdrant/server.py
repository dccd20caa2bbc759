"""`QdrantSandbox`: start and stop the server inside an asyncio program."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from qco.sandbox.qdrant.app import build_app
from qco.sandbox.qdrant.registry import Registry


@dataclass(frozen=True)
class SandboxConfig:
    """How to run the server."""

    data_dir: Path | None = None
    """Where collections, aliases and snapshots persist; None: a temp dir removed on stop."""
    host: str = "127.0.0.1"
    """Address to listen on."""
    port: int = 0
    """Port to listen on; 0 picks a free one."""
    api_key: str | None = None
    """When set, every request but the probes needs it (`api-key` header or bearer token)."""
    record_file: Path | None = None
    """When set, every answered API request is appended to this file as a JSON line."""


class QdrantSandbox:
    """A running Qdrant-compatible server: `await start()`, use `url`, `await stop()`."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self._temp_dir: Path | None = None
        self._runner: web.AppRunner | None = None
        self._registry: Registry | None = None
        self._port: int | None = None

    @property
    def url(self) -> str:
        """Base URL, e.g. `http://127.0.0.1:6333` (only valid after start)."""
        if self._port is None:
            raise RuntimeError("the sandbox is not started")
        return f"http://{self.config.host}:{self._port}"

    @property
    def data_dir(self) -> Path:
        """The data directory in use."""
        if self.config.data_dir is not None:
            return self.config.data_dir
        if self._temp_dir is None:
            raise RuntimeError("the sandbox is not started")
        return self._temp_dir

    async def start(self) -> None:
        """Load collections from the data dir and start listening."""
        if self.config.data_dir is None:
            self._temp_dir = Path(tempfile.mkdtemp(prefix="qco-qdrant-"))
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            self._registry = Registry(self.data_dir)
            self._registry.load()
            self._runner = web.AppRunner(
                build_app(self._registry, self.config.api_key, self.config.record_file), access_log=None
            )
            await self._runner.setup()
            site = web.TCPSite(self._runner, self.config.host, self.config.port)
            await site.start()
        except BaseException:
            await self.stop()  # e.g. the port is taken: do not leave a temp dir or open shards behind
            raise
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        self._port = sockets[0].getsockname()[1] if sockets else self.config.port

    async def stop(self) -> None:
        """Stop listening, stop rebuild workers, close shards, remove a temp data dir."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._registry is not None:
            await self._registry.close()
            self._registry = None
        if self._temp_dir is not None:
            shutil.rmtree(self._temp_dir, ignore_errors=True)
            self._temp_dir = None
