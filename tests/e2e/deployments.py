"""Helpers of the CollectionDeployment e2e tests: manifests, waits, the embeddings stand-in, a
load generator that queries the alias, and a checksum over (id, payload)."""

from __future__ import annotations

import hashlib
import json
import random
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import yaml
from qdrant_client import QdrantClient, models

from tests.e2e.conftest import ROOT, Sandbox
from tests.e2e.waits import status_json, wait_until

EXAMPLES = ROOT / "examples" / "deployments"


def deployment_manifest(name: str, spec: dict[str, Any], namespace: str = "default") -> dict[str, Any]:
    """A CollectionDeployment manifest."""
    return {
        "apiVersion": "qco.dev/v1alpha1",
        "kind": "CollectionDeployment",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }


def example(name: str) -> dict[str, Any]:
    """One manifest of examples/deployments/."""
    loaded: dict[str, Any] = yaml.safe_load((EXAMPLES / name).read_text())
    return loaded


def get_deployment(sandbox: Sandbox, name: str, namespace: str = "default") -> dict[str, Any]:
    """The CollectionDeployment as JSON."""
    out = sandbox.kubectl("get", "collectiondeployment", name, "-n", namespace, "-o", "json").stdout
    result: dict[str, Any] = json.loads(out)
    return result


def wait_deployment(
    sandbox: Sandbox,
    name: str,
    predicate: Callable[[dict[str, Any]], bool],
    timeout: float = 120,
    namespace: str = "default",
) -> dict[str, Any]:
    """Poll the deployment until `predicate` holds; fail with its last status otherwise."""
    return wait_until(
        lambda: get_deployment(sandbox, name, namespace),
        predicate,
        timeout,
        what=f"CollectionDeployment {namespace}/{name} to reach the awaited state",
        describe=status_json,
        interval=0.3,
    )


def complete(obj: dict[str, Any]) -> bool:
    """Ready at its generation with the rollout Complete."""
    status = obj.get("status") or {}
    ready = next((c for c in status.get("conditions") or () if c["type"] == "Ready"), {})
    return (
        status.get("observedGeneration") == obj["metadata"]["generation"]
        and ready.get("status") == "True"
        and status.get("phase") == "Complete"
    )


def wait_complete(sandbox: Sandbox, name: str, timeout: float = 180) -> dict[str, Any]:
    """Wait until the deployment serves its spec's revision."""
    return wait_deployment(sandbox, name, complete, timeout)


def alias_target(client: QdrantClient, alias: str) -> str | None:
    """The collection an alias points at."""
    return next((a.collection_name for a in client.get_aliases().aliases if a.alias_name == alias), None)


def checksum(client: QdrantClient, collection: str) -> tuple[int, str]:
    """(points, SHA-256 over sorted (id, payload)) of a collection."""
    items: list[tuple[Any, str]] = []
    offset: Any = None
    while True:
        records, offset = client.scroll(collection, limit=500, offset=offset, with_payload=True)
        items += [(r.id, json.dumps(r.payload, sort_keys=True)) for r in records]
        if offset is None:
            break
    digest = hashlib.sha256()
    for point_id, payload in sorted(items, key=lambda item: str(item[0])):
        digest.update(f"{point_id}:{payload}\n".encode())
    return len(items), digest.hexdigest()


def points(
    start: int, count: int, size: int, text: Callable[[int], str] | None = None
) -> list[models.PointStruct]:
    """Points with random vectors and payloads (lang, text, updated_at)."""
    rng = random.Random(start)
    return [
        models.PointStruct(
            id=i,
            vector=[rng.random() for _ in range(size)],
            payload={
                "lang": rng.choice(["en", "de", "fr"]),
                "text": text(i) if text else f"document {i} about topic {i % 17}",
                "updated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            },
        )
        for i in range(start, start + count)
    ]


@dataclass
class LoadReport:
    """What the load generator saw."""

    queries: int = 0
    failed: int = 0
    empty: int = 0
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        """Queries per second."""
        return self.queries / self.seconds if self.seconds else 0.0


@contextmanager
def alias_load(
    url: str, alias: str, ids: int, threads: int = 4, max_seconds: float = 900
) -> Iterator[LoadReport]:
    """Query the alias continuously (by point id, so any vector size works) until the block ends."""
    report = LoadReport()
    stop = threading.Event()
    lock = threading.Lock()
    started = time.monotonic()

    def worker(seed: int) -> None:
        # Plain HTTP with keep-alive: the client's own overhead stays small beside the server's.
        rng = random.Random(seed)
        with httpx.Client(base_url=url, timeout=30) as http:
            while not stop.is_set() and time.monotonic() - started < max_seconds:
                body = {"query": rng.randrange(ids), "limit": 5}
                try:
                    response = http.post(f"/collections/{alias}/points/query", json=body)
                    error = (
                        None
                        if response.status_code == 200
                        else f"{response.status_code}: {response.text[:200]}"
                    )
                    empty = error is None and not response.json()["result"]["points"]
                except httpx.HTTPError as exc:
                    empty, error = False, f"{type(exc).__name__}: {exc}"[:300]
                with lock:
                    report.queries += 1
                    report.empty += int(empty)
                    if error is not None:
                        report.failed += 1
                        report.errors.append(error)

    workers = [threading.Thread(target=worker, args=(n,), daemon=True) for n in range(threads)]
    for thread in workers:
        thread.start()
    try:
        yield report
    finally:
        stop.set()
        for thread in workers:
            thread.join(60)
        report.seconds = time.monotonic() - started


@contextmanager
def embeddings_server() -> Iterator[str]:
    """`python -m qco.sandbox.embeddings` on a free port; yields its base URL (…/v1)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "qco.sandbox.embeddings", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=ROOT,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("embeddings: "), line
        yield line.split(": ", 1)[1].strip()
    finally:
        process.send_signal(2)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
