"""Snapshots, API key, restart persistence, fault injection, and the pinned Edge on-disk format."""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from qdrant_client import QdrantClient, models
from qdrant_client.common.version_check import get_server_version, is_compatible
from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

from tests.plugins.qdrant_server import QdrantServerProcess


def _small(client: QdrantClient, name: str = "s") -> None:
    client.create_collection(
        name, vectors_config=models.VectorParams(size=4, distance=models.Distance.COSINE)
    )
    client.upsert(
        name, [models.PointStruct(id=i, vector=[1.0, i, 0.5, 0.1], payload={"i": i}) for i in range(30)]
    )


def test_snapshot_round_trip_with_checksum(client: QdrantClient, qdrant_server: QdrantServerProcess) -> None:
    _small(client)
    snapshot = client.create_snapshot("s")
    assert snapshot is not None
    assert [s.name for s in client.list_snapshots("s")] == [snapshot.name]
    url = f"{qdrant_server.url}/collections/s/snapshots/{snapshot.name}"
    content = httpx.get(url).content
    assert len(content) == snapshot.size
    assert hashlib.sha256(content).hexdigest() == snapshot.checksum
    client.delete("s", points_selector=models.PointIdsList(points=list(range(10))))
    # A wrong checksum is refused and changes nothing.
    with pytest.raises(UnexpectedResponse) as wrong:
        client.recover_snapshot("s", url, checksum="0" * 64, wait=True)
    assert wrong.value.status_code == 400
    assert client.count("s").count == 20
    client.recover_snapshot(
        "s", url, checksum=snapshot.checksum, priority=models.SnapshotPriority.SNAPSHOT, wait=True
    )
    assert client.count("s").count == 30
    assert client.query_points("s", query=[1.0, 3.0, 0.5, 0.1], limit=1).points[0].id == 3
    # Into a new collection from a file:// location.
    path = qdrant_server.data_dir / "snapshots" / "s" / snapshot.name
    client.recover_snapshot("copy", f"file://{path}", wait=True)
    assert client.count("copy").count == 30
    client.delete_snapshot("s", snapshot.name)
    assert client.list_snapshots("s") == []


def test_snapshot_upload_recover(client: QdrantClient, qdrant_server: QdrantServerProcess) -> None:
    _small(client, "up")
    snapshot = client.create_snapshot("up")
    assert snapshot is not None
    content = httpx.get(f"{qdrant_server.url}/collections/up/snapshots/{snapshot.name}").content
    response = httpx.post(
        f"{qdrant_server.url}/collections/restored/snapshots/upload",
        params={"priority": "snapshot", "checksum": snapshot.checksum, "wait": "true"},
        files={"snapshot": (snapshot.name, content)},
    )
    assert response.status_code == 200, response.text
    assert client.count("restored").count == 30
    bad = httpx.post(
        f"{qdrant_server.url}/collections/restored/snapshots/upload",
        params={"checksum": "f" * 64},
        files={"snapshot": (snapshot.name, content)},
    )
    assert bad.status_code == 400


# qdrant-client warns about API keys over plain HTTP; the sandbox only serves loopback HTTP.
@pytest.mark.filterwarnings("ignore:Api key is used with an insecure connection")
def test_api_key(qdrant_server_factory: Callable[..., QdrantServerProcess]) -> None:
    server = qdrant_server_factory(api_key="s3cret")
    with pytest.raises(UnexpectedResponse) as denied:
        QdrantClient(url=server.url, prefer_grpc=False, check_compatibility=False).get_collections()
    assert denied.value.status_code == 403
    with pytest.raises(UnexpectedResponse):
        QdrantClient(
            url=server.url, api_key="wrong", prefer_grpc=False, check_compatibility=False
        ).get_collections()
    assert (
        QdrantClient(url=server.url, api_key="s3cret", prefer_grpc=False, check_compatibility=False)
        .get_collections()
        .collections
        == []
    )
    bearer = httpx.get(server.url + "/collections", headers={"Authorization": "Bearer s3cret"})
    assert bearer.status_code == 200
    assert httpx.get(server.url + "/healthz").status_code == 200


def test_restart_keeps_collections_aliases_and_points(
    client: QdrantClient, qdrant_server: QdrantServerProcess
) -> None:
    _small(client, "keep")
    client.create_payload_index("keep", "i", models.PayloadSchemaType.INTEGER, wait=True)
    client.update_collection(
        "keep", metadata={"owner": "me"}, hnsw_config=models.HnswConfigDiff(ef_construct=77)
    )
    client.update_collection_aliases(
        [models.CreateAliasOperation(create_alias=models.CreateAlias(collection_name="keep", alias_name="k"))]
    )
    before = client.get_collection("keep")
    qdrant_server.restart()
    after = client.get_collection("keep")
    assert after.config == before.config
    assert after.payload_schema == before.payload_schema
    assert client.count("k").count == 30
    assert [a.alias_name for a in client.get_aliases().aliases] == ["k"]


def test_fault_injection_and_request_counters(
    client: QdrantClient, qdrant_server: QdrantServerProcess
) -> None:
    admin = qdrant_server.admin
    client.create_collection("f", vectors_config=models.VectorParams(size=4, distance=models.Distance.COSINE))
    admin.reset_requests()
    client.get_collection("f")
    client.get_collection("f")
    assert admin.count("GET", "/collections/{collection_name}") == 2
    admin.add_fault("/collections/f$", "error", method="GET", status=503, calls=1)
    with pytest.raises(UnexpectedResponse) as failed:
        client.get_collection("f")
    assert failed.value.status_code == 503
    client.get_collection("f")  # the budget of one call is spent
    admin.add_fault("/collections/*", "drop", calls=1)
    with pytest.raises((ResponseHandlingException, httpx.HTTPError)):
        client.get_collection("f")
    admin.add_fault("^/collections$", "latency", latency_ms=50, calls=1)
    assert client.get_collections().collections[0].name == "f"
    assert admin.faults() == []
    admin.add_fault("/collections", "error", status=500)
    assert len(admin.faults()) == 1
    admin.clear_faults()
    client.get_collection("f")
    assert admin.count("GET", "/collections/{collection_name}") == 6


def test_edge_on_disk_format_assumptions(client: QdrantClient, qdrant_server: QdrantServerProcess) -> None:
    """Pin the qdrant-edge-py files the sandbox reads; an upgrade that changes them fails here."""
    client.create_collection(
        "fmt",
        vectors_config=models.VectorParams(size=4, distance=models.Distance.COSINE),
        quantization_config=models.ScalarQuantization(
            scalar=models.ScalarQuantizationConfig(type=models.ScalarType.INT8, always_ram=True)
        ),
    )
    client.upsert("fmt", [models.PointStruct(id=1, vector=[1, 2, 3, 4], payload={"k": "v"})])
    client.create_payload_index(
        "fmt", "k", models.KeywordIndexParams(type="keyword", is_tenant=True), wait=True
    )
    shard = Path(qdrant_server.data_dir) / "collections" / "fmt" / "shard"
    edge = json.loads((shard / "edge_config.json").read_text())
    assert edge["vectors"][""] == {"size": 4, "distance": "Cosine"}
    assert edge["hnsw_config"]["m"] == 16
    models.ScalarQuantization.model_validate(edge["quantization_config"])
    assert set(edge["optimizers"]) >= {"indexing_threshold", "deleted_threshold", "default_segment_number"}
    segments = [p for p in (shard / "segments").iterdir() if (p / "segment.json").exists()]
    assert segments
    segment = json.loads((segments[0] / "segment.json").read_text())
    vector_data = segment["config"]["vector_data"][""]
    assert vector_data["index"]["type"] in {"plain", "hnsw"}
    assert "quantization_config" in vector_data
    index = json.loads((segments[0] / "payload_index" / "config.json").read_text())
    assert index["indexed_fields"]["k"]["type"] == "keyword"
    assert index["indexed_fields"]["k"]["is_tenant"] is True


def test_qdrant_client_version_check_accepts_the_sandbox(qdrant_server: QdrantServerProcess) -> None:
    # The other tests turn the client's background version check off (it races with server
    # shutdown); this one runs the same check synchronously.
    server_version = get_server_version(qdrant_server.url, {}, None, 10)
    assert server_version is not None
    assert is_compatible(importlib.metadata.version("qdrant-client"), server_version)
