"""Refused requests: Qdrant's status codes and texts, and the collection stays usable afterwards."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.plugins.qdrant_server import QdrantServerProcess

VECTORS = {"vectors": {"size": 4, "distance": "Dot"}}


def _make_collection(http: httpx.Client) -> None:
    assert http.put("/collections/c", json=VECTORS).status_code == 200
    index = {"field_name": "when", "field_schema": "datetime"}
    assert http.put("/collections/c/index", params={"wait": "true"}, json=index).status_code == 200


def _error(response: httpx.Response) -> str:
    message: str = response.json()["status"]["error"]
    return message


# (method, path, body, expected status, expected text in the error)
REFUSALS: list[tuple[str, str, Any, int, str]] = [
    (
        "PUT",
        "/collections/other",
        {"vectors": {"size": 0, "distance": "Dot"}},
        422,
        "Validation error in JSON body: [vectors.size: value 0 invalid, must be from 1 to 65536]",
    ),
    (
        "PUT",
        "/collections/other",
        {"vectors": {"big": {"size": 65537, "distance": "Dot"}}},
        422,
        "value 65537 invalid, must be from 1 to 65536",
    ),
    ("PUT", "/collections/c/vectors/zero", {"dense": {"size": 0, "distance": "Dot"}}, 422, "value 0 invalid"),
    (
        "PUT",
        "/collections/c/index",
        {"field_name": "k", "field_schema": "no-such-type"},
        422,
        "Validation error in JSON body",
    ),
    (
        "PUT",
        "/collections/c/index",
        {"field_name": "k", "field_schema": {"type": "keyword", "bogus": 1}},
        422,
        "Validation error in JSON body",
    ),
    ("PUT", "/collections/c/index", {"field_name": "..", "field_schema": "keyword"}, 400, "Format error"),
    (
        "POST",
        "/collections/aliases",
        {"actions": [{"create_alias": {"collection_name": "c", "alias_name": "c"}}]},
        409,
        "Collection with the same name `c` already exists!",
    ),
    (
        "PUT",
        "/collections/c/points",
        {"points": [{"id": 1, "vector": [1.0, 2.0]}]},
        400,
        "Vector dimension error: expected dim: 4, got 2",
    ),
    (
        "POST",
        "/collections/c/points/scroll",
        {"filter": {"must": [{"key": "when", "range": {"gte": "1700000000"}}]}},
        400,
        "'1700000000' is not in a supported date/time format, please use RFC 3339",
    ),
    ("GET", "/collections/nope", None, 404, "Not found: Collection `nope` doesn't exist!"),
]


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "text"),
    REFUSALS,
    ids=[
        "size-0",
        "size-over-limit",
        "new-vector-size-0",
        "index-unknown-type",
        "index-invalid-params",
        "index-invalid-path",
        "alias-named-like-collection",
        "wrong-dimension",
        "unix-timestamp-datetime",
        "missing-collection",
    ],
)
def test_refused_request_answers_like_qdrant_and_leaves_the_collection_usable(
    qdrant_server: QdrantServerProcess, method: str, path: str, body: Any, status: int, text: str
) -> None:
    with httpx.Client(base_url=qdrant_server.url, timeout=30) as http:
        _make_collection(http)
        response = http.request(method, path, params={"wait": "true"}, json=body)
        assert response.status_code == status, response.text
        assert text in _error(response)
        # The same collection still takes writes and answers reads.
        point = {"points": [{"id": 7, "vector": [1.0, 0.0, 0.0, 0.0], "payload": {"when": "2015-01-02"}}]}
        written = http.put("/collections/c/points", params={"wait": "true"}, json=point)
        assert written.status_code == 200, written.text
        vector = http.put("/collections/c/vectors/extra", json={"dense": {"size": 2, "distance": "Dot"}})
        assert vector.status_code == 200, vector.text
        count = http.post("/collections/c/points/count", json={"exact": True})
        assert count.json()["result"] == {"count": 1}
        assert http.get("/collections/c").json()["result"]["status"] == "green"
