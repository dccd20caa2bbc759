"""End to end: what the chart renders runs qco. The rendered CRDs, ServiceAccount, RBAC and
Deployment are applied with kubectl to the Kubernetes emulator; the operator is started as the
Deployment would start it (its env, its API key Secret mounted as a file, its probe port), and it
reconciles a collection declared through the chart's `collections:` values into Qdrant."""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from qdrant_client import QdrantClient

from tests.delivery.chart import NAMESPACE, ROOT, Rendered, render
from tests.delivery.health import argocd_health, kstatus
from tests.e2e.waits import scrape, value
from tests.plugins.kube_emulator import KubeEmulatorHandle
from tests.plugins.qdrant_server import QdrantServerProcess

API_KEY = "chart-e2e-key"
SECRET = "qdrant-apikey"
POD_NAME = "qco-7d9f8b6c5-e2e01"  # what the downward API would give POD_ID


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _values(metrics_port: int) -> dict[str, Any]:
    return {
        # The in-cluster URL a real install would use; the test swaps in the stand-in's URL.
        "qdrant": {"url": "http://qdrant.qdrant:6333", "apiKeySecret": {"name": SECRET, "key": "api-key"}},
        "metrics": {"port": metrics_port},
        "health": {"port": _free_port()},
        "config": {"logFormat": "text", "driftIntervalSeconds": 30},
        "collections": [
            {
                "name": "chart-docs",
                "spec": {
                    "collectionName": "chart_docs_v1",
                    "vectors": {"": {"size": 8, "distance": "Cosine"}},
                    "payloadIndexes": [{"field": "lang", "type": "keyword"}],
                    "aliases": ["chart_docs"],
                },
            }
        ],
    }


def _yaml_stream(objects: list[Rendered]) -> str:
    return yaml.safe_dump_all([o.body for o in objects], sort_keys=False)


def _operator_env(
    deployment: dict[str, Any], kube: KubeEmulatorHandle, qdrant_url: str, mounts: Path
) -> dict[str, str]:
    """The container's environment from the Deployment, with Secret volumes materialised the way
    the kubelet would (read from the emulator, written under `mounts`)."""
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    remap: dict[str, str] = {}
    for mount in container.get("volumeMounts", []):
        secret_ref = volumes[mount["name"]].get("secret")
        if secret_ref is None:
            continue
        secret = json.loads(
            kube.kubectl("get", "secret", secret_ref["secretName"], "-n", NAMESPACE, "-o", "json").stdout
        )
        directory = mounts / mount["name"]
        directory.mkdir(parents=True)
        for item in secret_ref["items"]:
            (directory / item["path"]).write_bytes(base64.b64decode(secret["data"][item["key"]]))
        remap[mount["mountPath"]] = str(directory)
    env = {k: v for k, v in os.environ.items() if not k.startswith("QCO_")}
    for var in container["env"]:
        if "value" in var:
            value = str(var["value"])
            for mount_path, local in remap.items():
                if value.startswith(mount_path + "/"):
                    value = local + value[len(mount_path) :]
            env[var["name"]] = value
        elif var["valueFrom"].get("fieldRef", {}).get("fieldPath") == "metadata.name":
            env[var["name"]] = POD_NAME
    env["KUBECONFIG"] = str(kube.kubeconfig)
    env["QCO_QDRANT_URL"] = qdrant_url  # instead of the in-cluster service
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "operator"), env.get("PYTHONPATH")]))
    return env


@pytest.fixture
def operator_process(tmp_path: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    processes: list[subprocess.Popen[bytes]] = []
    yield processes
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_for_probe(url: str, process: subprocess.Popen[bytes], log: Path) -> httpx.Response:
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            raise AssertionError(f"qco run exited with {process.returncode}:\n{log.read_text()}")
        try:
            return httpx.get(url, timeout=2)
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise AssertionError(f"{url} never answered:\n{log.read_text()}") from None
            time.sleep(0.2)


def test_chart_installs_an_operator_that_reconciles_collections_from_values(
    kube_emulator: KubeEmulatorHandle,
    qdrant_server_factory: Any,
    operator_process: list[subprocess.Popen[bytes]],
    tmp_path: Path,
) -> None:
    qdrant: QdrantServerProcess = qdrant_server_factory(api_key=API_KEY)
    metrics_port = _free_port()
    objects = render(_values(metrics_port))
    by_kind: dict[str, list[Rendered]] = {}
    for obj in objects:
        by_kind.setdefault(obj.kind, []).append(obj)

    # What `helm install` would create, in Helm's order: CRDs, then the operator, then collections.
    kube_emulator.kubectl("create", "namespace", NAMESPACE)
    kube_emulator.kubectl(
        "create", "secret", "generic", SECRET, "-n", NAMESPACE, f"--from-literal=api-key={API_KEY}"
    )
    kube_emulator.kubectl("apply", "-f", "-", input=_yaml_stream(by_kind["CustomResourceDefinition"]))
    kube_emulator.kubectl("wait", "--for=condition=Established", "crd", "--all", "--timeout=30s")
    operator_objects = [
        o for k in ("ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Deployment") for o in by_kind[k]
    ]
    kube_emulator.kubectl("apply", "-f", "-", input=_yaml_stream(operator_objects))
    kube_emulator.kubectl("apply", "-f", "-", input=_yaml_stream(by_kind["QdrantCollection"]))

    deployment = json.loads(
        kube_emulator.kubectl("get", "deployment", "qco", "-n", NAMESPACE, "-o", "json").stdout
    )
    env = _operator_env(deployment, kube_emulator, qdrant.url, tmp_path / "mounts")
    assert env["QCO_QDRANT_API_KEY_FILE"].startswith(str(tmp_path))
    log = tmp_path / "operator.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "qco", "run"], env=env, stdout=sink, stderr=subprocess.STDOUT, cwd=tmp_path
        )
    operator_process.append(process)

    # The Deployment's own probe: path and port as rendered.
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    probe = container["readinessProbe"]["httpGet"]
    port = next(p["containerPort"] for p in container["ports"] if p["name"] == probe["port"])
    assert _wait_for_probe(f"http://127.0.0.1:{port}{probe['path']}", process, log).status_code == 200

    result = kube_emulator.kubectl(
        "wait",
        "--for=condition=Ready",
        "qc/chart-docs",
        "-n",
        NAMESPACE,
        "--timeout=90s",
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr + "\n" + log.read_text()

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Api key is used with an insecure connection")
        client = QdrantClient(url=qdrant.url, api_key=API_KEY, check_compatibility=False)
    try:
        info = client.get_collection("chart_docs_v1")
        aliases = [a.alias_name for a in client.get_collection_aliases("chart_docs_v1").aliases]
    finally:
        client.close()
    assert info.config.params.vectors.size == 8  # type: ignore[union-attr]
    assert "lang" in (info.payload_schema or {})
    assert aliases == ["chart_docs"]

    # GitOps tools would judge the object healthy from the status qco wrote.
    obj = json.loads(kube_emulator.kubectl("get", "qc/chart-docs", "-n", NAMESPACE, "-o", "json").stdout)
    assert argocd_health("QdrantCollection", obj)[0] == "Healthy"
    assert kstatus(obj) == "Current"
    metrics = scrape(f"http://127.0.0.1:{metrics_port}")
    assert value(metrics, "qco_objects", kind="QdrantCollection", condition="Ready") == 1
    assert value(metrics, "qco_collection_status", status="green") == 1
