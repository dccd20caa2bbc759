"""The CanaryRollout pass called through the machinery with fake Qdrant, Kubernetes and ConfigMap
clients: every way it refuses or fails, and what it then did (not) publish or switch."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

import httpx
from kubernetes.client.exceptions import ApiException
from qdrant_client.http import models
from qdrant_client.http.exceptions import UnexpectedResponse

from qco.api.canary import CANARY_ROLLOUT
from qco.clients.configmaps import ConfigMapView
from qco.reconcile.canary import CANARY_RECONCILER
from qco.reconcile.machinery import finalize_object, reconcile_object
from qco.reconcile.outcome import PassResult
from qco.reconcile.snapshot import PassSnapshot
from qco.routing.table import ROUTING_KEY
from tests.unit.fakes import Harness, harness

LOG = logging.getLogger("test")
UID = "uid-docs-v2"


@dataclass
class FakeConfigMaps:
    """ConfigMaps by (namespace, name), the rollout as the API server has it, and what was written."""

    maps: dict[tuple[str, str], ConfigMapView] = field(default_factory=dict)
    rollout: dict[str, Any] | None = None
    published: list[dict[str, Any]] = field(default_factory=list)
    read_error: Exception | None = None

    async def read(self, namespace: str, name: str) -> ConfigMapView | None:
        if self.read_error is not None:
            raise self.read_error
        return self.maps.get((namespace, name))

    async def publish(
        self, namespace: str, name: str, key: str, value: str, owner: Any, exists: bool
    ) -> None:
        current = self.maps.get((namespace, name))
        assert exists == (current is not None)
        self.published.append(json.loads(value))
        owners = current.owner_uids if current else (owner["uid"],)
        data = {**(current.data if current else {}), key: value}
        self.maps[(namespace, name)] = ConfigMapView(data, current.annotations if current else {}, owners)

    async def read_custom_object(self, *args: str) -> dict[str, Any] | None:
        return self.rollout


def rollout(spec: dict[str, Any], status: dict[str, Any] | None = None, **annotations: str) -> dict[str, Any]:
    return {
        "apiVersion": "qco.dev/v1alpha1",
        "kind": "CanaryRollout",
        "metadata": {
            "name": "docs-v2",
            "namespace": "team",
            "uid": UID,
            "generation": 1,
            "resourceVersion": "1",
            "creationTimestamp": "2026-01-02T00:00:00Z",
            "annotations": annotations,
        },
        "spec": {"alias": "docs", "canary": "docs_v2", "routing": {"configMap": "docs-routing"}, **spec},
        "status": status or {},
    }


async def world(collections: tuple[str, ...] = ("docs_v1", "docs_v2")) -> tuple[Harness, FakeConfigMaps]:
    h = harness()
    maps = FakeConfigMaps()
    h.ctx.configmaps = maps  # type: ignore[assignment]
    gateway = h.gateway()
    for name in collections:
        vectors = models.VectorParams(size=4, distance=models.Distance.COSINE)
        await gateway.create_collection(name, models.CreateCollection(vectors=vectors))
    gateway.aliases["docs"] = collections[0]
    gateway.calls.clear()
    return h, maps


async def run(h: Harness, maps: FakeConfigMaps, obj: dict[str, Any]) -> PassResult:
    """One pass; the status it wrote is fed back into the object (as the API server would)."""
    maps.rollout = obj
    result = await reconcile_object(h.ctx, CANARY_RECONCILER, PassSnapshot.take(CANARY_ROLLOUT, obj), LOG)
    for _, _, patch in h.kube.status_patches:
        for key, value in patch.items():
            if value is None:
                obj["status"].pop(key, None)
            else:
                obj["status"][key] = value
    h.kube.status_patches.clear()
    return result


def ready(obj: dict[str, Any]) -> dict[str, Any]:
    return next(c for c in obj["status"]["conditions"] if c["type"] == "Ready")


def switches(h: Harness) -> int:
    return h.gateway().calls.count(("update_aliases", ""))


async def test_a_configmap_owned_by_someone_else_is_never_overwritten() -> None:
    h, maps = await world()
    maps.maps[("team", "docs-routing")] = ConfigMapView({"other": "x"}, {}, ("uid-someone",))
    obj = rollout({"steps": [{"setWeight": 10}]})
    result = await run(h, maps, obj)
    assert (result.condition, result.reason) == ("Stalled", "ConfigMapOwnedElsewhere")
    assert "ConfigMap docs-routing exists and is not owned by this rollout" in ready(obj)["message"]
    assert maps.published == [] and switches(h) == 0


async def test_an_alias_declared_by_a_collection_is_not_taken() -> None:
    h, maps = await world()
    h.kube.objects[("qdrantcollections", "team", "docs")] = {
        "metadata": {"name": "docs", "namespace": "team", "uid": "c1"},
        "spec": {"aliases": ["docs"]},
    }
    obj = rollout({"steps": [{"setWeight": 10}]})
    result = await run(h, maps, obj)
    assert (result.condition, result.reason) == ("Stalled", "AliasOwnedElsewhere")
    assert "QdrantCollection team/docs" in ready(obj)["message"]
    assert maps.published == [] and switches(h) == 0 and "phase" not in obj["status"]


async def test_missing_collections_and_a_missing_stable_stall_without_acting() -> None:
    h, maps = await world(("docs_v1",))
    obj = rollout({"steps": [{"setWeight": 10}]})
    result = await run(h, maps, obj)
    assert (result.condition, result.reason) == ("Stalled", "CollectionNotFound")
    assert "['docs_v2']" in ready(obj)["message"] and maps.published == []
    h.gateway().aliases.clear()
    fresh = rollout({"steps": [{"setWeight": 10}]})
    result = await run(h, maps, fresh)
    assert (result.condition, result.reason) == ("Stalled", "NoStable")


async def test_a_failed_alias_switch_keeps_the_state_and_is_retried_without_republishing() -> None:
    h, maps = await world()
    failures = [
        UnexpectedResponse(500, "Internal Server Error", b'{"status":{"error":"boom"}}', httpx.Headers())
    ]

    def hook(operation: str, name: str) -> None:
        if operation == "update_aliases" and failures:
            raise failures.pop()

    h.gateway().hook = hook
    obj = rollout({"steps": [{"setWeight": 50}]})
    await run(h, maps, obj)  # 50 %, then at once 100 % and the switch, which fails
    assert (obj["status"]["phase"], obj["status"].get("aliasSwitchedAt")) == ("Promoting", None)
    assert "alias switch failed, retrying: UnexpectedResponse" in obj["status"]["message"]
    assert "AliasSwitchFailed" in h.reasons() and "Succeeded" not in h.reasons()
    assert [p["weights"]["docs_v2"] for p in maps.published] == [100]  # the last split of the pass
    assert h.gateway().aliases["docs"] == "docs_v1"
    result = await run(h, maps, obj)
    assert (result.condition, obj["status"]["phase"]) == ("Ready", "Succeeded")
    assert h.gateway().aliases["docs"] == "docs_v2" and switches(h) == 2  # one failed, one done
    assert [p["weights"]["docs_v2"] for p in maps.published] == [100]  # not published again
    await run(h, maps, obj)
    assert switches(h) == 2 and len(maps.published) == 1  # a settled rollout writes nothing


async def test_kubernetes_errors_fail_the_pass_and_leave_the_state() -> None:
    h, maps = await world()
    maps.read_error = ApiException(status=500, reason="etcd unavailable")
    obj = rollout({"steps": [{"setWeight": 10}]})
    result = await run(h, maps, obj)
    assert result.failed and "phase" not in obj["status"] and maps.published == []
    maps.read_error = None
    await run(h, maps, obj)
    assert (obj["status"]["phase"], maps.published[-1]["weights"]["docs_v2"]) == ("Succeeded", 100)


async def test_an_unreachable_prometheus_gives_errors_then_aborts() -> None:
    h, maps = await world()
    metric = {
        "name": "latency",
        "interval": "1s",
        "count": 10,
        "consecutiveErrorLimit": 1,
        "successCondition": "result < 1",
        "prometheus": {"address": "http://127.0.0.1:1", "query": "up"},
    }
    obj = rollout(
        {
            "analysis": {"metrics": [metric]},
            "steps": [{"setWeight": 10}, {"analysis": {"metrics": ["latency"]}}],
        }
    )
    await run(h, maps, obj)  # the run is created
    for _ in range(3):
        obj["status"]["analysisRuns"] = [
            {**r, "measurements": [{**m, "at": "2000-01-01T00:00:00.000Z"} for m in r["measurements"]]}
            for r in obj["status"].get("analysisRuns") or ()
        ]  # the next measurement is due
        await run(h, maps, obj)
    assert obj["status"]["phase"] == "Aborted"
    assert "latency: 2 consecutive errors > consecutiveErrorLimit 1" in ready(obj)["message"]
    assert "Prometheus at http://127.0.0.1:1 unreachable" in ready(obj)["message"]
    assert maps.published[-1]["weights"] == {"docs_v1": 100, "docs_v2": 0} and switches(h) == 0


async def test_an_unreadable_routing_table_is_republished_and_metrics_follow() -> None:
    h, maps = await world()
    owned = ConfigMapView({ROUTING_KEY: "{not json"}, {}, (UID,))
    maps.maps[("team", "docs-routing")] = owned
    obj = rollout({"steps": [{"setWeight": 10}, {"pause": {}}]})
    await run(h, maps, obj)
    assert maps.published[-1]["weights"] == {"docs_v1": 90, "docs_v2": 10}
    assert obj["status"]["phase"] == "Paused"
    text = h.ctx.metrics.registry.get_sample_value
    labels = {"namespace": "team", "name": "docs-v2"}
    assert text("qco_canary_phase", {**labels, "phase": "Paused"}) == 1.0
    assert (text("qco_canary_weight", labels), text("qco_canary_step", labels)) == (10.0, 1.0)
    # The steady cost of a paused rollout's pass: Qdrant is asked for the aliases and each
    # collection once; nothing is written anywhere; the status is not patched.
    h.gateway().calls.clear()
    published = len(maps.published)
    await run(h, maps, obj)
    assert sorted(h.gateway().calls) == [
        ("get_collection", "docs_v1"),
        ("get_collection", "docs_v2"),
        ("list_aliases", ""),
    ]
    assert len(maps.published) == published and h.kube.status_patches == []
    await finalize_object(h.ctx, CANARY_RECONCILER, PassSnapshot.take(CANARY_ROLLOUT, obj), LOG)
    assert text("qco_canary_weight", labels) is None


def _deployment(phase: str) -> dict[str, Any]:
    return {
        "metadata": {"name": "docs", "namespace": "team", "uid": "d1"},
        "spec": {"alias": "docs"},
        "status": {
            "revisions": [
                {"number": 1, "collection": "docs_v1", "phase": "Active"},
                {"number": 2, "collection": "docs_v2", "phase": phase},
            ]
        },
    }


async def test_canary_from_waits_for_the_deployment_revision_then_rolls_it_out() -> None:
    h, maps = await world()
    h.kube.objects[("collectiondeployments", "team", "docs")] = _deployment("Filling")
    obj = rollout(
        {
            "canary": None,
            "canaryFrom": {"collectionDeployment": "docs"},
            "steps": [{"setWeight": 10}, {"pause": {}}],
        }
    )
    result = await run(h, maps, obj)
    assert (result.condition, result.reason) == ("Stalled", "CanaryNotFound")
    assert ready(obj)["message"] == "spec.canaryFrom: CollectionDeployment docs's revision docs_v2 is Filling"
    assert maps.published == [] and switches(h) == 0
    h.kube.objects[("collectiondeployments", "team", "docs")] = _deployment("AwaitingRollout")
    await run(h, maps, obj)
    assert (obj["status"]["stable"], obj["status"]["canary"]) == ("docs_v1", "docs_v2")
    assert maps.published[-1]["weights"] == {"docs_v1": 90, "docs_v2": 10} and switches(h) == 0


async def test_a_deployment_alias_is_taken_only_through_canary_from() -> None:
    h, maps = await world()
    h.kube.objects[("collectiondeployments", "team", "docs")] = _deployment("AwaitingRollout")
    obj = rollout({"steps": [{"setWeight": 10}]})
    result = await run(h, maps, obj)
    assert (result.condition, result.reason) == ("Stalled", "AliasOwnedElsewhere")
    assert "CollectionDeployment docs" in ready(obj)["message"]
    assert maps.published == [] and switches(h) == 0
