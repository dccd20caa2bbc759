"""The emulator over HTTP: watches (replay, timeout, 410), Status bodies, generateName, the CLI."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import yaml

from qco.sandbox.kube import KubeSandbox

CM = "/api/v1/namespaces/default/configmaps"


@pytest.fixture
async def sandbox() -> AsyncIterator[KubeSandbox]:
    async with KubeSandbox(history_window=5) as running:
        yield running


@pytest.fixture
async def client(sandbox: KubeSandbox) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=sandbox.url, timeout=30) as http:
        yield http


async def _watch(client: httpx.AsyncClient, query: str) -> tuple[str, list[dict]]:
    async with client.stream("GET", f"{CM}?watch=true&{query}") as response:
        lines = [json.loads(line) async for line in response.aiter_lines() if line]
        return response.headers["content-type"], lines


async def test_watch_replays_from_resource_version_and_honours_timeout(client: httpx.AsyncClient) -> None:
    await client.post(CM, json={"metadata": {"name": "a"}, "data": {"k": "1"}})
    listed = (await client.get(CM)).json()
    version = listed["metadata"]["resourceVersion"]
    await client.patch(
        f"{CM}/a", json={"data": {"k": "2"}}, headers={"Content-Type": "application/merge-patch+json"}
    )
    await client.post(CM, json={"metadata": {"name": "b"}})
    content_type, events = await _watch(client, f"resourceVersion={version}&timeoutSeconds=1")
    assert content_type.startswith("application/json")
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [
        ("MODIFIED", "a"),
        ("ADDED", "b"),
    ]
    _, initial = await _watch(client, "timeoutSeconds=1&labelSelector=missing")
    assert initial == []


async def test_watch_from_a_forgotten_version_is_410_expired(client: httpx.AsyncClient) -> None:
    created = (await client.post(CM, json={"metadata": {"name": "a"}})).json()
    for value in range(8):  # more changes than the sandbox's history window of 5
        await client.patch(
            f"{CM}/a",
            json={"data": {"v": str(value)}},
            headers={"Content-Type": "application/merge-patch+json"},
        )
    _, events = await _watch(
        client, f"resourceVersion={created['metadata']['resourceVersion']}&timeoutSeconds=1"
    )
    assert events[0]["type"] == "ERROR"
    assert events[0]["object"]["code"] == 410
    assert events[0]["object"]["reason"] == "Expired"


async def test_status_bodies_generate_name_and_builtin_kinds(client: httpx.AsyncClient) -> None:
    created = await client.post(CM, json={"metadata": {"generateName": "cm-"}})
    assert created.status_code == 201
    assert created.json()["metadata"]["name"].startswith("cm-")
    again = await client.post(CM, json={"metadata": {"name": created.json()["metadata"]["name"]}})
    assert again.status_code == 409
    assert again.json()["kind"] == "Status"
    assert again.json()["reason"] == "AlreadyExists"
    missing = await client.get(f"{CM}/nope")
    assert missing.status_code == 404
    assert missing.json()["message"] == 'configmaps "nope" not found'
    nowhere = await client.post("/api/v1/namespaces/nowhere/configmaps", json={"metadata": {"name": "x"}})
    assert nowhere.json()["message"] == 'namespaces "nowhere" not found'
    lease = {"metadata": {"name": "leader"}, "spec": {"holderIdentity": "me"}}
    assert (
        await client.post("/apis/coordination.k8s.io/v1/namespaces/default/leases", json=lease)
    ).status_code == 201
    event = {"metadata": {"name": "e1"}, "reason": "Test", "note": "hello", "regarding": {"name": "x"}}
    assert (
        await client.post("/apis/events.k8s.io/v1/namespaces/default/events", json=event)
    ).status_code == 201
    secret = {"metadata": {"name": "s"}, "stringData": {"key": "value"}}
    stored = (await client.post("/api/v1/namespaces/default/secrets", json=secret)).json()
    assert stored["data"] == {"key": "dmFsdWU="}
    assert stored["type"] == "Opaque"


async def test_discovery_lists_core_namespaces_with_verbs(client: httpx.AsyncClient) -> None:
    core = (await client.get("/api/v1")).json()
    namespaces = next(r for r in core["resources"] if r["name"] == "namespaces")
    assert "watch" in namespaces["verbs"]
    assert not namespaces["namespaced"]
    groups = {g["name"] for g in (await client.get("/apis")).json()["groups"]}
    assert {"coordination.k8s.io", "events.k8s.io", "apiextensions.k8s.io"} <= groups


def test_module_entry_point_prints_kubeconfig_and_exits_cleanly(tmp_path: Path) -> None:
    target = tmp_path / "kubeconfig"
    process = subprocess.Popen(
        [sys.executable, "-m", "qco.sandbox.kube", "--port", "0", "--kubeconfig", str(target)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line == f"kubeconfig: {target}\n"
        config = yaml.safe_load(target.read_text())
        assert config["current-context"] == "qco-sandbox"
        server = config["clusters"][0]["cluster"]["server"]
        assert httpx.get(f"{server}/api/v1/namespaces/default").json()["metadata"]["name"] == "default"
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 0, err
    assert out == ""  # exactly one line in total


async def test_request_counters_per_call_kind_and_reset(client: httpx.AsyncClient) -> None:
    await client.delete("/_sandbox/requests")
    await client.post(CM, json={"metadata": {"name": "counted"}})
    await client.get(f"{CM}/counted")
    await client.get(CM)
    await client.patch(
        f"{CM}/counted", json={"data": {"k": "v"}}, headers={"Content-Type": "application/merge-patch+json"}
    )
    counts = (await client.get("/_sandbox/requests")).json()["counts"]
    assert counts == {
        "POST configmaps": 1,
        "GET get configmaps": 1,
        "GET list configmaps": 1,
        "PATCH configmaps": 1,
    }
    await client.delete("/_sandbox/requests")
    assert (await client.get("/_sandbox/requests")).json()["counts"] == {}
