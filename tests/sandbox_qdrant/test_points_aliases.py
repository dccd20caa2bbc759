"""Points, payload indexes, aliases and the Query API, through qdrant-client."""

from __future__ import annotations

import numpy as np
import pytest
from qdrant_client import QdrantClient, models
from qdrant_client.http.exceptions import UnexpectedResponse


def _collection(client: QdrantClient, name: str = "pts", n: int = 200, dim: int = 8) -> np.ndarray:
    client.create_collection(
        name,
        vectors_config={"d": models.VectorParams(size=dim, distance=models.Distance.COSINE)},
        sparse_vectors_config={"s": models.SparseVectorParams()},
    )
    rng = np.random.default_rng(7)
    vectors = rng.random((n, dim), dtype=np.float32)
    client.upsert(
        name,
        [
            models.PointStruct(
                id=i,
                vector={
                    "d": vectors[i].tolist(),
                    "s": models.SparseVector(indices=[i % 5, 10], values=[1.0, 0.5]),
                },
                payload={"n": i, "kind": "even" if i % 2 == 0 else "odd", "text": f"doc number {i}"},
            )
            for i in range(n)
        ],
    )
    return vectors


def test_upsert_count_scroll_delete_set_payload(client: QdrantClient) -> None:
    _collection(client)
    assert client.count("pts").count == 200
    even = models.Filter(must=[models.FieldCondition(key="kind", match=models.MatchValue(value="even"))])
    assert client.count("pts", count_filter=even).count == 100
    ranged = models.Filter(must=[models.FieldCondition(key="n", range=models.Range(gte=10, lt=20))])
    assert client.count("pts", count_filter=ranged).count == 10
    page, offset = client.scroll("pts", limit=50, with_payload=True)
    assert len(page) == 50
    assert offset == 50
    client.delete("pts", points_selector=models.PointIdsList(points=[0, 1, 2]))
    client.delete("pts", points_selector=models.FilterSelector(filter=ranged))
    assert client.count("pts").count == 187
    client.set_payload("pts", {"tag": "x"}, points=[3])
    record = client.retrieve("pts", [3])[0]
    assert record.payload == {"n": 3, "kind": "odd", "text": "doc number 3", "tag": "x"}


def test_query_nearest_prefetch_and_fusion(client: QdrantClient) -> None:
    vectors = _collection(client)
    hits = client.query_points("pts", query=vectors[5].tolist(), using="d", limit=3).points
    assert hits[0].id == 5
    for fusion in (models.Fusion.RRF, models.Fusion.DBSF):
        fused = client.query_points(
            "pts",
            prefetch=[
                models.Prefetch(query=vectors[5].tolist(), using="d", limit=20),
                models.Prefetch(query=models.SparseVector(indices=[0], values=[1.0]), using="s", limit=20),
            ],
            query=models.FusionQuery(fusion=fusion),
            limit=5,
        ).points
        assert len(fused) == 5
        assert 5 in [p.id for p in fused]
    filtered = client.query_points(
        "pts",
        query=vectors[5].tolist(),
        using="d",
        query_filter=models.Filter(
            must=[models.FieldCondition(key="kind", match=models.MatchValue(value="odd"))]
        ),
        limit=5,
        with_payload=True,
    ).points
    assert all(p.payload is not None and p.payload["kind"] == "odd" for p in filtered)


def test_payload_indexes_of_every_type_with_params(client: QdrantClient) -> None:
    client.create_collection(
        "idx", vectors_config=models.VectorParams(size=4, distance=models.Distance.COSINE)
    )
    schemas: dict[str, models.PayloadSchemaType | models.PayloadSchemaParams] = {
        "kw": models.PayloadSchemaType.KEYWORD,
        "tenant": models.KeywordIndexParams(type=models.KeywordIndexType.KEYWORD, is_tenant=True),
        "num": models.IntegerIndexParams(type=models.IntegerIndexType.INTEGER, lookup=True, range=False),
        "price": models.FloatIndexParams(type=models.FloatIndexType.FLOAT, is_principal=True),
        "loc": models.PayloadSchemaType.GEO,
        "body": models.TextIndexParams(
            type=models.TextIndexType.TEXT,
            tokenizer=models.TokenizerType.WORD,
            min_token_len=2,
            lowercase=True,
        ),
        "flag": models.PayloadSchemaType.BOOL,
        "at": models.DatetimeIndexParams(type=models.DatetimeIndexType.DATETIME, is_principal=True),
        "uid": models.PayloadSchemaType.UUID,
    }
    for field, schema in schemas.items():
        client.create_payload_index("idx", field, schema, wait=True)
    payload_schema = client.get_collection("idx").payload_schema
    assert set(payload_schema) == set(schemas)
    assert payload_schema["kw"].data_type == models.PayloadSchemaType.KEYWORD
    assert payload_schema["num"].params == schemas["num"]
    assert payload_schema["tenant"].params == schemas["tenant"]
    body = payload_schema["body"].params
    assert isinstance(body, models.TextIndexParams)
    assert (body.tokenizer, body.min_token_len) == (models.TokenizerType.WORD, 2)
    # Re-creating with another schema replaces the index.
    client.create_payload_index("idx", "num", models.PayloadSchemaType.FLOAT, wait=True)
    assert client.get_collection("idx").payload_schema["num"].data_type == models.PayloadSchemaType.FLOAT
    client.delete_payload_index("idx", "kw", wait=True)
    assert "kw" not in client.get_collection("idx").payload_schema


def _alias(collection: str, alias: str) -> models.CreateAliasOperation:
    return models.CreateAliasOperation(
        create_alias=models.CreateAlias(collection_name=collection, alias_name=alias)
    )


def test_aliases_are_atomic_overwrite_and_follow_deletes(client: QdrantClient) -> None:
    for name in ("blue", "green"):
        client.create_collection(
            name, vectors_config=models.VectorParams(size=4, distance=models.Distance.DOT)
        )
    client.update_collection_aliases([_alias("blue", "live")])
    assert client.get_collection("live").config.params.vectors is not None
    # Overwrite silently, in one request with a delete.
    client.update_collection_aliases([_alias("green", "live"), _alias("blue", "old")])
    aliases = {a.alias_name: a.collection_name for a in client.get_aliases().aliases}
    assert aliases == {"live": "green", "old": "blue"}
    # All or none: the second action fails, so the first is not applied either.
    with pytest.raises(UnexpectedResponse):
        client.update_collection_aliases(
            [
                _alias("blue", "live"),
                models.DeleteAliasOperation(delete_alias=models.DeleteAlias(alias_name="nope")),
            ]
        )
    assert {a.alias_name: a.collection_name for a in client.get_aliases().aliases}["live"] == "green"
    # An alias cannot take a collection's name.
    with pytest.raises(UnexpectedResponse):
        client.update_collection_aliases([_alias("blue", "green")])
    assert [a.alias_name for a in client.get_collection_aliases("blue").aliases] == ["old"]
    client.delete_collection("blue")
    assert {a.alias_name for a in client.get_aliases().aliases} == {"live"}
    with pytest.raises(UnexpectedResponse) as missing:
        client.update_collection_aliases([_alias("nope", "x")])
    assert missing.value.status_code == 404


def test_int8_quantized_recall_with_oversampling_and_rescore(client: QdrantClient) -> None:
    dim, n = 32, 3000
    client.create_collection(
        "recall",
        vectors_config=models.VectorParams(size=dim, distance=models.Distance.COSINE),
        quantization_config=models.ScalarQuantization(
            scalar=models.ScalarQuantizationConfig(type=models.ScalarType.INT8, always_ram=True)
        ),
        optimizers_config=models.OptimizersConfigDiff(indexing_threshold=10),
    )
    rng = np.random.default_rng(1)
    data = rng.standard_normal((n, dim)).astype(np.float32)
    client.upload_collection("recall", vectors=data, ids=list(range(n)), batch_size=1000, wait=True)
    client.update_collection("recall", optimizers_config=models.OptimizersConfigDiff())
    _wait_green(client, "recall")
    info = client.get_collection("recall")
    assert info.indexed_vectors_count == n
    normed = data / np.linalg.norm(data, axis=1, keepdims=True)
    queries = rng.standard_normal((20, dim)).astype(np.float32)
    params = models.SearchParams(
        hnsw_ef=128, quantization=models.QuantizationSearchParams(rescore=True, oversampling=2.0)
    )
    found = 0
    for q in queries:
        exact = set(np.argsort(-(normed @ (q / np.linalg.norm(q))))[:10].tolist())
        hits = client.query_points("recall", query=q.tolist(), limit=10, search_params=params).points
        found += len(exact & {int(h.id) for h in hits})  # type: ignore[arg-type]
    assert found / 200 >= 0.95


def _wait_green(client: QdrantClient, name: str) -> None:
    import time

    deadline = time.monotonic() + 120
    while client.get_collection(name).status != models.CollectionStatus.GREEN:
        assert time.monotonic() < deadline, "collection did not turn green"
        time.sleep(0.2)
