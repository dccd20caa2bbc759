"""Time-windowed CollectionDeployments end to end against `qco sandbox`, with 15-second windows:
windows are created ahead, the alias moves at each boundary while a load generator writes and
queries through it (0 failed requests), older windows are demoted in place (the live config shows
on_disk and binary quantization) and deleted after retention, and with `backupBeforeDelete` a
window is never deleted before a backup run holds it."""

from __future__ import annotations

import itertools
import json
import random
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import yaml
from qdrant_client import QdrantClient

from tests.e2e.conftest import ROOT, Sandbox, reason_of
from tests.e2e.deployments import alias_target, deployment_manifest, wait_deployment

WINDOW_SECONDS = 15


def rotating(name: str, alias: str, rotation: dict[str, Any], **spec: Any) -> dict[str, Any]:
    return deployment_manifest(
        name,
        {
            "alias": alias,
            "template": {"vectors": {"": {"size": 4, "distance": "Cosine"}}},
            "rotation": {"schedule": f"@every {WINDOW_SECONDS}s", **rotation},
            **spec,
        },
    )


def windows(obj: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {w["name"]: w for w in (obj.get("status") or {}).get("windows") or ()}


def collections(client: QdrantClient, prefix: str) -> set[str]:
    return {c.name for c in client.get_collections().collections if c.name.startswith(prefix)}


@dataclass
class Traffic:
    """What the writer and the reader saw through the alias."""

    writes: int = 0
    queries: int = 0
    failed: list[str] = field(default_factory=list)
    served: list[str] = field(default_factory=list)  # the alias's target, sampled as it moved


@contextmanager
def traffic(url: str, alias: str, client: QdrantClient) -> Iterator[Traffic]:
    """Upsert and query through the alias continuously; note every failure and each alias move."""
    seen = Traffic()
    stop = threading.Event()

    def writer() -> None:
        rng, next_id = random.Random(1), 0
        with httpx.Client(base_url=url, timeout=30) as http:
            while not stop.is_set():
                points = [{"id": next_id + i, "vector": [rng.random() for _ in range(4)]} for i in range(10)]
                response = http.put(f"/collections/{alias}/points?wait=true", json={"points": points})
                if response.status_code != 200:
                    seen.failed.append(f"upsert {response.status_code}: {response.text[:200]}")
                else:
                    seen.writes += len(points)
                next_id += len(points)

    def reader() -> None:
        rng = random.Random(2)
        with httpx.Client(base_url=url, timeout=30) as http:
            while not stop.is_set():
                body = {"query": [rng.random() for _ in range(4)], "limit": 3}
                response = http.post(f"/collections/{alias}/points/query", json=body)
                if response.status_code != 200:
                    seen.failed.append(f"query {response.status_code}: {response.text[:200]}")
                seen.queries += 1

    def watcher() -> None:
        while not stop.is_set():
            target = alias_target(client, alias)
            if target is not None and (not seen.served or seen.served[-1] != target):
                seen.served.append(target)
            time.sleep(0.2)

    threads = [threading.Thread(target=f, daemon=True) for f in (writer, reader, watcher)]
    for thread in threads:
        thread.start()
    try:
        yield seen
    finally:
        stop.set()
        for thread in threads:
            thread.join(60)


def test_windows_rotate_under_load_turn_cold_and_expire(sandbox: Sandbox, unique: str) -> None:
    client = sandbox.qdrant()
    name, alias, prefix = f"ev-{unique}", f"ev-{unique}-current", f"ev{unique}-"
    rotation = {
        "nameFormat": prefix + "{yyyy}{mm}{dd}{hh}{mi}{ss}",
        "precreate": 1,
        "retain": 3,
        "readAlias": f"ev-{unique}-recent",
        "cold": {
            "after": 1,
            "overrides": {
                "vectors": {"": {"onDisk": True}},
                "quantization": {"binary": {"alwaysRam": True}},
                "hnsw": {"onDisk": True},
                "onDiskPayload": True,
            },
        },
    }
    sandbox.apply(rotating(name, alias, rotation, deletionPolicy="Delete"))

    # The current window serves the alias and the next one exists ahead, empty.
    obj = wait_deployment(
        sandbox,
        name,
        lambda o: len([w for w in windows(o).values() if w["phase"] in ("Current", "Ahead")]) == 2,
        60,
    )
    first = obj["status"]["currentWindow"]
    ahead = next(n for n, w in windows(obj).items() if w["phase"] == "Ahead")
    assert alias_target(client, alias) == first
    assert client.count(ahead).count == 0
    assert obj["status"]["nextRotationTime"] == windows(obj)[ahead]["start"]

    with traffic(sandbox.qdrant_url, alias, client) as seen:
        # Four boundaries: the first window is then 4 behind and retain 3 has deleted it.
        obj = wait_deployment(
            sandbox, name, lambda o: first not in windows(o) and len(seen.served) >= 5, 8 * WINDOW_SECONDS
        )
    assert seen.failed == []
    assert seen.writes > 0 and seen.queries > 0

    # The alias visited each window once, in order (each the one created ahead of it).
    served = seen.served
    assert served[0] == first and served[1] == ahead
    assert len(set(served)) == len(served)
    assert served == sorted(served)  # names carry the start time: their order is time order
    events = [e["message"] for e in sandbox.events(name) if e["reason"] == "Rotate"]
    for old, new in itertools.pairwise(served):
        assert f"alias {alias}: {old} -> {new}" in events

    # Retention, once a pass has settled (no deletion in flight): retain 3 keeps the current window
    # and two behind it, plus the one ahead; the first window's collection is gone.
    obj = wait_deployment(
        sandbox, name, lambda o: reason_of(o, "Ready") == "WindowCurrent", 3 * WINDOW_SECONDS
    )
    assert first not in collections(client, prefix)
    state = windows(obj)
    current = obj["status"]["currentWindow"]
    behind = sorted(n for n, w in state.items() if n < current)
    assert [state[n]["phase"] for n in behind] == ["Past", "Past"]
    assert [w["phase"] for n, w in state.items() if n > current] == ["Ahead"]
    assert sorted(collections(client, prefix)) == sorted(state)
    assert alias_target(client, f"ev-{unique}-recent") == behind[-1]

    # Demotion: a window behind the current one is cold, and Qdrant's live config says so.
    obj = wait_deployment(sandbox, name, lambda o: windows(o).get(behind[0], {}).get("tier") == "cold", 60)
    info = client.get_collection(behind[0])
    params = info.config.params
    assert params.vectors.on_disk is True  # type: ignore[union-attr]
    assert params.on_disk_payload is True
    assert info.config.hnsw_config.on_disk is True
    quantization = info.config.quantization_config
    assert quantization is not None and quantization.binary.always_ram is True  # type: ignore[union-attr]
    # The current window is still hot: the template's settings, no quantization.
    hot = client.get_collection(obj["status"]["currentWindow"])
    assert hot.config.quantization_config is None
    assert windows(obj)[obj["status"]["currentWindow"]]["tier"] == "hot"
    # Writes through the alias landed in the windows kept (the deleted ones took theirs with them).
    assert sum(client.count(n).count for n in collections(client, prefix)) > 0


def test_a_window_is_not_deleted_until_a_backup_run_holds_it(sandbox: Sandbox, unique: str) -> None:
    client = sandbox.qdrant()
    name, prefix, archive = f"bk-{unique}", f"bk{unique}-", f"arch-{unique}"
    rotation = {
        "nameFormat": prefix + "{yyyy}{mm}{dd}{hh}{mi}{ss}",
        "precreate": 0,
        "retain": 1,
        "backupBeforeDelete": {"backupSchedule": archive},
    }
    sandbox.apply(rotating(name, f"bk-{unique}", rotation, deletionPolicy="Delete"))

    # The first window expires at the first boundary (retain 1), but no backup holds it.
    obj = wait_deployment(
        sandbox,
        name,
        lambda o: any(w["phase"] == "AwaitingBackup" for w in windows(o).values()),
        4 * WINDOW_SECONDS,
    )
    waiting = next(n for n, w in windows(obj).items() if w["phase"] == "AwaitingBackup")
    assert windows(obj)[waiting]["message"] == f"BackupSchedule {archive} not found"
    # Another boundary later it is still kept (and a second window has joined it).
    obj = wait_deployment(
        sandbox,
        name,
        lambda o: sum(w["phase"] == "AwaitingBackup" for w in windows(o).values()) == 2,
        4 * WINDOW_SECONDS,
    )
    held = sorted(n for n, w in windows(obj).items() if w["phase"] == "AwaitingBackup")
    assert waiting in held
    assert set(held) <= collections(client, prefix)  # both collections still exist in Qdrant

    # A schedule selecting the windows appears: qco asks it for a run, and only then deletes.
    sandbox.apply(
        {
            "apiVersion": "qco.dev/v1alpha1",
            "kind": "BackupSchedule",
            "metadata": {"name": archive, "namespace": "default"},
            "spec": {
                "schedule": "0 0 1 1 *",
                "collections": {"selector": {"matchLabels": {"qco.dev/deployment": name}}},
                "destination": {"qdrant": {}},
            },
        }
    )
    wait_deployment(sandbox, name, lambda o: not set(held) & set(windows(o)), 6 * WINDOW_SECONDS)
    assert not set(held) & collections(client, prefix)
    schedule = sandbox.kubectl("get", "backupschedule", archive, "-o", "jsonpath={.status.runs}").stdout
    runs = json.loads(schedule)
    backed_up = {
        e["collection"]
        for r in runs
        if r["phase"] == "Succeeded"
        for e in r["collections"]
        if not e.get("error")
    }
    assert set(held) <= backed_up
    reasons = [e["reason"] for e in sandbox.events(name)]
    assert "RequestBackup" in reasons and reasons.count("ExpireWindow") >= 2


def test_the_example_runs_and_bad_rotations_are_refused_at_admission(sandbox: Sandbox) -> None:
    text = (ROOT / "examples" / "deployments" / "time-windows.yaml").read_text()
    sandbox.apply(text)
    month = datetime.now(UTC)
    current = f"events-{month:%Y-%m}"
    obj = wait_deployment(sandbox, "events", lambda o: reason_of(o, "Ready") == "WindowCurrent", 60)
    assert obj["status"]["currentWindow"] == current
    assert [w["phase"] for w in windows(obj).values()] == ["Current", "Ahead"]
    assert alias_target(sandbox.qdrant(), "events-current") == current
    columns = sandbox.kubectl("get", "qcd", "events", "-o", "wide").stdout
    assert current in columns and obj["status"]["nextRotationTime"] in columns

    bad = yaml.safe_load(text.split("---")[0])
    bad["metadata"]["name"] = "bad-rotation"
    bad["spec"]["rotation"]["cold"]["overrides"]["vectors"][""]["size"] = 8
    refused = sandbox.kubectl("apply", "-f", "-", input=yaml.safe_dump(bad), check=False)
    assert refused.returncode != 0
    assert 'unknown field "spec.rotation.cold.overrides.vectors[].size"' in refused.stderr or (
        "size" in refused.stderr and "overrides" in refused.stderr
    ), refused.stderr
    bad = yaml.safe_load(text.split("---")[0])
    bad["metadata"]["name"] = "bad-rotation"
    bad["spec"]["rotation"]["nameFormat"] = "events"
    refused = sandbox.kubectl("apply", "-f", "-", input=yaml.safe_dump(bad), check=False)
    assert refused.returncode != 0 and "at least one token of" in refused.stderr, refused.stderr
    bad["spec"]["rotation"]["nameFormat"] = "events-{yyyy}"
    bad["spec"]["source"] = {"collection": {"name": "other"}}
    refused = sandbox.kubectl("apply", "-f", "-", input=yaml.safe_dump(bad), check=False)
    assert refused.returncode != 0 and "source must be empty" in refused.stderr, refused.stderr
