"""qco.routing.Router against the Kubernetes API emulator: it follows the ConfigMap through a watch,
confirms each generation it applied, and counts requests per variant."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from prometheus_client import CollectorRegistry

from qco.routing import Router, RoutingTable, confirmations
from tests.plugins.kube_emulator import KubeEmulatorHandle


@pytest.fixture
def core(kube_emulator: KubeEmulatorHandle) -> Iterator[k8s.CoreV1Api]:
    configuration = k8s.Configuration()
    k8s_config.load_kube_config(config_file=str(kube_emulator.kubeconfig), client_configuration=configuration)
    api = k8s.ApiClient(configuration)
    yield k8s.CoreV1Api(api)
    api.close()


def publish(core: k8s.CoreV1Api, table: RoutingTable, create: bool = False) -> None:
    body = {"metadata": {"name": "docs-routing"}, "data": {"routing.json": table.to_json()}}
    if create:
        core.create_namespaced_config_map("default", body)
    else:
        core.patch_namespaced_config_map("docs-routing", "default", body)


def test_router_follows_the_configmap_and_confirms_each_generation(core: k8s.CoreV1Api) -> None:
    publish(core, RoutingTable("docs", 1, "salt", {"v1": 100, "v2": 0}), create=True)
    registry = CollectorRegistry()
    routers = [
        Router(
            "docs-routing",
            "default",
            client_id=f"app-{i}",
            api_client=core.api_client,
            registry=registry if i == 0 else CollectorRegistry(),
        )
        for i in range(3)
    ]
    for router in routers:
        router.start()
    try:
        assert all(r.wait_for_generation(1, 10) for r in routers)
        assert routers[0].pick("alice") == "v1"
        publish(core, RoutingTable("docs", 2, "salt", {"v1": 0, "v2": 100}))
        assert all(r.wait_for_generation(2, 10) for r in routers)
        assert {r.pick("alice") for r in routers} == {"v2"}
        annotations = _wait_confirmed(core, 2, 3)
        assert {k: v for k, v in annotations.items() if k.startswith("qco.dev/applied.")} == {
            "qco.dev/applied.app-0": "2",
            "qco.dev/applied.app-1": "2",
            "qco.dev/applied.app-2": "2",
        }
        with routers[0].measure("v2"):
            pass
        with pytest.raises(RuntimeError), routers[0].measure("v2"):
            raise RuntimeError("query failed")
        labels = {"configmap": "docs-routing", "variant": "v2"}
        assert registry.get_sample_value("qco_routing_requests_total", labels) == 2
        assert registry.get_sample_value("qco_routing_errors_total", labels) == 1
        assert registry.get_sample_value("qco_routing_request_duration_seconds_count", labels) == 2
    finally:
        for router in routers:
            router.close()


def test_fallback_serves_until_a_table_arrives_and_bad_tables_are_ignored(core: k8s.CoreV1Api) -> None:
    core.create_namespaced_config_map(
        "default",
        {"metadata": {"name": "docs-routing"}, "data": {"routing.json": json.dumps({"weights": {}})}},
    )
    router = Router(
        "docs-routing",
        "default",
        client_id="x",
        fallback="docs",
        api_client=core.api_client,
        registry=CollectorRegistry(),
    )
    with router:
        assert router.pick("bob") == "docs"
        publish(core, RoutingTable("docs", 5, "s", {"v1": 50, "v2": 50}))
        assert router.wait_for_generation(5, 10)
        assert router.pick("bob") in {"v1", "v2"}


def _wait_confirmed(core: k8s.CoreV1Api, generation: int, clients: int) -> dict[str, str]:
    deadline = time.monotonic() + 10
    while True:
        annotations = core.read_namespaced_config_map("docs-routing", "default").metadata.annotations or {}
        if confirmations(annotations, generation) >= clients or time.monotonic() > deadline:
            return dict(annotations)
        time.sleep(0.05)
