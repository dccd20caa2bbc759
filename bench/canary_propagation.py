"""Time from a canary step's weight change to N `qco.routing` clients confirming it.

Starts the Kubernetes emulator (`python -m qco.sandbox.kube`), N Routers (each its own watch and
its own confirmation patch, as N application replicas would), then publishes successive routing
generations the way the operator does (a patch of `routing.json`) and times how long until all N
clients have confirmed each one (`qco.dev/applied.<client-id>` on the ConfigMap), read by polling
the ConfigMap every 20 ms. The operator itself polls every 0.5 s while it awaits confirmations,
so add up to 0.5 s for the step's timer to start.

Run: python bench/canary_propagation.py [--clients 20] [--steps 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from kubernetes import client as k8s
from kubernetes import config as k8s_config
from prometheus_client import CollectorRegistry

from qco.routing import Router, RoutingTable, confirmations


def main() -> None:
    """Print the propagation time per step and its median and maximum."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--steps", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        kubeconfig = Path(tmp) / "kubeconfig"
        emulator = subprocess.Popen(
            [sys.executable, "-m", "qco.sandbox.kube", "--port", "0", "--kubeconfig", str(kubeconfig)],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert emulator.stdout is not None
            emulator.stdout.readline()
            run(kubeconfig, args.clients, args.steps)
        finally:
            emulator.terminate()
            emulator.wait(30)


def run(kubeconfig: Path, clients: int, steps: int) -> None:
    """Publish `steps` generations to `clients` routers and print the times."""
    configuration = k8s.Configuration()
    k8s_config.load_kube_config(config_file=str(kubeconfig), client_configuration=configuration)
    api = k8s.ApiClient(configuration)
    core = k8s.CoreV1Api(api)
    first = RoutingTable("docs", 1, "salt", {"docs_v1": 100, "docs_v2": 0})
    core.create_namespaced_config_map(
        "default", {"metadata": {"name": "docs-routing"}, "data": {"routing.json": first.to_json()}}
    )
    routers = []
    for i in range(clients):
        own = k8s.ApiClient(configuration)  # one connection pool per replica, as in real apps
        routers.append(
            Router(
                "docs-routing", "default", client_id=f"app-{i}", api_client=own, registry=CollectorRegistry()
            ).start()
        )
    wait_confirmed(core, 1, clients, 60)
    times = []
    for generation in range(2, steps + 2):
        weight = min(100, 10 * generation)
        table = RoutingTable("docs", generation, "salt", {"docs_v1": 100 - weight, "docs_v2": weight})
        started = time.perf_counter()
        core.patch_namespaced_config_map(
            "docs-routing", "default", {"data": {"routing.json": table.to_json()}}
        )
        wait_confirmed(core, generation, clients, 60)
        times.append(time.perf_counter() - started)
        print(f"generation {generation} ({weight}% canary): {clients} clients confirmed in {times[-1]:.3f} s")
    print(f"median {statistics.median(times):.3f} s, max {max(times):.3f} s at N = {clients} clients")
    for router in routers:
        router.close()


def wait_confirmed(core: k8s.CoreV1Api, generation: int, clients: int, timeout: float) -> None:
    """Poll the ConfigMap until `clients` confirmations of `generation` are there."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        annotations = core.read_namespaced_config_map("docs-routing", "default").metadata.annotations
        if confirmations(annotations, generation) >= clients:
            return
        time.sleep(0.02)
    raise TimeoutError(f"generation {generation} not confirmed by {clients} clients in {timeout} s")


if __name__ == "__main__":
    main()
