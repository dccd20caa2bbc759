"""Fixtures that start the Qdrant stand-in (`python -m qco.sandbox.qdrant`) as a subprocess.

Use `qdrant_server` (function-scoped: a fresh, empty server per test) or
`qdrant_server_factory` (start several, e.g. one with an API key, or one on a given data dir):

    def test_something(qdrant_server):
        client = QdrantClient(url=qdrant_server.url)
        qdrant_server.admin.reset_requests()
        ...
        assert qdrant_server.admin.count("PUT", "/collections/{collection_name}") == 1

    def test_with_key(qdrant_server_factory):
        server = qdrant_server_factory(api_key="secret")
        client = QdrantClient(url=server.url, api_key="secret")

`server.restart()` stops the process and starts it again on the same data directory and port
(persistence tests). `server.admin` talks to the sandbox-only `/_sandbox/` API.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

START_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0


@dataclass
class SandboxAdmin:
    """Client of the sandbox's admin API (`/_sandbox/requests`, `/_sandbox/faults`)."""

    url: str

    def _call(self, method: str, path: str, json: Any = None) -> Any:
        response = httpx.request(method, f"{self.url}/_sandbox/{path}", json=json, timeout=30)
        response.raise_for_status()
        return response.json()["result"]

    def requests(self) -> dict[str, int]:
        """Request counts since start or last reset, keyed `"METHOD /route/{template}"`."""
        counts: dict[str, int] = self._call("GET", "requests")["counts"]
        return counts

    def count(self, method: str, route: str) -> int:
        """Requests seen for one method and route template, e.g. `GET`, `/collections/{collection_name}`."""
        return self.requests().get(f"{method.upper()} {route}", 0)

    def reset_requests(self) -> None:
        """Zero the request counters."""
        self._call("DELETE", "requests")

    def add_fault(
        self,
        route: str,
        kind: str,
        *,
        method: str | None = None,
        latency_ms: int = 0,
        status: int = 503,
        calls: int | None = None,
        seconds: float | None = None,
    ) -> None:
        """Inject a fault: kind `latency`, `error` (answer `status`) or `drop` (close the connection).

        `route` is a regex searched in the path or a glob on the whole path; `calls`/`seconds`
        bound it (unbounded until `clear_faults()` when both are left out).
        """
        body = {
            "route": route,
            "kind": kind,
            "method": method,
            "latency_ms": latency_ms,
            "status": status,
            "calls": calls,
            "seconds": seconds,
        }
        self._call("PUT", "faults", {k: v for k, v in body.items() if v is not None})

    def faults(self) -> list[dict[str, Any]]:
        """Active faults with how many calls each has affected."""
        result: list[dict[str, Any]] = self._call("GET", "faults")
        return result

    def clear_faults(self) -> None:
        """Remove every fault."""
        self._call("DELETE", "faults")

    def pause_optimizers(self, paused: bool = True) -> None:
        """Paused: config changes leave outdated segments alone (the collection reports `grey`)."""
        self._call("PUT", "optimizers", {"paused": paused})


@dataclass
class QdrantServerProcess:
    """A running `python -m qco.sandbox.qdrant` subprocess."""

    data_dir: Path
    api_key: str | None = None
    record_file: Path | None = None
    """When set, the server appends every answered request with its JSON response here."""
    port: int = 0
    url: str = ""
    process: subprocess.Popen[str] | None = field(default=None, repr=False)
    _stderr_lines: list[str] = field(default_factory=list, repr=False)

    @property
    def admin(self) -> SandboxAdmin:
        """Admin helpers (request counters, faults)."""
        return SandboxAdmin(self.url)

    @property
    def headers(self) -> dict[str, str]:
        """Headers for raw HTTP calls (httpx) that carry the API key, if any."""
        return {"api-key": self.api_key} if self.api_key else {}

    def start(self) -> None:
        """Spawn the server and wait for its `qdrant: URL` line."""
        command = [
            sys.executable,
            "-m",
            "qco.sandbox.qdrant",
            "--port",
            str(self.port),
            "--data",
            str(self.data_dir),
        ]
        if self.api_key:
            command += ["--api-key", self.api_key]
        if self.record_file is not None:
            command += ["--record-responses", str(self.record_file)]
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ}
        )
        self._stderr_lines = []
        threading.Thread(target=self._drain_stderr, args=(self.process,), daemon=True).start()
        line = self._read_url_line()
        self.url = line.split("qdrant: ", 1)[1].strip()
        self.port = int(self.url.rsplit(":", 1)[1])

    def _drain_stderr(self, process: subprocess.Popen[str]) -> None:
        assert process.stderr is not None
        # The pipe closes when the process ends (or stop() closes it): both end the loop quietly.
        with contextlib.suppress(ValueError, OSError):
            for line in process.stderr:
                self._stderr_lines.append(line)

    def _read_url_line(self) -> str:
        process = self.process
        assert process is not None
        stdout = process.stdout
        assert stdout is not None
        result: list[str] = []

        def read() -> None:
            with contextlib.suppress(ValueError, OSError):
                result.append(stdout.readline())

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        reader.join(START_TIMEOUT)
        if not result or not result[0].startswith("qdrant: "):
            self.stop()
            raise RuntimeError("the Qdrant sandbox did not start:\n" + "".join(self._stderr_lines))
        return result[0]

    def stop(self) -> int | None:
        """SIGTERM the server and wait; returns its exit code."""
        if self.process is None:
            return None
        process, self.process = self.process, None
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for pipe in (process.stdout, process.stderr):
            if pipe is not None:
                pipe.close()
        return process.returncode

    def restart(self) -> None:
        """Stop and start again on the same data directory and port."""
        self.stop()
        self.start()

    @property
    def stderr(self) -> str:
        """What the server logged so far."""
        return "".join(self._stderr_lines)


@pytest.fixture
def qdrant_server_factory(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Callable[..., QdrantServerProcess]]:
    """Start servers on demand: `factory(api_key=None, data_dir=None, record_file=None)`.

    All stop after the test.
    """
    servers: list[QdrantServerProcess] = []

    def start(
        api_key: str | None = None, data_dir: Path | None = None, record_file: Path | None = None
    ) -> QdrantServerProcess:
        server = QdrantServerProcess(
            data_dir=data_dir or tmp_path_factory.mktemp("qdrant-data"),
            api_key=api_key,
            record_file=record_file,
        )
        server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def qdrant_server(qdrant_server_factory: Callable[..., QdrantServerProcess]) -> QdrantServerProcess:
    """A fresh Qdrant stand-in without API key; `.url`, `.data_dir`, `.restart()`, `.admin`."""
    return qdrant_server_factory()
