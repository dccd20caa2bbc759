"""Object names are validated as the API server validates them (422 with its message)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from qco.sandbox.kube import KubeSandbox
from tests.plugins.kube_emulator import KubeEmulatorHandle

SUBDOMAIN_RULE = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
    "and must start and end with an alphanumeric character (e.g. 'example.com', regex used for "
    "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with KubeSandbox() as sandbox, httpx.AsyncClient(base_url=sandbox.url, timeout=30) as http:
        yield http


@pytest.mark.parametrize("name", ["Bad_Name", "ünïcode", "-leading", "trailing.", "a..b"])
async def test_invalid_configmap_names_are_422(client: httpx.AsyncClient, name: str) -> None:
    response = await client.post("/api/v1/namespaces/default/configmaps", json={"metadata": {"name": name}})
    assert response.status_code == 422
    status = response.json()
    assert status["reason"] == "Invalid"
    assert status["details"]["causes"] == [
        {
            "reason": "FieldValueInvalid",
            "message": f'Invalid value: "{name}": {SUBDOMAIN_RULE}',
            "field": "metadata.name",
        }
    ]
    assert status["message"].startswith(f'ConfigMap "{name}" is invalid: ')
    assert (await client.get("/api/v1/namespaces/default/configmaps")).json()["items"] == []


async def test_name_length_limit_and_valid_names(client: httpx.AsyncClient) -> None:
    too_long = await client.post(
        "/api/v1/namespaces/default/configmaps", json={"metadata": {"name": "a" * 254}}
    )
    assert too_long.json()["message"] == (
        f'ConfigMap "{"a" * 254}" is invalid: metadata.name: Invalid value: "{"a" * 254}": '
        "must be no more than 253 characters"
    )
    for name in ("a" * 253, "my.config-1", "0"):
        created = await client.post(
            "/api/v1/namespaces/default/configmaps", json={"metadata": {"name": name}}
        )
        assert created.status_code == 201, created.text
    # RBAC names are path segments: colons and capitals are fine, slashes are not.
    roles = "/apis/rbac.authorization.k8s.io/v1/clusterroles"
    assert (await client.post(roles, json={"metadata": {"name": "system:Reader"}})).status_code == 201
    slash = await client.post(roles, json={"metadata": {"name": "a/b"}})
    assert slash.json()["details"]["causes"][0]["message"] == "Invalid value: \"a/b\": may not contain '/'"


def test_kubectl_shows_the_api_servers_message(kube: KubeEmulatorHandle) -> None:
    namespace = kube.kubectl("create", "namespace", "Team.A", check=False)
    assert namespace.returncode == 1
    assert (
        'The Namespace "Team.A" is invalid: metadata.name: Invalid value: "Team.A": a lowercase RFC 1123 '
        "label must consist of lower case alphanumeric characters or '-'" in namespace.stderr
    )
    widget = (
        "apiVersion: test.qco.dev/v1\nkind: Widget\nmetadata: {name: My_Widget}\nspec: {collectionName: w}\n"
    )
    result = kube.kubectl("apply", "-f", "-", input=widget, check=False)
    assert result.returncode == 1
    assert (
        f'The Widget "My_Widget" is invalid: metadata.name: Invalid value: "My_Widget": {SUBDOMAIN_RULE}'
        in (result.stderr)
    )
