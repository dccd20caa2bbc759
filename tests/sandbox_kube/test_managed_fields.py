"""Server-side apply as an API server does it: managedFields, ownership, conflicts, force."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from qco.sandbox.kube import KubeSandbox
from tests.plugins.kube_emulator import KubeEmulatorHandle
from tests.sandbox_kube.conftest import MANIFESTS

WIDGET = (MANIFESTS / "widget.yaml").read_text()
APPLY = {"Content-Type": "application/apply-patch+yaml"}
MERGE = {"Content-Type": "application/merge-patch+json"}
CM = "/api/v1/namespaces/default/configmaps"


def _managed(kube: KubeEmulatorHandle, name: str = "alpha") -> dict[tuple[str, str, str], dict[str, Any]]:
    out = kube.kubectl("get", "widget", name, "-o", "json", "--show-managed-fields").stdout
    entries = json.loads(out)["metadata"].get("managedFields", [])
    return {(e["manager"], e["operation"], e.get("subresource", "")): e["fieldsV1"] for e in entries}


def _apply(kube: KubeEmulatorHandle, manifest: str, manager: str, *extra: str, check: bool = True) -> Any:
    return kube.kubectl(
        "apply", "--server-side", "--field-manager", manager, *extra, "-f", "-", input=manifest, check=check
    )


def test_apply_records_what_each_manager_owns(kube: KubeEmulatorHandle) -> None:
    _apply(kube, WIDGET, "flux")
    kube.kubectl(
        "patch",
        "widget",
        "alpha",
        "--subresource=status",
        "--type=merge",
        "-p",
        '{"status": {"phase": "Ok"}}',
    )
    kube.kubectl("label", "widget", "alpha", "team=search")
    managed = _managed(kube)
    assert managed == {
        ("flux", "Apply", ""): {
            "f:metadata": {"f:labels": {"f:tier": {}}},
            "f:spec": {"f:collectionName": {}, "f:size": {}, "f:vectors": {"f:dense": {"f:size": {}}}},
        },
        ("kubectl-patch", "Update", "status"): {"f:status": {"f:phase": {}}},
        ("kubectl-label", "Update", ""): {"f:metadata": {"f:labels": {"f:team": {}}}},
    }


def test_reapply_after_status_writes_is_a_no_op_without_conflict(kube: KubeEmulatorHandle) -> None:
    _apply(kube, WIDGET, "kustomize-controller")
    kube.kubectl(
        "patch",
        "widget",
        "alpha",
        "--subresource=status",
        "--type=merge",
        "-p",
        '{"status": {"phase": "Ready", "observedGeneration": 1}}',
    )
    before = json.loads(kube.kubectl("get", "widget", "alpha", "-o", "json").stdout)
    _apply(kube, WIDGET, "kustomize-controller")
    after = json.loads(kube.kubectl("get", "widget", "alpha", "-o", "json").stdout)
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
    assert after["status"] == {"phase": "Ready", "observedGeneration": 1}


def test_conflict_between_appliers_and_force(kube: KubeEmulatorHandle) -> None:
    _apply(kube, WIDGET, "flux")
    changed = WIDGET.replace("size: 8", "size: 9")
    refused = _apply(kube, changed, "helm", check=False)
    assert refused.returncode == 1
    assert 'error: Apply failed with 1 conflict: conflict with "flux": .spec.size' in refused.stderr
    assert kube.kubectl("get", "widget", "alpha", "-o", "jsonpath={.spec.size}").stdout == "8"

    _apply(kube, changed, "helm", "--force-conflicts")
    assert kube.kubectl("get", "widget", "alpha", "-o", "jsonpath={.spec.size}").stdout == "9"
    managed = _managed(kube)
    assert "f:size" not in managed[("flux", "Apply", "")]["f:spec"]
    assert "f:size" in managed[("helm", "Apply", "")]["f:spec"]
    # Flux now conflicts with helm when it applies its old value again.
    again = _apply(kube, WIDGET, "flux", check=False)
    assert 'conflict with "helm": .spec.size' in again.stderr


def test_same_value_is_shared_and_survives_one_manager_leaving(kube: KubeEmulatorHandle) -> None:
    _apply(kube, WIDGET, "flux")
    _apply(kube, WIDGET, "helm")  # the same values: co-owned, no conflict
    assert "f:size" in _managed(kube)[("helm", "Apply", "")]["f:spec"]
    _apply(kube, WIDGET.replace("  size: 8\n", ""), "flux")  # flux stops managing size
    assert kube.kubectl("get", "widget", "alpha", "-o", "jsonpath={.spec.size}").stdout == "8"
    _apply(kube, WIDGET.replace("  size: 8\n", ""), "helm")  # nobody manages it: removed, defaulted
    assert kube.kubectl("get", "widget", "alpha", "-o", "jsonpath={.spec.size}").stdout == "4"


def test_conflict_with_an_update_manager_names_version_and_time(kube: KubeEmulatorHandle) -> None:
    _apply(kube, WIDGET, "flux")
    kube.kubectl("patch", "widget", "alpha", "--type=merge", "-p", '{"spec": {"size": 10}}')
    managed = _managed(kube)
    assert managed[("kubectl-patch", "Update", "")] == {"f:spec": {"f:size": {}}}
    assert "f:size" not in managed[("flux", "Apply", "")]["f:spec"]  # an update takes the field over
    refused = _apply(kube, WIDGET, "flux", check=False)
    assert refused.returncode == 1
    assert 'conflict with "kubectl-patch" using test.qco.dev/v1 at 20' in refused.stderr
    assert ": .spec.size" in refused.stderr


def test_status_apply_never_conflicts_with_spec(kube: KubeEmulatorHandle) -> None:
    _apply(kube, WIDGET, "flux")
    status = WIDGET.replace("spec:", "status:\n  phase: Ready\nspec:").replace("size: 8", "size: 99")
    _apply(kube, status, "operator", "--subresource=status")
    obj = json.loads(kube.kubectl("get", "widget", "alpha", "-o", "json").stdout)
    assert obj["status"] == {"phase": "Ready"}
    assert obj["spec"]["size"] == 8
    assert _managed(kube)[("operator", "Apply", "status")] == {"f:status": {"f:phase": {}}}


def test_associative_lists_and_sets_are_owned_per_item(kube: KubeEmulatorHandle) -> None:
    base = WIDGET + "  endpoints: [{name: a, port: 1}]\n  zones: [eu]\n"
    _apply(kube, base, "flux")
    other = (
        "apiVersion: test.qco.dev/v1\nkind: Widget\nmetadata: {name: alpha}\n"
        "spec: {collectionName: alpha-docs, endpoints: [{name: b, port: 2}], zones: [us]}\n"
    )
    _apply(kube, other, "helm")  # other items of the same lists: no conflict
    obj = json.loads(kube.kubectl("get", "widget", "alpha", "-o", "json").stdout)
    assert obj["spec"]["endpoints"] == [{"name": "a", "port": 1}, {"name": "b", "port": 2}]
    assert obj["spec"]["zones"] == ["eu", "us"]
    helm = _managed(kube)[("helm", "Apply", "")]["f:spec"]
    assert helm["f:endpoints"] == {'k:{"name":"b"}': {".": {}, "f:name": {}, "f:port": {}}}
    assert helm["f:zones"] == {'v:"us"': {}}
    clash = other.replace("port: 2", "port: 2}, {name: a, port: 7")
    refused = _apply(kube, clash, "helm", check=False)
    assert 'conflict with "flux": .spec.endpoints[name="a"].port' in refused.stderr


def test_duplicate_items_of_map_and_set_lists_are_422(kube: KubeEmulatorHandle) -> None:
    manifest = WIDGET + "  endpoints: [{name: a, port: 1}, {name: a, port: 2}]\n  zones: [eu, eu]\n"
    result = kube.kubectl("apply", "-f", "-", input=manifest, check=False)
    assert result.returncode == 1
    assert 'spec.endpoints[1]: Duplicate value: map[string]interface {}{"name":"a"}' in result.stderr
    assert 'spec.zones[1]: Duplicate value: "eu"' in result.stderr


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with KubeSandbox() as sandbox, httpx.AsyncClient(base_url=sandbox.url, timeout=30) as http:
        yield http


async def test_conflict_status_body_has_causes(client: httpx.AsyncClient) -> None:
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "1", "b": "1"}}
    created = await client.patch(f"{CM}/c?fieldManager=one", json=body, headers=APPLY)
    assert created.status_code == 201 or created.status_code == 200
    body["data"] = {"a": "2", "b": "2"}
    refused = await client.patch(f"{CM}/c?fieldManager=two", json=body, headers=APPLY)
    assert refused.status_code == 409
    status = refused.json()
    assert status["reason"] == "Conflict"
    assert status["message"] == 'Apply failed with 2 conflicts: conflicts with "one":\n- .data.a\n- .data.b'
    assert status["details"]["causes"] == [
        {"reason": "FieldManagerConflict", "message": 'conflict with "one"', "field": ".data.a"},
        {"reason": "FieldManagerConflict", "message": 'conflict with "one"', "field": ".data.b"},
    ]
    forced = await client.patch(f"{CM}/c?fieldManager=two&force=true", json=body, headers=APPLY)
    assert forced.status_code == 200
    assert forced.json()["data"] == {"a": "2", "b": "2"}
    assert [e["manager"] for e in forced.json()["metadata"]["managedFields"]] == ["two"]


async def test_patch_options_are_validated(client: httpx.AsyncClient) -> None:
    await client.post(CM, json={"metadata": {"name": "c"}})
    no_manager = await client.patch(f"{CM}/c", json={"apiVersion": "v1", "kind": "ConfigMap"}, headers=APPLY)
    assert no_manager.status_code == 422
    assert no_manager.json()["message"] == (
        'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch'
    )
    forced = await client.patch(f"{CM}/c?force=true", json={"data": {"a": "1"}}, headers=MERGE)
    assert forced.status_code == 422
    assert "force: Forbidden: may not be specified for non-apply patch" in forced.json()["message"]


async def test_update_manager_defaults_to_the_user_agent(client: httpx.AsyncClient) -> None:
    created = await client.post(
        CM, json={"metadata": {"name": "c"}, "data": {"a": "1"}}, headers={"User-Agent": "kopf/1.45.2"}
    )
    assert created.json()["metadata"]["managedFields"] == [
        {
            "manager": "kopf",
            "operation": "Update",
            "apiVersion": "v1",
            "time": created.json()["metadata"]["managedFields"][0]["time"],
            "fieldsType": "FieldsV1",
            "fieldsV1": {"f:data": {"f:a": {}}},
        }
    ]
    patched = await client.patch(f"{CM}/c?fieldManager=editor", json={"data": {"b": "2"}}, headers=MERGE)
    managed = {e["manager"]: e["fieldsV1"] for e in patched.json()["metadata"]["managedFields"]}
    assert managed == {"kopf": {"f:data": {"f:a": {}}}, "editor": {"f:data": {"f:b": {}}}}
