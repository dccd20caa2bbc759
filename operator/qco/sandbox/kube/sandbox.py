"""`KubeSandbox`: the emulator served on a loopback port, with a kubeconfig for it."""

from __future__ import annotations

import os
from pathlib import Path
from types import TracebackType

import kmock

from qco.sandbox.kube.kubeconfig import write_kubeconfig
from qco.sandbox.kube.server import KubeEmulator


class KubeSandbox:
    """Start and stop the emulator on an event loop; the Python API behind `python -m qco.sandbox.kube`.

    Usage::

        async with KubeSandbox(port=0) as sandbox:
            sandbox.write_kubeconfig("/tmp/kubeconfig")
            ...  # kubectl --kubeconfig /tmp/kubeconfig get namespaces

    Run kopf operators against it from another thread and loop (see tests/plugins/kube_emulator.py):
    in the same loop, kopf's shutdown waits for the emulator's tasks as if they were its own.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, history_window: int = 10_000) -> None:
        self.host = host
        self.port = port
        self.emulator = KubeEmulator(history_window=history_window)
        self._server: kmock.Server | None = None

    @property
    def url(self) -> str:
        """The server URL (`http://127.0.0.1:PORT`), once started."""
        if self._server is None:
            raise RuntimeError("the sandbox is not started")
        return f"http://{self.host}:{self._server.port}"

    async def start(self) -> None:
        """Listen on the port (0 picks a free one); requests are served from this call's loop."""
        if self._server is not None:
            raise RuntimeError("the sandbox is already started")
        # Port 0 is honoured by the underlying aiohttp test server: the OS picks a free port.
        server = kmock.Server(self.emulator, host=self.host, port=self.port, user_agent="")
        await server.__aenter__()
        self._server = server

    async def stop(self) -> None:
        """End open watches first (aiohttp waits for running handlers), then close the port."""
        if self._server is None:
            return
        self.emulator.close_watches()
        server, self._server = self._server, None
        await server.__aexit__(None, None, None)

    def write_kubeconfig(self, path: str | os.PathLike[str], namespace: str = "default") -> Path:
        """Write a kubeconfig for this sandbox (context `qco-sandbox`) and return its path."""
        return write_kubeconfig(path, self.url, namespace)

    async def __aenter__(self) -> KubeSandbox:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()
