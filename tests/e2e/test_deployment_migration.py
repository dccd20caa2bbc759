"""Migration from another Qdrant (examples/deployments/migrate.yaml): the copy streams from a
second Qdrant stand-in, the alias switches on the sandbox's, and every point arrives."""

from __future__ import annotations

import copy

import pytest
from qdrant_client import QdrantClient, models

from tests.e2e.conftest import Sandbox
from tests.e2e.deployments import alias_target, checksum, example, points, wait_complete
from tests.plugins.qdrant_server import QdrantServerProcess

pytestmark = pytest.mark.slow


def test_migration_from_another_qdrant(sandbox: Sandbox, qdrant_server: QdrantServerProcess) -> None:
    legacy = QdrantClient(url=qdrant_server.url, timeout=30, check_compatibility=False)
    legacy.create_collection(
        "legacy_products", vectors_config=models.VectorParams(size=8, distance=models.Distance.DOT)
    )
    for start in range(0, 1200, 400):
        legacy.upsert("legacy_products", points(start, 400, 8), wait=True)
    manifest = copy.deepcopy(example("migrate.yaml"))
    manifest["spec"]["source"]["collection"]["connection"]["url"] = qdrant_server.url
    sandbox.apply(manifest)
    done = wait_complete(sandbox, "products")
    client = sandbox.qdrant()
    collection = done["status"]["activeCollection"]
    assert alias_target(client, "products") == collection
    assert checksum(client, collection) == checksum(legacy, "legacy_products")
    assert done["status"]["validation"]["pointRatio"] == 1.0
    revision = done["status"]["revisions"][0]
    assert (revision["number"], revision["source"], revision["sourceCollection"]) == (
        1,
        "collection",
        "legacy_products",
    )
    assert not client.collection_exists("legacy_products")  # nothing was created on the wrong side
    legacy.close()


def test_first_revision_from_a_snapshot(sandbox: Sandbox) -> None:
    client = sandbox.qdrant()
    client.create_collection(
        "snap_src", vectors_config=models.VectorParams(size=8, distance=models.Distance.COSINE)
    )
    client.upsert("snap_src", points(0, 500, 8), wait=True)
    snapshot = client.create_snapshot("snap_src", wait=True)
    assert snapshot is not None
    url = f"{sandbox.qdrant_url}/collections/snap_src/snapshots/{snapshot.name}"
    manifest = {
        "apiVersion": "qco.dev/v1alpha1",
        "kind": "CollectionDeployment",
        "metadata": {"name": "snapdep", "namespace": "default"},
        "spec": {
            "alias": "snapdep",
            "template": {"vectors": {"": {"size": 8, "distance": "Cosine"}}, "hnsw": {"m": 8}},
            "source": {"snapshot": {"url": url, "checksum": snapshot.checksum}},
            "validation": {"minPointRatio": 1.0},
        },
    }
    sandbox.apply(manifest)
    done = wait_complete(sandbox, "snapdep")
    collection = done["status"]["activeCollection"]
    assert checksum(client, collection) == checksum(client, "snap_src")
    assert client.get_collection(collection).config.hnsw_config.m == 8  # the template, not the snapshot's
    assert done["status"]["revisions"][0]["source"] == "snapshot"
    assert not client.collection_exists(f"{collection}-source")  # the staging copy is gone
