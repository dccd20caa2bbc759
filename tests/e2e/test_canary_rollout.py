"""CanaryRollout end to end against `qco sandbox`: an application routing through `qco.routing`
follows the published weights, `qco rollout` steers, and promotion switches the alias exactly once."""

from __future__ import annotations

import json
import subprocess
import sys

import yaml
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from prometheus_client import CollectorRegistry
from qdrant_client import models

from qco.routing import Router
from tests.e2e.canary_env import wait_rollout
from tests.e2e.conftest import ROOT, Sandbox, reason_of

EXAMPLE = ROOT / "examples" / "canary" / "manual-promotion.yaml"
SWITCH = ("POST", "/collections/aliases")


def rollout_cli(sandbox: Sandbox, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "qco", "rollout", *args, "--kubeconfig", str(sandbox.kubeconfig)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def router_for(sandbox: Sandbox) -> Router:
    configuration = k8s.Configuration()
    k8s_config.load_kube_config(config_file=str(sandbox.kubeconfig), client_configuration=configuration)
    return Router(
        "docs-routing",
        "default",
        client_id="test-app",
        fallback="docs",
        api_client=k8s.ApiClient(configuration),
        registry=CollectorRegistry(),
    )


def make_collections(sandbox: Sandbox) -> None:
    qdrant = sandbox.qdrant()
    for name in ("docs_v1", "docs_v2"):
        qdrant.create_collection(
            name, vectors_config=models.VectorParams(size=4, distance=models.Distance.COSINE)
        )
    qdrant.update_collection_aliases(
        change_aliases_operations=[
            models.CreateAliasOperation(
                create_alias=models.CreateAlias(collection_name="docs_v1", alias_name="docs")
            )
        ]
    )


def test_manual_rollout_propagates_weights_and_switches_the_alias_once(sandbox: Sandbox) -> None:
    make_collections(sandbox)
    router = router_for(sandbox).start()
    try:
        sandbox.admin.reset_requests()
        sandbox.apply(EXAMPLE.read_text())
        status = wait_rollout(sandbox, "docs-v2", lambda s: s.get("phase") == "Paused", 60)["status"]
        assert (status["currentStepIndex"], status["weights"]["canary"], status["stable"]) == (
            1,
            20,
            "docs_v1",
        )
        assert router.wait_for_generation(status["routingGeneration"], 10)
        assert router.table is not None and dict(router.table.weights) == {"docs_v1": 80, "docs_v2": 20}
        on_canary = sum(router.pick(f"user-{i}") == "docs_v2" for i in range(10_000))
        assert 1800 <= on_canary <= 2200
        # The app confirmed the generation it applied; the next pass counts it.
        rollout_cli(sandbox, "promote", "docs-v2")
        status = wait_rollout(sandbox, "docs-v2", lambda s: s.get("currentStepIndex") == 3, 60)["status"]
        assert status["weights"]["canary"] == 50 and status["phase"] == "Paused"
        assert sandbox.admin.count(*SWITCH) == 0
        out = rollout_cli(sandbox, "promote", "docs-v2")
        assert "promote requested on default/docs-v2" in out
        final = wait_rollout(sandbox, "docs-v2", lambda s: s.get("phase") == "Succeeded", 60)
        assert reason_of(final, "Ready") == "Succeeded"
        assert sandbox.qdrant().get_collection_aliases("docs_v2").aliases[0].alias_name == "docs"
        assert router.wait_for_generation(final["status"]["routingGeneration"], 10)
        assert router.pick("anyone") == "docs_v2"
        table = rollout_cli(sandbox, "status", "docs-v2")
        assert "Phase:     Succeeded" in table and "docs_v2  100%" in table
        assert sandbox.admin.count(*SWITCH) == 1
        # The routing ConfigMap is owned by the rollout and says 100% canary.
        cm = yaml.safe_load(sandbox.kubectl("get", "configmap", "docs-routing", "-o", "yaml").stdout)
        assert cm["metadata"]["ownerReferences"][0]["kind"] == "CanaryRollout"
        assert json.loads(cm["data"]["routing.json"])["weights"] == {"docs_v1": 0, "docs_v2": 100}
    finally:
        router.close()
