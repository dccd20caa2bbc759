"""A tiny kopf operator against the emulator: handlers, status, events, finalizers, children."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import kopf
import kubernetes
import pytest

from tests.plugins.kube_emulator import KubeEmulatorHandle, run_kopf_operator
from tests.sandbox_kube.conftest import MANIFESTS


def eventually(check: Callable[[], Any], timeout: float = 60, what: str = "condition") -> Any:
    """Poll until `check()` returns something truthy (the operator works asynchronously)."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {timeout}s")
        time.sleep(0.1)


def build_operator(kubeconfig: Path, deleted: list[str]) -> kopf.OperatorRegistry:
    """Widgets get a ConfigMap child, status, events, a timer and a finalizer (via the delete handler)."""
    registry = kopf.OperatorRegistry()
    api = kubernetes.client.CoreV1Api(kubernetes.config.new_client_from_config(config_file=str(kubeconfig)))

    @kopf.on.create("test.qco.dev", "v1", "widgets", registry=registry)
    async def create_fn(
        name: str, namespace: str, spec: kopf.Spec, body: kopf.Body, patch: kopf.Patch, **_: Any
    ) -> None:
        child: dict[str, Any] = {
            "metadata": {"name": f"{name}-settings", "labels": {"app": "widget-child"}},
            "data": {"size": str(spec["size"])},
        }
        kopf.adopt(child, owner=body)
        # The official client is blocking: keep it off the event loop, as the real operator does.
        await asyncio.to_thread(api.create_namespaced_config_map, namespace, child)
        kopf.info(body, reason="Created", message=f"ConfigMap {name}-settings created")
        patch.status["phase"] = "Created"
        patch.status["conditions"] = [{"type": "Ready", "status": "True", "reason": "Created"}]

    @kopf.on.update("test.qco.dev", "v1", "widgets", registry=registry, field="spec")
    async def update_fn(
        name: str, namespace: str, spec: kopf.Spec, meta: kopf.Meta, patch: kopf.Patch, **_: Any
    ) -> None:
        body = {"data": {"size": str(spec["size"])}}
        await asyncio.to_thread(api.patch_namespaced_config_map, f"{name}-settings", namespace, body)
        patch.status["observedGeneration"] = meta["generation"]

    @kopf.on.delete("test.qco.dev", "v1", "widgets", registry=registry)
    async def delete_fn(name: str, **_: Any) -> None:
        deleted.append(name)

    @kopf.timer("test.qco.dev", "v1", "widgets", registry=registry, interval=0.5)
    async def tick_fn(status: kopf.Status, patch: kopf.Patch, **_: Any) -> None:
        patch.status["phase"] = "Ticking"

    @kopf.on.create("", "v1", "configmaps", registry=registry, labels={"app": "widget-child"})
    async def child_fn(patch: kopf.Patch, **_: Any) -> None:
        patch.metadata.setdefault("annotations", {})["test.qco.dev/seen"] = "yes"

    return registry


@pytest.fixture
def kube(kube_emulator: KubeEmulatorHandle) -> KubeEmulatorHandle:
    """The emulator with the widgets CRD."""
    kube_emulator.apply_crds([MANIFESTS / "crd.yaml"])
    return kube_emulator


def _get(kube: KubeEmulatorHandle, *args: str) -> dict[str, Any] | None:
    result = kube.kubectl("get", *args, "-o", "json", check=False)
    return json.loads(result.stdout) if result.returncode == 0 else None


def test_kopf_operator_lifecycle(kube: KubeEmulatorHandle) -> None:
    deleted: list[str] = []
    registry = build_operator(kube.kubeconfig, deleted)
    with run_kopf_operator(kube.kubeconfig, registry=registry, namespaces=["default"]):
        kube.kubectl("apply", "-f", str(MANIFESTS / "widget.yaml"))
        kube.kubectl("wait", "--for=condition=Ready", "widget/alpha", "--timeout=60s")
        widget = _get(kube, "widget", "alpha")
        assert widget is not None
        assert "kopf.zalando.org/KopfFinalizerMarker" in widget["metadata"]["finalizers"]

        # The child ConfigMap: owned by the widget, and seen by the operator's own configmap handler.
        child = eventually(
            lambda: (
                (cm := _get(kube, "configmap", "alpha-settings"))
                and (cm["metadata"].get("annotations") or {}).get("test.qco.dev/seen") == "yes"
                and cm
            ),
            what="child ConfigMap annotated",
        )
        assert child["metadata"]["ownerReferences"][0]["uid"] == widget["metadata"]["uid"]
        assert child["data"] == {"size": "8"}

        # The event kopf posted about the widget.
        events = eventually(
            lambda: (
                (ev := _get(kube, "events", "--field-selector", "involvedObject.name=alpha"))
                and [e for e in ev["items"] if e["reason"] == "Created"]
            ),
            what="event posted",
        )
        assert events[0]["involvedObject"]["uid"] == widget["metadata"]["uid"]

        # The timer writes status; spec updates reach the update handler with the new generation.
        eventually(lambda: (_get(kube, "widget", "alpha") or {}).get("status", {}).get("phase") == "Ticking")
        kube.kubectl("patch", "widget", "alpha", "--type=merge", "-p", '{"spec": {"size": 12}}')
        updated = eventually(
            lambda: (w := _get(kube, "widget", "alpha")) and w["status"].get("observedGeneration") == 2 and w,
            what="update handled",
        )
        assert updated["metadata"]["generation"] == 2
        assert eventually(lambda: (_get(kube, "configmap", "alpha-settings") or {}).get("data")) == {
            "size": "12"
        }

        # Deletion: the delete handler runs, kopf releases its finalizer, the child is collected.
        kube.kubectl("delete", "widget", "alpha", "--timeout=60s")
        assert deleted == ["alpha"]
        assert _get(kube, "widget", "alpha") is None
        assert _get(kube, "configmap", "alpha-settings") is None
