"""Collections: create, read back, PATCH merge rules, exists, delete, vectors, service endpoints."""

from __future__ import annotations

import httpx
import pytest
from qdrant_client import AsyncQdrantClient, QdrantClient, models
from qdrant_client.http.exceptions import UnexpectedResponse

from tests.plugins.qdrant_server import QdrantServerProcess


def test_service_endpoints_answer_like_qdrant(qdrant_server: QdrantServerProcess) -> None:
    root = httpx.get(qdrant_server.url + "/").json()
    assert root["title"] == "qdrant - vector search engine"
    assert httpx.get(qdrant_server.url + "/healthz").text == "healthz check passed"
    assert httpx.get(qdrant_server.url + "/readyz").status_code == 200


def test_defaults_are_filled_from_qdrant_config(client: QdrantClient) -> None:
    client.create_collection("c", vectors_config=models.VectorParams(size=4, distance=models.Distance.DOT))
    config = client.get_collection("c").config
    assert config.params.vectors == models.VectorParams(size=4, distance=models.Distance.DOT)
    assert config.params.shard_number == 1
    assert config.params.replication_factor == 1
    assert config.params.write_consistency_factor == 1
    assert config.params.on_disk_payload is True
    assert (config.hnsw_config.m, config.hnsw_config.ef_construct) == (16, 100)
    assert config.hnsw_config.full_scan_threshold == 10000
    assert config.optimizer_config.indexing_threshold == 10000
    assert config.optimizer_config.deleted_threshold == 0.2
    assert config.optimizer_config.flush_interval_sec == 5
    assert config.wal_config == models.WalConfig(
        wal_capacity_mb=32, wal_segments_ahead=0, wal_retain_closed=1
    )
    assert config.quantization_config is None
    assert config.metadata is None


def test_create_reads_back_every_section(client: QdrantClient) -> None:
    client.create_collection(
        "full",
        vectors_config={
            "dense": models.VectorParams(
                size=8,
                distance=models.Distance.COSINE,
                on_disk=True,
                hnsw_config=models.HnswConfigDiff(m=32),
                quantization_config=models.BinaryQuantization(
                    binary=models.BinaryQuantizationConfig(always_ram=True)
                ),
            ),
            "small": models.VectorParams(
                size=3, distance=models.Distance.EUCLID, datatype=models.Datatype.FLOAT16
            ),
        },
        sparse_vectors_config={
            "text": models.SparseVectorParams(
                index=models.SparseIndexParams(on_disk=True, full_scan_threshold=500),
                modifier=models.Modifier.IDF,
            )
        },
        hnsw_config=models.HnswConfigDiff(m=12, ef_construct=64),
        optimizers_config=models.OptimizersConfigDiff(indexing_threshold=2000, default_segment_number=2),
        quantization_config=models.ProductQuantization(
            product=models.ProductQuantizationConfig(compression=models.CompressionRatio.X16, always_ram=True)
        ),
        on_disk_payload=False,
        shard_number=3,
        replication_factor=2,
        write_consistency_factor=2,
        wal_config=models.WalConfigDiff(wal_capacity_mb=64),
        metadata={"qco.dev/owner": "ns/name/uid", "team": "search"},
    )
    config = client.get_collection("full").config
    vectors = config.params.vectors
    assert isinstance(vectors, dict)
    assert vectors["dense"].on_disk is True
    assert vectors["dense"].hnsw_config == models.HnswConfigDiff(m=32)
    assert vectors["dense"].quantization_config == models.BinaryQuantization(
        binary=models.BinaryQuantizationConfig(always_ram=True)
    )
    assert vectors["small"].datatype == models.Datatype.FLOAT16
    sparse = config.params.sparse_vectors
    assert sparse is not None
    assert sparse["text"].modifier == models.Modifier.IDF
    assert sparse["text"].index is not None
    assert (sparse["text"].index.on_disk, sparse["text"].index.full_scan_threshold) == (True, 500)
    assert (config.hnsw_config.m, config.hnsw_config.ef_construct) == (12, 64)
    assert config.optimizer_config.indexing_threshold == 2000
    assert config.optimizer_config.default_segment_number == 2
    assert config.quantization_config == models.ProductQuantization(
        product=models.ProductQuantizationConfig(compression=models.CompressionRatio.X16, always_ram=True)
    )
    assert config.params.on_disk_payload is False
    assert (config.params.shard_number, config.params.replication_factor) == (3, 2)
    assert config.params.write_consistency_factor == 2
    assert config.wal_config is not None
    assert config.wal_config.wal_capacity_mb == 64
    assert config.metadata == {"qco.dev/owner": "ns/name/uid", "team": "search"}


@pytest.mark.parametrize(
    "quantization",
    [
        models.ScalarQuantization(
            scalar=models.ScalarQuantizationConfig(
                type=models.ScalarType.INT8, quantile=0.99, always_ram=True
            )
        ),
        models.ProductQuantization(
            product=models.ProductQuantizationConfig(compression=models.CompressionRatio.X8)
        ),
        models.BinaryQuantization(binary=models.BinaryQuantizationConfig(always_ram=False)),
    ],
    ids=["scalar", "product", "binary"],
)
def test_quantization_patch_and_disable(
    client: QdrantClient, quantization: models.QuantizationConfig
) -> None:
    client.create_collection("q", vectors_config=models.VectorParams(size=8, distance=models.Distance.COSINE))
    client.update_collection("q", quantization_config=quantization)
    assert client.get_collection("q").config.quantization_config == quantization
    client.update_collection("q", quantization_config=models.Disabled.DISABLED)
    assert client.get_collection("q").config.quantization_config is None


def test_patch_merges_and_never_resets(client: QdrantClient) -> None:
    client.create_collection(
        "p",
        vectors_config={"v": models.VectorParams(size=4, distance=models.Distance.COSINE)},
        sparse_vectors_config={"s": models.SparseVectorParams()},
        hnsw_config=models.HnswConfigDiff(m=20, ef_construct=80),
        optimizers_config=models.OptimizersConfigDiff(indexing_threshold=3000),
        metadata={"keep": 1, "drop": 2},
    )
    client.update_collection(
        "p",
        hnsw_config=models.HnswConfigDiff(ef_construct=120),
        optimizers_config=models.OptimizersConfigDiff(deleted_threshold=0.3),
        vectors_config={"v": models.VectorParamsDiff(on_disk=True, hnsw_config=models.HnswConfigDiff(m=6))},
        sparse_vectors_config={
            "s": models.SparseVectorParams(index=models.SparseIndexParams(full_scan_threshold=77))
        },
        collection_params=models.CollectionParamsDiff(replication_factor=3, on_disk_payload=False),
        metadata={"drop": None, "new": "x"},
    )
    config = client.get_collection("p").config
    assert (config.hnsw_config.m, config.hnsw_config.ef_construct) == (20, 120)
    assert config.optimizer_config.indexing_threshold == 3000
    assert config.optimizer_config.deleted_threshold == 0.3
    vectors = config.params.vectors
    assert isinstance(vectors, dict)
    assert vectors["v"].on_disk is True
    assert vectors["v"].hnsw_config == models.HnswConfigDiff(m=6)
    assert (vectors["v"].size, vectors["v"].distance) == (4, models.Distance.COSINE)
    assert config.params.sparse_vectors is not None
    sparse_index = config.params.sparse_vectors["s"].index
    assert sparse_index is not None
    assert sparse_index.full_scan_threshold == 77
    assert config.params.replication_factor == 3
    assert config.params.on_disk_payload is False
    assert config.metadata == {"keep": 1, "new": "x"}
    # An empty PATCH changes nothing.
    client.update_collection("p")
    assert client.get_collection("p").config == config


def test_patch_of_unknown_vector_is_a_bad_request(client: QdrantClient) -> None:
    client.create_collection("u", vectors_config=models.VectorParams(size=4, distance=models.Distance.COSINE))
    with pytest.raises(UnexpectedResponse) as error:
        client.update_collection("u", vectors_config={"nope": models.VectorParamsDiff(on_disk=True)})
    assert error.value.status_code == 400


def test_create_twice_conflicts_and_missing_is_404(client: QdrantClient) -> None:
    client.create_collection(
        "dup", vectors_config=models.VectorParams(size=4, distance=models.Distance.COSINE)
    )
    with pytest.raises(UnexpectedResponse) as error:
        client.create_collection(
            "dup", vectors_config=models.VectorParams(size=4, distance=models.Distance.COSINE)
        )
    assert error.value.status_code == 409
    with pytest.raises(UnexpectedResponse) as missing:
        client.get_collection("missing")
    assert missing.value.status_code == 404
    body = missing.value.content
    assert b'"error"' in body


def test_bad_body_is_400_in_qdrant_envelope(qdrant_server: QdrantServerProcess) -> None:
    response = httpx.put(qdrant_server.url + "/collections/bad", json={"vectors": {"size": "four"}})
    assert response.status_code == 400
    assert "error" in response.json()["status"]
    assert "time" in response.json()


def test_exists_list_and_delete(client: QdrantClient) -> None:
    assert client.collection_exists("e") is False
    client.create_collection("e", vectors_config=models.VectorParams(size=4, distance=models.Distance.COSINE))
    assert client.collection_exists("e") is True
    assert [c.name for c in client.get_collections().collections] == ["e"]
    assert client.delete_collection("e") is True
    assert client.collection_exists("e") is False
    assert client.delete_collection("e") is False


def test_named_vectors_can_be_added_and_removed(client: QdrantClient) -> None:
    client.create_collection(
        "nv", vectors_config={"a": models.VectorParams(size=4, distance=models.Distance.DOT)}
    )
    client.create_vector_name(
        "nv",
        "b",
        models.DenseVectorNameConfig(dense=models.DenseVectorConfig(size=6, distance=models.Distance.EUCLID)),
    )
    client.create_vector_name("nv", "s", models.SparseVectorNameConfig(sparse=models.SparseVectorConfig()))
    params = client.get_collection("nv").config.params
    assert isinstance(params.vectors, dict)
    assert params.vectors["b"].size == 6
    assert params.sparse_vectors is not None
    assert "s" in params.sparse_vectors
    client.delete_vector_name("nv", "b")
    params = client.get_collection("nv").config.params
    assert isinstance(params.vectors, dict)
    assert set(params.vectors) == {"a"}


async def test_async_client_works(aclient: AsyncQdrantClient) -> None:
    await aclient.create_collection(
        "as", vectors_config=models.VectorParams(size=4, distance=models.Distance.COSINE)
    )
    assert await aclient.collection_exists("as")
    info = await aclient.get_collection("as")
    assert info.status == models.CollectionStatus.GREEN
    assert (await aclient.get_optimizations("as")).summary.queued_optimizations == 0
