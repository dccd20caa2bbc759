"""A real Prometheus for tests: Debian's `prometheus` binary on a free loopback port.

    from tests.plugins.prometheus_server import start_prometheus

    server = start_prometheus(tmp_path)          # scrapes every second
    server.add_target("127.0.0.1:8123", app="demo")
    server.wait_for('up{app="demo"} == 1')
    value = server.query("sum(qco_routing_requests_total)")
    server.stop()

Targets are file-based service discovery (`file_sd_configs`): Prometheus watches the file, so a
target added while it runs is scraped without a restart or a reload. `.ci/run` installs the
package; `apt-get install -y prometheus` does it by hand.
"""

from __future__ import annotations

import json
import math
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

SCRAPE_INTERVAL = "1s"
START_TIMEOUT = 60.0
CONFIG = """\
global:
  scrape_interval: {interval}
  scrape_timeout: {interval}
  evaluation_interval: {interval}
scrape_configs:
  - job_name: apps
    file_sd_configs:
      - files: [{targets}]
        refresh_interval: 1s
"""


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class PrometheusError(AssertionError):
    """Prometheus answered an error or never reached the awaited state."""


@dataclass
class PrometheusServer:
    """A running Prometheus and the targets it scrapes."""

    process: subprocess.Popen[bytes]
    url: str
    directory: Path
    targets: list[dict[str, Any]] = field(default_factory=list)

    @property
    def targets_file(self) -> Path:
        """The file_sd file Prometheus watches."""
        return self.directory / "targets.json"

    @property
    def log(self) -> str:
        """Prometheus's own log (stderr)."""
        return (self.directory / "prometheus.log").read_text(errors="replace")

    def add_target(self, address: str, **labels: str) -> None:
        """Scrape `address` (host:port, path /metrics) from now on, with these labels."""
        self.targets.append({"targets": [address], "labels": labels})
        staged = self.targets_file.with_suffix(".tmp")
        staged.write_text(json.dumps(self.targets))
        staged.replace(self.targets_file)  # atomic: Prometheus never reads half a file

    def query_raw(self, promql: str) -> dict[str, Any]:
        """The `data` of an instant query."""
        response = httpx.get(f"{self.url}/api/v1/query", params={"query": promql}, timeout=10)
        body: dict[str, Any] = response.json()
        if body.get("status") != "success":
            raise PrometheusError(f"{promql}: {body.get('errorType')}: {body.get('error')}")
        data: dict[str, Any] = body["data"]
        return data

    def query(self, promql: str) -> float | None:
        """The first sample's value of an instant query; None when empty or NaN."""
        data = self.query_raw(promql)
        result = data["result"]
        if data["resultType"] == "scalar":
            value = float(result[1])
        elif not result:
            return None
        else:
            value = float(result[0]["value"][1])
        return None if math.isnan(value) else value

    def wait_for(self, promql: str, timeout: float = 30.0) -> float:
        """Poll until the query has a value (a comparison like `x > 0` filters it); return it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = self.query(promql)
            if value is not None:
                return value
            time.sleep(0.25)
        raise PrometheusError(f"no value for {promql} within {timeout}s")

    def stop(self) -> None:
        """SIGTERM (Prometheus flushes its head block and exits 0), SIGKILL after 30 s."""
        if self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)


def prometheus_binary() -> str:
    """The path of Debian's `prometheus`; a clear error naming the package when it is missing."""
    found = shutil.which("prometheus")
    if found is None:
        raise RuntimeError("prometheus is not installed: apt-get install -y prometheus (.ci/run does)")
    return found


def start_prometheus(directory: Path, interval: str = SCRAPE_INTERVAL) -> PrometheusServer:
    """Start Prometheus on a free loopback port with a generated config and wait until it is ready."""
    directory.mkdir(parents=True, exist_ok=True)
    targets = directory / "targets.json"
    targets.write_text("[]")
    config = directory / "prometheus.yml"
    config.write_text(CONFIG.format(interval=interval, targets=json.dumps(str(targets))))
    port = free_port()
    with (directory / "prometheus.log").open("wb") as log:
        process = subprocess.Popen(
            [
                prometheus_binary(),
                f"--config.file={config}",
                f"--storage.tsdb.path={directory / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--storage.tsdb.retention.time=1h",
                "--log.level=warn",
            ],
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
    server = PrometheusServer(process, f"http://127.0.0.1:{port}", directory)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"prometheus exited at start ({process.returncode}):\n{server.log}")
        try:
            if httpx.get(f"{server.url}/-/ready", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"prometheus not ready within {START_TIMEOUT:.0f}s:\n{server.log}")
