"""The canary analysis e2e world: `qco sandbox --no-operator` with an operator the test starts and
kills itself, the demo application (examples/canary/demo_app.py) routing through `qco.routing`,
and helpers to read rollouts. Kept out of conftest.py, which the harness owner edits."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qdrant_client import models

from tests.e2e.conftest import ROOT, Sandbox
from tests.e2e.waits import Samples, metrics_base, scrape, status_json, wait_until

DEMO_APP = ROOT / "examples" / "canary" / "demo_app.py"
SWITCH = ("POST", "/collections/aliases")


def start_operatorless_sandbox(tmp: Path) -> Sandbox:
    """`qco sandbox --no-operator`: Qdrant stand-in and Kubernetes emulator, CRDs applied."""
    log_path = tmp / "sandbox.log"
    argv = [sys.executable, "-m", "qco", "sandbox", "--data", str(tmp / "data"), "--qdrant-port", "0"]
    process = subprocess.Popen(
        [*argv, "--no-operator"], stdout=subprocess.PIPE, stderr=log_path.open("w"), text=True, cwd=ROOT
    )
    assert process.stdout is not None
    lines: dict[str, str] = {}
    while len(lines) < 2:
        line = process.stdout.readline()
        assert line, f"qco sandbox exited early:\n{log_path.read_text()}"
        key, _, value = line.partition(": ")
        lines[key] = value.strip()
    return Sandbox(process, lines["qdrant"], Path(lines["kubeconfig"]), log_path)


@dataclass
class Operator:
    """`qco run` against the sandbox, started (and SIGKILLed) by the test."""

    sandbox: Sandbox
    log: Path
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> Operator:
        """Start and wait until its watch is open."""
        env = {
            **os.environ,
            "KUBECONFIG": str(self.sandbox.kubeconfig),
            "QCO_QDRANT_URL": self.sandbox.qdrant_url,
            "QCO_METRICS_PORT": "0",
            "QCO_METRICS_HOST": "127.0.0.1",
            "QCO_HEALTH_PORT": "0",
        }
        with self.log.open("wb") as out:  # a fresh log per process: the metrics line is its own
            process = subprocess.Popen(
                [sys.executable, "-m", "qco", "run"], stdout=out, stderr=out, env=env, cwd=ROOT
            )
        self.process = process
        ready = "Initial authentication has finished"
        log = wait_until(
            lambda: self.log.read_text(errors="replace"),
            lambda text: ready in text or process.poll() is not None,  # an exit fails at once
            60,
            what="the operator's initial authentication",
            describe=lambda text: text[-3000:],
        )
        assert ready in log, log[-3000:]
        return self

    def kill(self) -> None:
        """SIGKILL: no handler, no finalizer, no last status write runs."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(30)

    def stop(self) -> int:
        """SIGTERM and its exit code."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        return self.process.returncode

    def metrics(self) -> Samples:
        """Its /metrics samples."""
        return scrape(metrics_base(self.log.read_text(errors="replace")))


@dataclass
class DemoApp:
    """examples/canary/demo_app.py as a process: routes searches, serves /metrics."""

    process: subprocess.Popen[str]
    url: str

    @property
    def address(self) -> str:
        """host:port, as Prometheus targets it."""
        return self.url.removeprefix("http://")

    def stop(self) -> None:
        """SIGTERM; the app closes its watch and exits."""
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)


def start_demo_app(sandbox: Sandbox, configmap: str, fallback: str, load: float = 20) -> DemoApp:
    """Start the demo app on a free port with `load` searches a second."""
    argv = [
        sys.executable,
        str(DEMO_APP),
        *("--configmap", configmap, "--namespace", "default", "--qdrant-url", sandbox.qdrant_url),
        *("--fallback", fallback, "--client-id", f"demo-{configmap}", "--port", "0", "--load", str(load)),
    ]
    env = {**os.environ, "KUBECONFIG": str(sandbox.kubeconfig)}
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    assert process.stdout is not None
    line = process.stdout.readline()
    assert line.startswith("demo-app: "), line
    return DemoApp(process, line.split(": ", 1)[1].strip())


def make_collections(sandbox: Sandbox, alias: str, names: tuple[str, ...]) -> None:
    """Collections with a few points each, the alias on the first."""
    qdrant = sandbox.qdrant()
    for name in names:
        qdrant.create_collection(
            name, vectors_config=models.VectorParams(size=4, distance=models.Distance.COSINE)
        )
        qdrant.upsert(
            name,
            points=[models.PointStruct(id=i, vector=[1.0, i, i % 3, 0.5]) for i in range(1, 21)],
            wait=True,
        )
    qdrant.update_collection_aliases(
        change_aliases_operations=[
            models.CreateAliasOperation(
                create_alias=models.CreateAlias(collection_name=names[0], alias_name=alias)
            )
        ]
    )


def alias_target(sandbox: Sandbox, alias: str) -> str | None:
    """The collection `alias` points at."""
    for item in sandbox.qdrant().get_aliases().aliases:
        if item.alias_name == alias:
            return item.collection_name
    return None


def rollout(sandbox: Sandbox, name: str) -> dict[str, Any]:
    """The CanaryRollout as JSON."""
    out = sandbox.kubectl("get", "canaryrollout", name, "-n", "default", "-o", "json").stdout
    result: dict[str, Any] = json.loads(out)
    return result


def wait_rollout(
    sandbox: Sandbox, name: str, done: Callable[[dict[str, Any]], bool], timeout: float = 90
) -> dict[str, Any]:
    """Poll until `done(status)`; return the object."""
    return wait_until(
        lambda: rollout(sandbox, name),
        lambda obj: done(obj.get("status") or {}),
        timeout,
        what=f"CanaryRollout {name} to reach the awaited state",
        describe=status_json,
        interval=0.3,
    )


def routing_json(sandbox: Sandbox, configmap: str) -> dict[str, Any]:
    """The published routing.json."""
    out = sandbox.kubectl("get", "configmap", configmap, "-n", "default", "-o", "json").stdout
    result: dict[str, Any] = json.loads(json.loads(out)["data"]["routing.json"])
    return result


def command(sandbox: Sandbox, name: str, verb: str) -> str:
    """`qco rollout <verb> NAME`; its output."""
    result = subprocess.run(
        [sys.executable, "-m", "qco", "rollout", verb, name, "--kubeconfig", str(sandbox.kubeconfig)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def run_of(status: dict[str, Any], run: str, metric: str) -> dict[str, Any]:
    """One analysis run from status."""
    for item in status.get("analysisRuns") or ():
        if item["run"] == run and item["metric"] == metric:
            return dict(item)
    raise AssertionError(f"no run {run}/{metric} in {status.get('analysisRuns')}")
