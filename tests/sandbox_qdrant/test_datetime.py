"""Datetime range filters accept the formats Qdrant parses and refuse the ones it refuses."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest
from qdrant_client import QdrantClient, models

from tests.plugins.qdrant_server import QdrantServerProcess

DAYS = ["2015-01-01T00:00:00Z", "2015-02-01T06:00:00Z", "2015-03-01T12:30:00Z", "2015-04-01T00:00:00Z"]


@pytest.fixture
def dated(qdrant_server: QdrantServerProcess) -> str:
    client = QdrantClient(url=qdrant_server.url, check_compatibility=False, timeout=30)
    client.create_collection("d", vectors_config=models.VectorParams(size=2, distance=models.Distance.DOT))
    client.create_payload_index("d", "when", models.PayloadSchemaType.DATETIME, wait=True)
    points = [
        models.PointStruct(id=i, vector=[1.0, 0.0], payload={"when": day}) for i, day in enumerate(DAYS)
    ]
    client.upsert("d", points, wait=True)
    client.close()
    return qdrant_server.url


def _ids(url: str, condition: dict[str, str]) -> list[int]:
    body = {"filter": {"must": [{"key": "when", "range": condition}]}, "limit": 10}
    response = httpx.post(url + "/collections/d/points/scroll", json=body)
    assert response.status_code == 200, response.text
    return sorted(p["id"] for p in response.json()["result"]["points"])


@pytest.mark.parametrize(
    ("condition", "ids"),
    [
        ({"gte": "2015-03-01T12:30"}, [2, 3]),
        ({"gt": "2015-03-01T12:30"}, [3]),
        ({"lt": "2015-01-01 00:00"}, []),
        ({"lte": "2015-01-01 00:00"}, [0]),
        ({"gte": "2015-02-01T06:00:00.000000000"}, [1, 2, 3]),
        ({"gt": "2015-02-01T06:00:00.000000001"}, [2, 3]),
        ({"gte": "2015-02-01T08:00:00+02:00"}, [1, 2, 3]),
        ({"gte": "2015-02-01T08:00:00+0200"}, [1, 2, 3]),
        ({"gte": "2015-02-01T07:00:00+01"}, [1, 2, 3]),
        ({"lt": "2015-03-01"}, [0, 1]),
        ({"gte": "2015-03-01 12:30:00 UTC"}, [2, 3]),
        ({"gte": "2015-03-01T12:30:00.5Z"}, [3]),
    ],
)
def test_formats_qdrant_accepts(dated: str, condition: dict[str, str], ids: list[int]) -> None:
    assert _ids(dated, condition) == ids


@pytest.mark.parametrize(
    "value", ["1700000000", "2015/03/01", "2015-13-01", "2015-03-01T25:00:00", "yesterday"]
)
def test_formats_qdrant_refuses(dated: str, value: str) -> None:
    body = {"filter": {"must": [{"key": "when", "range": {"gte": value}}]}}
    response = httpx.post(dated + "/collections/d/points/count", json=body)
    assert response.status_code == 400
    assert response.json()["status"]["error"] == (
        f"Format error in JSON body: '{value}' is not in a supported date/time format, please use RFC 3339"
    )


def test_qdrant_client_datetime_range(dated: str) -> None:
    client = QdrantClient(url=dated, check_compatibility=False, timeout=30)
    since = datetime(2015, 2, 1, 6, tzinfo=UTC)
    flt = models.Filter(must=[models.FieldCondition(key="when", range=models.DatetimeRange(gte=since))])
    assert client.count("d", count_filter=flt).count == 3
    client.close()
