"""End-to-end harness: `qco sandbox` (Qdrant stand-in + Kubernetes emulator + the operator) as a user
runs it, driven with kubectl and read back with qdrant-client."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from qdrant_client import QdrantClient

from tests.plugins.qdrant_server import SandboxAdmin

ROOT = Path(__file__).resolve().parents[2]
KUBECTL = "/usr/bin/kubectl"


@dataclass
class Sandbox:
    """A running `qco sandbox` and helpers to drive it like a user."""

    process: subprocess.Popen[str]
    qdrant_url: str
    kubeconfig: Path
    log_path: Path
    api_key: str | None = None
    s3_url: str | None = None  # `qco sandbox --s3`
    _clients: list[QdrantClient] = field(default_factory=list)

    @property
    def admin(self) -> SandboxAdmin:
        """The Qdrant stand-in's `/_sandbox/` API (request counters, faults)."""
        return SandboxAdmin(self.qdrant_url)

    def qdrant(self) -> QdrantClient:
        """An unmodified qdrant-client on the sandbox's Qdrant."""
        client = QdrantClient(
            url=self.qdrant_url, api_key=self.api_key, timeout=30, check_compatibility=False
        )
        self._clients.append(client)
        return client

    def kubectl(
        self, *args: str, input: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """Run kubectl against the sandbox's emulator."""
        command = [KUBECTL, "--kubeconfig", str(self.kubeconfig), *args]
        result = subprocess.run(command, input=input, capture_output=True, text=True, timeout=120)
        if check and result.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed ({result.returncode}):\n{result.stderr}")
        return result

    def apply(self, manifest: dict[str, Any] | str) -> None:
        """`kubectl apply -f -` of one manifest (a dict or YAML text)."""
        text = manifest if isinstance(manifest, str) else yaml.safe_dump(manifest)
        self.kubectl("apply", "-f", "-", input=text)

    def get(self, name: str, namespace: str = "default") -> dict[str, Any]:
        """The QdrantCollection as JSON."""
        out = self.kubectl("get", "qdrantcollection", name, "-n", namespace, "-o", "json").stdout
        result: dict[str, Any] = json.loads(out)
        return result

    def wait_ready(self, name: str, namespace: str = "default", timeout: int = 60) -> dict[str, Any]:
        """`kubectl wait --for=condition=Ready` on the current generation, then return the object."""
        self.kubectl(
            "wait",
            "--for=condition=Ready",
            f"qdrantcollection/{name}",
            "-n",
            namespace,
            f"--timeout={timeout}s",
        )
        return self.wait_for(
            name, lambda o: _observed(o) and status_of(o, "Ready") == "True", namespace, timeout
        )

    def wait_for(
        self,
        name: str,
        predicate: Callable[[dict[str, Any]], bool],
        namespace: str = "default",
        timeout: float = 60,
    ) -> dict[str, Any]:
        """Poll the object until `predicate` holds; fail with its last status otherwise."""
        deadline = time.monotonic() + timeout
        obj: dict[str, Any] = {}
        while time.monotonic() < deadline:
            obj = self.get(name, namespace)
            if predicate(obj):
                return obj
            time.sleep(0.3)
        raise AssertionError(f"timed out; last status of {name}: {json.dumps(obj.get('status'), indent=1)}")

    def condition(self, name: str, type_: str, namespace: str = "default") -> dict[str, Any] | None:
        """One condition of the object, as it is now."""
        for item in self.get(name, namespace).get("status", {}).get("conditions", []):
            if item["type"] == type_:
                return dict(item)
        return None

    def events(self, name: str, namespace: str = "default") -> list[dict[str, Any]]:
        """Events about the object."""
        out = self.kubectl(
            "get", "events", "-n", namespace, "--field-selector", f"involvedObject.name={name}", "-o", "json"
        ).stdout
        items: list[dict[str, Any]] = json.loads(out)["items"]
        return items

    def operator_log(self) -> str:
        """Everything the sandbox (and so the operator) wrote to stderr so far."""
        return self.log_path.read_text(errors="replace")


def condition_of(obj: dict[str, Any], type_: str) -> dict[str, Any] | None:
    """One condition of an object (as JSON), if present."""
    return next((c for c in obj.get("status", {}).get("conditions", []) if c["type"] == type_), None)


def status_of(obj: dict[str, Any], type_: str) -> str | None:
    """A condition's status ("True", "False", "Unknown"), if present."""
    cond = condition_of(obj, type_)
    return str(cond["status"]) if cond else None


def reason_of(obj: dict[str, Any], type_: str) -> str | None:
    """A condition's reason, if present."""
    cond = condition_of(obj, type_)
    return str(cond["reason"]) if cond else None


def message_of(obj: dict[str, Any], type_: str) -> str:
    """A condition's message ("" when absent)."""
    cond = condition_of(obj, type_)
    return str(cond["message"]) if cond else ""


def _observed(obj: dict[str, Any]) -> bool:
    return bool(obj.get("status", {}).get("observedGeneration") == obj["metadata"].get("generation"))


def start_sandbox(
    tmp: Path, api_key: str | None = None, env: dict[str, str] | None = None, s3: bool = False
) -> Sandbox:
    """Start `qco sandbox` like the README does and wait for its two lines (three with `s3`)."""
    log_path = tmp / "sandbox.log"
    argv = [sys.executable, "-m", "qco", "sandbox", "--data", str(tmp / "data"), "--qdrant-port", "0"]
    if api_key:
        argv += ["--api-key", api_key]
    if s3:
        argv += ["--s3", "0"]
    log = log_path.open("w")
    process = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=log, text=True, env={**os.environ, **(env or {})}, cwd=ROOT
    )
    assert process.stdout is not None
    lines: dict[str, str] = {}
    deadline = time.monotonic() + 90
    while len(lines) < 2 + s3 and time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            raise AssertionError(f"qco sandbox exited early:\n{log_path.read_text()}")
        key, _, value = line.partition(": ")
        lines[key] = value.strip()
    sandbox = Sandbox(process, lines["qdrant"], Path(lines["kubeconfig"]), log_path, api_key, lines.get("s3"))
    # The CRDs are applied before the operator starts; wait until the operator has its watch open.
    deadline = time.monotonic() + 60
    while "Initial authentication has finished" not in sandbox.operator_log():
        if time.monotonic() > deadline:
            raise AssertionError(f"operator did not start:\n{sandbox.operator_log()}")
        time.sleep(0.2)
    return sandbox


def stop_sandbox(sandbox: Sandbox) -> int:
    """Interrupt the sandbox as a user would (Ctrl-C) and return its exit code."""
    for client in sandbox._clients:
        client.close()
    sandbox.process.send_signal(2)
    try:
        return sandbox.process.wait(60)
    except subprocess.TimeoutExpired:
        sandbox.process.kill()
        raise


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """One `qco sandbox` for a test module; tests use their own object and collection names."""
    running = start_sandbox(
        tmp_path_factory.mktemp("sandbox"), env={"QCO_NAMESPACE_DELETION_GRACE_SECONDS": "5"}
    )
    try:
        yield running
    finally:
        code = stop_sandbox(running)
        assert code == 0, running.operator_log()[-5000:]


@pytest.fixture
def unique() -> str:
    """A short unique suffix for object and collection names."""
    return uuid.uuid4().hex[:8]


def collection_manifest(
    name: str, spec: dict[str, Any], namespace: str = "default", **metadata: Any
) -> dict[str, Any]:
    """A QdrantCollection manifest."""
    return {
        "apiVersion": "qco.dev/v1alpha1",
        "kind": "QdrantCollection",
        "metadata": {"name": name, "namespace": namespace, **metadata},
        "spec": spec,
    }
