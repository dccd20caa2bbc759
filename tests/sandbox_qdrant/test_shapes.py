"""Raw HTTP: keys Qdrant leaves out stay out, keys it always sends are there (no `null` fill-ins)."""

from __future__ import annotations

import re
from typing import Any

import httpx

from tests.plugins.qdrant_server import QdrantServerProcess


def _result(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()["result"]


def test_service_root_sends_a_commit(qdrant_server: QdrantServerProcess) -> None:
    root = httpx.get(qdrant_server.url + "/").json()
    assert root["version"] == "1.19.0"
    assert re.fullmatch(r"[0-9a-f]{40}", root["commit"])


def test_unset_optional_fields_are_left_out(qdrant_server: QdrantServerProcess) -> None:
    with httpx.Client(base_url=qdrant_server.url, timeout=30) as http:
        body = {"vectors": {"dense": {"size": 4, "distance": "Cosine"}}}
        assert _result(http.put("/collections/c", json=body)) is True
        index = {"field_name": "k", "field_schema": "keyword"}
        _result(http.put("/collections/c/index", params={"wait": "true"}, json=index))
        info = _result(http.get("/collections/c"))
        dense = info["config"]["params"]["vectors"]["dense"]
        assert dense == {"size": 4, "distance": "Cosine"}
        assert info["payload_schema"]["k"] == {"data_type": "keyword", "points": 0}
        assert info["warnings"] == []
        assert "sparse_vectors" not in info["config"]["params"]
        assert "metadata" not in info["config"]
        # Qdrant sends these unset options as null (its OpenAPI document gives them `default: null`).
        assert info["config"]["quantization_config"] is None
        assert info["config"]["optimizer_config"]["max_segment_size"] is None


def test_point_reads_keep_the_keys_qdrant_sends(qdrant_server: QdrantServerProcess) -> None:
    with httpx.Client(base_url=qdrant_server.url, timeout=30) as http:
        _result(http.put("/collections/c", json={"vectors": {"size": 2, "distance": "Dot"}}))
        points = {"points": [{"id": 1, "vector": [1.0, 0.0], "payload": {"a": 1}}]}
        _result(http.put("/collections/c/points", params={"wait": "true"}, json=points))
        scroll = _result(http.post("/collections/c/points/scroll", json={"limit": 10}))
        assert scroll == {
            "points": [{"id": 1, "payload": {"a": 1}, "vector": None}],
            "next_page_offset": None,
        }
        query = _result(http.post("/collections/c/points/query", json={"query": [1.0, 0.0]}))
        assert set(query["points"][0]) == {"id", "version", "score", "payload", "vector"}
        assert "shard_key" not in query["points"][0]
        assert "order_value" not in query["points"][0]
