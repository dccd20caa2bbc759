"""List pages (`limit`/`continue`) and watches whose label selector an object enters or leaves."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import httpx
import pytest

from qco.sandbox.kube import KubeSandbox
from tests.plugins.kube_emulator import KubeEmulatorHandle

CM = "/api/v1/namespaces/default/configmaps"
MERGE = {"Content-Type": "application/merge-patch+json"}


@pytest.fixture
async def sandbox() -> AsyncIterator[KubeSandbox]:
    async with KubeSandbox() as running:
        yield running


@pytest.fixture
async def client(sandbox: KubeSandbox) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=sandbox.url, timeout=30) as http:
        yield http


async def test_list_pages_with_limit_and_continue(client: httpx.AsyncClient) -> None:
    for index in range(5):
        await client.post(CM, json={"metadata": {"name": f"cm-{index}", "labels": {"n": str(index % 2)}}})
    first = (await client.get(CM, params={"limit": 2})).json()
    assert [o["metadata"]["name"] for o in first["items"]] == ["cm-0", "cm-1"]
    assert first["metadata"]["remainingItemCount"] == 3
    token = first["metadata"]["continue"]
    second = (await client.get(CM, params={"limit": 2, "continue": token})).json()
    assert [o["metadata"]["name"] for o in second["items"]] == ["cm-2", "cm-3"]
    assert second["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"]
    last = (await client.get(CM, params={"limit": 2, "continue": second["metadata"]["continue"]})).json()
    assert [o["metadata"]["name"] for o in last["items"]] == ["cm-4"]
    assert "continue" not in last["metadata"]
    assert "remainingItemCount" not in last["metadata"]
    # With a selector the API server does not count what is left.
    selected = (await client.get(CM, params={"limit": 1, "labelSelector": "n=0"})).json()
    assert [o["metadata"]["name"] for o in selected["items"]] == ["cm-0"]
    assert "remainingItemCount" not in selected["metadata"]
    assert selected["metadata"]["continue"]
    bad = await client.get(CM, params={"continue": "not-a-token"})
    assert bad.status_code == 400
    assert bad.json()["message"].startswith("continue key is not valid")


def test_kubectl_reads_every_page(kube_emulator: KubeEmulatorHandle) -> None:
    for index in range(7):
        kube_emulator.kubectl("create", "configmap", f"cm-{index}")
    names = kube_emulator.kubectl("get", "configmaps", "--chunk-size=3", "-o", "name").stdout.split()
    assert names == [f"configmap/cm-{index}" for index in range(7)]


async def _collect(client: httpx.AsyncClient, query: str, count: int) -> list[tuple[str, str]]:
    seen: list[tuple[str, str]] = []
    async with client.stream("GET", f"{CM}?watch=true&{query}") as response:
        async for line in response.aiter_lines():
            if line:
                event = json.loads(line)
                seen.append((event["type"], event["object"]["metadata"]["labels"].get("tier", "")))
                if len(seen) == count:
                    return seen
    return seen


async def test_watch_with_a_label_selector_sees_objects_leave_and_enter(client: httpx.AsyncClient) -> None:
    await client.post(CM, json={"metadata": {"name": "a", "labels": {"tier": "gold"}}})

    async def label(tier: str) -> None:
        await client.patch(f"{CM}/a", json={"metadata": {"labels": {"tier": tier}}}, headers=MERGE)

    async with client.stream("GET", f"{CM}?watch=true&labelSelector=tier%3Dgold") as response:
        lines = response.aiter_lines()

        async def next_event() -> tuple[str, str]:
            event = json.loads(await asyncio.wait_for(anext(lines), 30))
            return event["type"], event["object"]["metadata"]["labels"]["tier"]

        assert await next_event() == ("ADDED", "gold")  # the initial state: the watch is live
        await label("silver")
        assert await next_event() == ("DELETED", "silver")  # it left the selection (with the new object)
        await label("bronze")  # still outside: nothing is sent, so the next event is gold's
        await label("gold")
        assert await next_event() == ("ADDED", "gold")  # it entered the selection again
        await client.patch(f"{CM}/a", json={"data": {"k": "v"}}, headers=MERGE)
        assert await next_event() == ("MODIFIED", "gold")


async def test_replayed_watch_applies_the_same_transitions(client: httpx.AsyncClient) -> None:
    created = await client.post(CM, json={"metadata": {"name": "a", "labels": {"tier": "gold"}}})
    version = created.json()["metadata"]["resourceVersion"]
    await client.patch(f"{CM}/a", json={"metadata": {"labels": {"tier": "silver"}}}, headers=MERGE)
    await client.patch(f"{CM}/a", json={"metadata": {"labels": {"tier": "gold"}}}, headers=MERGE)
    events = await asyncio.wait_for(
        _collect(client, f"labelSelector=tier%3Dgold&resourceVersion={version}&timeoutSeconds=1", 2), 30
    )
    assert events == [("DELETED", "silver"), ("ADDED", "gold")]
