"""The portable backup format: pure round trips (hypothesis), and a portable run against the Qdrant
stand-in and moto's S3 server — parts and the collection manifest in the bucket, a restore into a
new collection with the same config reproducing every point (ids, named/sparse vectors,
payloads), a restore resumed after an interruption, and a changed part refused."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from qdrant_client import QdrantClient, models

from qco.api.backup import BackupScheduleSpec
from qco.clients.qdrant import Endpoint
from qco.clients.qdrant_portable import PortableQdrant
from qco.clients.s3 import S3Location, S3Store
from qco.plan.backup_portable import (
    RESTORING_KEY,
    PortableFormatError,
    create_request,
    decode_part,
    encode_part,
    index_requests,
    unsupported_reason,
)
from qco.plan.backup_schedule import RunPlan
from qco.reconcile.backup_portable import export_collection, finish_import, import_collection
from qco.reconcile.backup_run import RunContext, execute_run
from qco.reconcile.backup_targets import Target
from tests.plugins.s3_server import ACCESS_KEY, REGION, SECRET_KEY, S3Server, s3_fixture

BUCKET = "qco-portable"

finite = st.floats(allow_nan=False, allow_infinity=False, width=32)
ids = st.one_of(st.integers(0, 2**63 - 1), st.uuids().map(str))
payloads = st.dictionaries(
    st.text(min_size=1, max_size=8),
    st.one_of(st.integers(-(2**53), 2**53), st.text(max_size=10), st.booleans(), st.none(), finite),
    max_size=4,
)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            ids, st.lists(finite, min_size=3, max_size=3), st.lists(finite, min_size=2, max_size=2), payloads
        ),
        max_size=20,
        unique_by=lambda t: t[0],
    )
)
def test_a_part_round_trips_ids_vectors_and_payloads_exactly(points: list[Any]) -> None:
    records = [
        models.Record(
            id=pid,
            vector={"dense": dense, "sparse": models.SparseVector(indices=[1, 7], values=sparse)},
            payload=payload,
        )
        for pid, dense, sparse, payload in points
    ]
    decoded = decode_part(encode_part(records))
    assert [p.id for p in decoded] == [r.id for r in records]
    assert [p.payload for p in decoded] == [r.payload for r in records]
    for point, record in zip(decoded, records, strict=True):
        assert isinstance(point.vector, dict) and isinstance(record.vector, dict)
        assert point.vector["dense"] == record.vector["dense"]
        sparse = point.vector["sparse"]
        assert isinstance(sparse, models.SparseVector)
        assert (sparse.indices, sparse.values) == (
            record.vector["sparse"].indices,
            record.vector["sparse"].values,
        )  # type: ignore[union-attr]


def test_a_damaged_part_is_refused_with_the_reason() -> None:
    with pytest.raises(PortableFormatError, match="not gzip"):
        decode_part(b"plain text")
    with pytest.raises(PortableFormatError, match="line 1"):
        decode_part(gzip.compress(b'{"id": -1, "vector": "x"}\n'))


def test_create_request_takes_the_config_and_replaces_the_metadata() -> None:
    config = {
        "params": {
            "vectors": {"dense": {"size": 3, "distance": "Dot"}},
            "sparse_vectors": {"sparse": {}},
            "shard_number": 2,
            "replication_factor": 1,
            "on_disk_payload": True,
        },
        "hnsw_config": {"m": 32, "ef_construct": 200, "full_scan_threshold": 10000},
        "optimizer_config": {"indexing_threshold": 5000, "deleted_threshold": 0.2},
        "wal_config": {"wal_capacity_mb": 16, "wal_segments_ahead": 0},
        "quantization_config": {"scalar": {"type": "int8", "always_ram": True}},
        "metadata": {"qco.dev/owner": "a/b/c"},
    }
    request = create_request(config, {"team": "search"})
    assert request.shard_number == 2 and request.on_disk_payload is True
    assert request.hnsw_config is not None and request.hnsw_config.m == 32
    assert request.optimizers_config is not None and request.optimizers_config.indexing_threshold == 5000
    assert request.metadata == {"team": "search"}
    assert isinstance(request.quantization_config, models.ScalarQuantization)
    schema = {"tag": {"data_type": "keyword", "points": 3}, "n": {"data_type": "integer", "params": None}}
    assert [(r.field_name, r.field_schema) for r in index_requests(schema)] == [
        ("n", models.PayloadSchemaType.INTEGER),
        ("tag", models.PayloadSchemaType.KEYWORD),
    ]
    assert unsupported_reason({"config": {"params": {"sharding_method": "custom"}}}) is not None
    assert unsupported_reason({"config": config}) is None


s3 = s3_fixture(BUCKET)


def store(s3: S3Server) -> S3Store:
    return S3Store(S3Location(BUCKET, s3.url, REGION, True, ACCESS_KEY, SECRET_KEY))


def fill(url: str, name: str, points: int) -> None:
    client = QdrantClient(url=url, check_compatibility=False)
    client.create_collection(
        name,
        vectors_config={"dense": models.VectorParams(size=3, distance=models.Distance.DOT)},
        sparse_vectors_config={"sparse": models.SparseVectorParams()},
        hnsw_config=models.HnswConfigDiff(m=24),
    )
    client.create_payload_index(name, "tag", models.PayloadSchemaType.KEYWORD, wait=True)
    client.upsert(
        name,
        [
            models.PointStruct(
                id=i if i % 2 else f"00000000-0000-0000-0000-{i:012d}",
                vector={
                    "dense": [i * 0.1, 1 / (i + 3), -2.5],
                    "sparse": models.SparseVector(indices=[i, i + 10], values=[0.5, i / 7]),
                },
                payload={"n": i, "tag": f"t{i % 3}", "nested": {"list": [i, "x"], "f": i / 3}},
            )
            for i in range(points)
        ],
        wait=True,
    )
    client.close()


def everything(url: str, name: str) -> list[tuple[Any, Any, Any]]:
    client = QdrantClient(url=url, check_compatibility=False)
    points, _ = client.scroll(name, limit=10_000, with_vectors=True, with_payload=True)
    client.close()
    vectors = [sorted(p.vector.items()) if isinstance(p.vector, dict) else p.vector for p in points]
    return sorted(
        (str(p.id), repr(v), json.dumps(p.payload, sort_keys=True))
        for p, v in zip(points, vectors, strict=True)
    )


async def test_export_then_import_reproduces_every_point_and_the_config(
    s3: S3Server, qdrant_server: Any
) -> None:
    fill(qdrant_server.url, "docs", 23)
    bucket = store(s3)
    async with PortableQdrant(Endpoint(qdrant_server.url)) as qdrant:
        exported = await export_collection(bucket, qdrant, "docs", "p/run/docs.portable/", part_points=10)
        assert (exported.points, exported.parts) == (23, 3)
        assert s3.keys(BUCKET, "p/run/") == [
            "p/run/docs.portable/collection.json",
            *(f"p/run/docs.portable/part-{n:05d}.jsonl.gz" for n in range(3)),
        ]
        written = await import_collection(bucket, qdrant, exported.key, exported.sha256, "copy", "test")
        assert written == 23
        info = await qdrant.collection_json("copy")
        assert info is not None and info["config"]["metadata"][RESTORING_KEY] == "test"
        await finish_import(qdrant, "copy")
        info = await qdrant.collection_json("copy")
        assert info is not None and not info["config"].get("metadata", {}).get(RESTORING_KEY)
        assert info["config"]["hnsw_config"]["m"] == 24
        assert set(info["config"]["params"]["vectors"]) == {"dense"}
        assert set(info["config"]["params"]["sparse_vectors"]) == {"sparse"}
        assert set(info["payload_schema"]) == {"tag"}
        # Imported again (a resumed restore): the same points, none twice.
        assert await import_collection(bucket, qdrant, exported.key, exported.sha256, "copy", "test") == 23
        assert await qdrant.count("copy") == 23
    assert everything(qdrant_server.url, "copy") == everything(qdrant_server.url, "docs")
    assert len(everything(qdrant_server.url, "docs")) == 23


async def test_a_changed_part_or_manifest_is_refused(s3: S3Server, qdrant_server: Any) -> None:
    fill(qdrant_server.url, "docs", 5)
    bucket = store(s3)
    async with PortableQdrant(Endpoint(qdrant_server.url)) as qdrant:
        exported = await export_collection(bucket, qdrant, "docs", "c/run/docs.portable/")
        with pytest.raises(PortableFormatError, match="differs from the run's record"):
            await import_collection(bucket, qdrant, exported.key, "0" * 64, "copy", "test")
        s3.client().put_object(Bucket=BUCKET, Key="c/run/docs.portable/part-00000.jsonl.gz", Body=b"zz")
        with pytest.raises(PortableFormatError, match="differs from the manifest"):
            await import_collection(bucket, qdrant, exported.key, exported.sha256, "copy", "test")


async def test_a_portable_run_is_verified_and_writes_its_manifest_last(
    s3: S3Server, qdrant_server: Any
) -> None:
    fill(qdrant_server.url, "docs", 12)
    spec = BackupScheduleSpec.model_validate(
        {
            "schedule": "0 3 * * *",
            "collections": {"names": ["docs"]},
            "format": "portable",
            "verify": True,
            "destination": {
                "s3": {
                    "bucket": BUCKET,
                    "prefix": "prod",
                    "forcePathStyle": True,
                    "accessKeyId": {"name": "s3", "key": "id"},
                    "secretAccessKey": {"name": "s3", "key": "secret"},
                }
            },
        }
    )

    async def no_progress(record: dict[str, Any]) -> None:
        del record

    run = RunContext(
        "nightly", spec, store(s3), [Target("docs", "docs", Endpoint(qdrant_server.url))], no_progress
    )
    slot = datetime(2026, 11, 29, 3, 0, tzinfo=UTC)
    try:
        record = await execute_run(run, RunPlan("nightly-20261129-0300", slot, "Scheduled"), slot)
    finally:
        await run.close()
    assert record["phase"] == "Succeeded", record
    [entry] = record["collections"]
    assert entry["key"] == "prod/nightly/nightly-20261129-0300/docs.portable/collection.json"
    assert (entry["points"], entry["verified"]) == (12, True)
    manifest = await store(s3).get_json("prod/nightly/nightly-20261129-0300/manifest.json")
    assert (manifest["format"], manifest["phase"]) == ("portable", "Succeeded")
    collection = await store(s3).get_json(entry["key"])
    assert collection["points"] == 12 and collection["config"]["params"]["vectors"]["dense"]["size"] == 3
    assert not QdrantClient(url=qdrant_server.url, check_compatibility=False).collection_exists(
        "qco-verify-nightly-20261129-0300-docs"
    )
