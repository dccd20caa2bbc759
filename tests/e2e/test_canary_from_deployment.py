"""A CanaryRollout with canaryFrom takes a CollectionDeployment's new revision: the deployment at
revision 1 serves the alias, a spec change builds revision 2, which waits in AwaitingRollout; the
rollout (its canary resolved from the deployment) is promoted and makes the one alias switch; the
deployment ends Complete on revision 2 without switching again."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from tests.e2e.canary_env import rollout
from tests.e2e.conftest import Sandbox, reason_of
from tests.e2e.deployments import alias_target, example, points, wait_complete, wait_deployment
from tests.e2e.waits import status_json, wait_until

pytestmark = pytest.mark.slow

SWITCH = ("POST", "/collections/aliases")
ROLLOUT = {
    "apiVersion": "qco.dev/v1alpha1",
    "kind": "CanaryRollout",
    "metadata": {"name": "docs-next", "namespace": "default"},
    "spec": {
        "alias": "docs",
        "canaryFrom": {"collectionDeployment": "docs"},
        "routing": {"configMap": "docs-routing"},
        "steps": [{"setWeight": 20}, {"pause": {}}],
    },
}


def wait_rollout(sandbox: Sandbox, done: Any, timeout: float = 90) -> dict[str, Any]:
    """Poll the rollout until `done(object)`; fail with its last status otherwise."""
    return wait_until(
        lambda: rollout(sandbox, "docs-next"),
        done,
        timeout,
        what="CanaryRollout docs-next to reach the awaited state",
        describe=status_json,
        interval=0.3,
    )


def test_a_deployment_revision_is_rolled_out_by_a_canary_with_one_switch(sandbox: Sandbox) -> None:
    client = sandbox.qdrant()
    sandbox.apply(example("first.yaml"))
    rev1 = wait_complete(sandbox, "docs")["status"]["activeCollection"]
    client.upsert("docs", points(0, 50, 8), wait=True)

    sandbox.apply(copy.deepcopy(ROLLOUT))
    # Revision 1 serves the alias: no canary yet, and nothing published or switched.
    waiting = wait_rollout(sandbox, lambda o: reason_of(o, "Stalled") == "CanaryNotFound")
    assert "phase" not in waiting["status"] and alias_target(client, "docs") == rev1

    sandbox.admin.reset_requests()
    changed = example("first.yaml")
    changed["spec"]["template"]["shardNumber"] = 2
    sandbox.apply(changed)
    held = wait_deployment(
        sandbox, "docs", lambda o: (o.get("status") or {}).get("phase") == "AwaitingRollout"
    )
    rev2 = held["status"]["revisions"][-1]["collection"]
    assert held["status"]["revisions"][-1]["phase"] == "AwaitingRollout" and rev2 != rev1
    assert reason_of(held, "Ready") == "AwaitingRollout" and held["status"]["activeRevision"] == 1

    paused = wait_rollout(sandbox, lambda o: (o.get("status") or {}).get("phase") == "Paused")
    assert (paused["status"]["stable"], paused["status"]["canary"]) == (rev1, rev2)
    assert paused["status"]["weights"]["canary"] == 20
    assert alias_target(client, "docs") == rev1 and sandbox.admin.count(*SWITCH) == 0
    assert deployment_phase(sandbox) == "AwaitingRollout"

    sandbox.kubectl("annotate", "canaryrollout", "docs-next", "-n", "default", "qco.dev/promote=1")
    done = wait_rollout(sandbox, lambda o: (o.get("status") or {}).get("phase") == "Succeeded")
    assert reason_of(done, "Ready") == "Succeeded"
    final = wait_complete(sandbox, "docs")
    assert (final["status"]["activeRevision"], final["status"]["activeCollection"]) == (2, rev2)
    assert [r["phase"] for r in final["status"]["revisions"]] == ["Inactive", "Active"]
    assert alias_target(client, "docs") == rev2 and sandbox.admin.count(*SWITCH) == 1
    assert client.count("docs").count == 50


def deployment_phase(sandbox: Sandbox) -> str | None:
    out = sandbox.kubectl("get", "collectiondeployment", "docs", "-n", "default", "-o", "json").stdout
    phase: str | None = json.loads(out).get("status", {}).get("phase")
    return phase
