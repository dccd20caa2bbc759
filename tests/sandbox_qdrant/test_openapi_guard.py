"""The guard itself: recorded answers that differ from Qdrant's OpenAPI document are reported."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from tests.sandbox_qdrant.openapi_contract import DOCUMENT, Contract

SHARED_DOCUMENT = Path(__file__).resolve().parents[3] / "shared" / "qdrant" / "openapi.json"


def _entry(route: str, body: Any, *, method: str = "GET", status: int = 200) -> dict[str, Any]:
    return {
        "method": method,
        "route": route,
        "path": route,
        "query": "",
        "status": status,
        "content_type": "application/json",
        "body": body,
    }


def _info(vector: dict[str, Any], payload_schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "status": "green",
        "optimizer_status": "ok",
        "segments_count": 1,
        "points_count": 0,
        "indexed_vectors_count": 0,
        "config": {
            "params": {"vectors": vector, "shard_number": 1, "replication_factor": 1},
            "hnsw_config": {"m": 16, "ef_construct": 100, "full_scan_threshold": 10000},
            "optimizer_config": {"default_segment_number": 0, "flush_interval_sec": 5},
        },
        "payload_schema": payload_schema,
    }


def _envelope(result: Any) -> dict[str, Any]:
    return {"result": result, "status": "ok", "time": 0.001}


def test_a_valid_collection_info_passes(openapi_contract: Contract) -> None:
    body = _envelope(_info({"size": 4, "distance": "Dot"}, {"k": {"data_type": "keyword", "points": 0}}))
    assert openapi_contract.problems(_entry("/collections/{collection_name}", body)) == []


@pytest.mark.parametrize(
    ("vector", "payload_schema", "where"),
    [
        ({"size": 4, "distance": "Dot", "hnsw_config": None}, {}, "hnsw_config"),
        (
            {"size": 4, "distance": "Dot"},
            {"k": {"data_type": "keyword", "params": None, "points": 0}},
            "params",
        ),
        ({"size": 4, "distance": "Dot", "colour": "red"}, {}, "colour"),
        ({"size": 4}, {}, "distance"),
    ],
    ids=["null-for-unset-vector-hnsw", "null-for-unset-index-params", "unknown-key", "missing-required"],
)
def test_a_drifted_collection_info_is_reported(
    openapi_contract: Contract, vector: dict[str, Any], payload_schema: dict[str, Any], where: str
) -> None:
    problems = openapi_contract.problems(
        _entry("/collections/{collection_name}", _envelope(_info(vector, payload_schema)))
    )
    assert problems
    assert where in "\n".join(problems)


def test_a_null_optimizations_queue_is_reported(openapi_contract: Contract) -> None:
    summary = {"queued_optimizations": 0, "queued_segments": 0, "queued_points": 0, "idle_segments": 1}
    good = _envelope({"summary": summary, "running": []})
    bad = _envelope({"summary": summary, "running": [], "queued": None})
    route = "/collections/{collection_name}/optimizations"
    assert openapi_contract.problems(_entry(route, good)) == []
    assert "queued" in "\n".join(openapi_contract.problems(_entry(route, bad)))


def test_undocumented_routes_and_statuses_are_reported(openapi_contract: Contract) -> None:
    assert openapi_contract.problems(_entry("/collections/{collection_name}/frobnicate", _envelope(True)))
    created = _entry("/collections/{collection_name}", _envelope(True), method="PUT", status=201)
    assert "does not document" in "\n".join(openapi_contract.problems(created))


def test_error_envelopes_are_checked(openapi_contract: Contract) -> None:
    route = "/collections/{collection_name}"
    good = _entry(
        route, {"status": {"error": "Not found: Collection `x` doesn't exist!"}, "time": 0.0}, status=404
    )
    bad = _entry(route, {"status": {"error": 404}, "time": 0.0}, status=404)
    assert openapi_contract.problems(good) == []
    assert openapi_contract.problems(bad)


# SHA-256 of Qdrant 1.19's openapi.json as shipped in ../shared/qdrant: the vendored copy is
# checked against it everywhere, and against the shared file itself where that file exists.
QDRANT_OPENAPI_SHA256 = "ae5cf980e40fc12ce7ce48f500a7c9cc19a7d8fcf0cfa1e2c7c7b27faecd8ffa"


def test_the_vendored_document_is_qdrants() -> None:
    assert hashlib.sha256(DOCUMENT.read_bytes()).hexdigest() == QDRANT_OPENAPI_SHA256
    if SHARED_DOCUMENT.exists():  # a CI clone may not have ../shared; the digest holds either way
        assert DOCUMENT.read_bytes() == SHARED_DOCUMENT.read_bytes()
