"""QdrantCollection intelligence on `qco sandbox`: each preset yields its documented live config
(read back with qdrant-client); health breaches flip `Healthy` and the metric; search tuning on
20k real-engine points reports recall rising with ef and a recommendation that meets the target by
the test's own exact computation; on a binary-quantized collection, the cheapest rescore/oversampling
variant meeting the target, met again by that computation."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime
from typing import Any

import numpy as np
from qdrant_client.http import models

from tests.e2e.conftest import Sandbox, collection_manifest, reason_of, status_of
from tests.e2e.waits import metrics_base, scrape, value, wait_until

VECTOR = {"": {"size": 8, "distance": "Cosine"}}
OPTIMIZERS = {
    "deleted_threshold": 0.2,
    "vacuum_min_vector_number": 1000,
    "default_segment_number": 4,
    "indexing_threshold": 20000,
    "flush_interval_sec": 5,
}
# docs/presets.md, written out: hnsw, quantization, optimizers (subset), payload schema
DOCUMENTED: dict[str, dict[str, Any]] = {
    "hybrid-search": {
        "hnsw": {"m": 16, "ef_construct": 200, "full_scan_threshold": 10000},
        "quantization": {"scalar": {"type": "int8", "quantile": 0.99, "always_ram": True}},
        "optimizers": OPTIMIZERS,
    },
    "semantic-search": {
        "hnsw": {"m": 32, "ef_construct": 400},
        "quantization": {"scalar": {"type": "int8", "quantile": 0.95, "always_ram": True}},
        "optimizers": OPTIMIZERS,
    },
    "high-accuracy": {
        "hnsw": {"m": 32, "ef_construct": 400},
        "quantization": {"scalar": {"type": "int8", "quantile": 0.95, "always_ram": True}},
        "optimizers": {**OPTIMIZERS, "default_segment_number": 2},
    },
    "high-performance": {
        "hnsw": {"m": 8, "ef_construct": 100},
        "quantization": {"binary": {"always_ram": True}},
        "optimizers": OPTIMIZERS,
    },
    "multi-tenant": {"hnsw": {"m": 0, "payload_m": 16}, "tenant": "tenant_id"},
}


def test_each_preset_yields_its_documented_live_config(sandbox: Sandbox, unique: str) -> None:
    client = sandbox.qdrant()
    for preset, documented in DOCUMENTED.items():
        name = f"{preset}-{unique}"
        sandbox.apply(collection_manifest(name, {"preset": preset, "vectors": VECTOR}))
        obj = sandbox.wait_ready(name)
        config = client.get_collection(name).config
        for key, want in documented["hnsw"].items():
            assert getattr(config.hnsw_config, key) == want, (preset, key)
        if "quantization" in documented:
            assert config.quantization_config is not None
            assert config.quantization_config.model_dump(exclude_none=True) == documented["quantization"]
        for key, want in documented.get("optimizers", {}).items():
            assert getattr(config.optimizer_config, key) == want, (preset, key)
        if "tenant" in documented:
            schema = client.get_collection(name).payload_schema[documented["tenant"]]
            assert schema.data_type == models.PayloadSchemaType.KEYWORD
            assert isinstance(schema.params, models.KeywordIndexParams) and schema.params.is_tenant is True
        effective = obj["status"]["effective"]
        assert effective["vectors"] == VECTOR  # vectors stay the user's
        assert effective["hnsw"]["m"] == documented["hnsw"]["m"]
        assert obj["status"]["memory"]["current"]["points"] == 0


def test_explicit_field_wins_over_the_preset_live(sandbox: Sandbox, unique: str) -> None:
    name = f"explicit-{unique}"
    spec = {
        "preset": "hybrid-search",
        "vectors": VECTOR,
        "hnsw": {"m": 48},
        "optimizers": {"indexingThreshold": 0},
    }
    sandbox.apply(collection_manifest(name, spec))
    sandbox.wait_ready(name)
    config = sandbox.qdrant().get_collection(name).config
    assert (config.hnsw_config.m, config.hnsw_config.ef_construct) == (48, 200)
    assert (config.optimizer_config.indexing_threshold, config.optimizer_config.flush_interval_sec) == (0, 5)


def _request(sandbox: Sandbox, name: str) -> None:
    stamp = datetime.now(UTC).isoformat()
    sandbox.kubectl(
        "annotate", "--overwrite", f"qdrantcollection/{name}", f"qco.dev/reconcile-requested-at={stamp}"
    )


def test_health_breaches_flip_healthy_and_the_metric(sandbox: Sandbox, unique: str) -> None:
    name = f"health-{unique}"
    base = metrics_base(sandbox.operator_log())
    health = {"minPoints": 5, "probe": {"queries": 3, "limit": 5, "maxLatencyMs": 150}}
    sandbox.apply(collection_manifest(name, {"vectors": VECTOR, "health": health, "driftInterval": "1h"}))
    obj = sandbox.wait_for(name, lambda o: reason_of(o, "Healthy") == "TooFewPoints")
    assert status_of(obj, "Ready") == "True"  # Ready stays about the spec
    assert obj["status"]["health"]["points"] == 0
    labels = {"namespace": "default", "object": name}
    samples = scrape(base)
    assert value(samples, "qco_collection_healthy", **labels) == 0
    assert value(samples, "qco_collection_health_breach", reason="TooFewPoints", **labels) == 1

    rng = np.random.default_rng(3)
    vectors = rng.standard_normal((10, 8)).tolist()
    sandbox.qdrant().upsert(name, models.Batch(ids=list(range(10)), vectors=vectors), wait=True)
    _request(sandbox, name)
    obj = sandbox.wait_for(name, lambda o: status_of(o, "Healthy") == "True")
    assert obj["status"]["health"]["probeErrors"] == 0
    assert wait_until(lambda: scrape(base), lambda s: value(s, "qco_collection_healthy", **labels) == 1)

    # every probe query now takes 400 ms: the p95 breaches maxLatencyMs
    sandbox.admin.add_fault(f"/collections/{name}/points/query", "latency", latency_ms=400)
    try:
        _request(sandbox, name)
        obj = sandbox.wait_for(name, lambda o: reason_of(o, "Healthy") == "ProbeLatencyExceeded")
        assert obj["status"]["health"]["probeP95Ms"] >= 400
        samples = wait_until(
            lambda: scrape(base),
            lambda s: value(s, "qco_collection_health_breach", reason="ProbeLatencyExceeded", **labels) == 1,
        )
        assert value(samples, "qco_collection_probe_p95_seconds", **labels) >= 0.4
    finally:
        sandbox.admin.clear_faults()


POINTS, DIM, SAMPLE, LIMIT = 20_000, 16, 40, 10


def test_search_tuning_recall_rises_with_ef_and_meets_the_target(sandbox: Sandbox, unique: str) -> None:
    name = f"tuning-{unique}"
    # A sparse graph (m 6, efConstruct 16) on random 16-d data, never a full scan: low ef misses neighbours.
    spec: dict[str, Any] = {
        "vectors": {"": {"size": DIM, "distance": "Cosine"}},
        "hnsw": {"m": 6, "efConstruct": 16, "fullScanThreshold": 10},
        "optimizers": {"indexingThreshold": 1000, "defaultSegmentNumber": 1},
        "driftInterval": "1h",
    }
    sandbox.apply(collection_manifest(name, spec))
    sandbox.wait_ready(name)
    client = sandbox.qdrant()
    data = np.random.default_rng(11).standard_normal((POINTS, DIM)).astype(np.float32)
    for start in range(0, POINTS, 2000):
        block = data[start : start + 2000]
        client.upsert(
            name, models.Batch(ids=list(range(start, start + len(block))), vectors=block.tolist()), wait=True
        )
    wait_until(
        lambda: client.get_collection(name),
        lambda i: i.status == models.CollectionStatus.GREEN and (i.indexed_vectors_count or 0) >= POINTS // 2,
        timeout=240,
        what="HNSW built",
    )
    tuning = {
        "targetRecall": 0.9,
        "sampleSize": SAMPLE,
        "limit": LIMIT,
        "efCandidates": [10, 20, 40, 80, 160, 320],
        "configMapName": f"{name}-search",
    }
    sandbox.apply(collection_manifest(name, {**spec, "searchTuning": tuning}))
    obj = sandbox.wait_for(name, lambda o: "searchTuning" in o.get("status", {}), timeout=240)
    result = obj["status"]["searchTuning"]
    recalls = [r["recall"] for r in result["results"]]
    assert [r["ef"] for r in result["results"]] == [10, 20, 40, 80, 160, 320]
    assert recalls[0] < recalls[-1]
    assert all(b >= a - 0.02 for a, b in itertools.pairwise(recalls)), recalls  # rising
    assert result["targetMet"] is True and result["sampleSize"] == SAMPLE, result
    ef = result["recommendedEf"]
    # published for applications: a ConfigMap key owned by the object
    cm = json.loads(sandbox.kubectl("get", "configmap", f"{name}-search", "-o", "json").stdout)
    published = json.loads(cm["data"]["searchTuning.json"])
    assert (published["recommendedEf"], published["targetMet"], published["limit"]) == (ef, True, LIMIT)
    assert cm["metadata"]["ownerReferences"][0]["uid"] == obj["metadata"]["uid"]

    # The test's own exact top-k (numpy, cosine) for the same sampled points (scroll order: ids 0..)
    sample_ids = [int(p.id) for p in client.scroll(name, limit=SAMPLE)[0]]
    normed = data / np.linalg.norm(data, axis=1, keepdims=True)
    found_recalls = []
    for qid in sample_ids:
        scores = normed @ normed[qid]
        scores[qid] = -np.inf  # the query itself does not count
        truth = set(np.argsort(-scores)[:LIMIT].tolist())
        hits = client.query_points(
            name, query=data[qid].tolist(), limit=LIMIT + 1, search_params=models.SearchParams(hnsw_ef=ef)
        ).points
        got = [int(h.id) for h in hits if int(h.id) != qid][:LIMIT]
        found_recalls.append(len(truth & set(got)) / LIMIT)
    assert float(np.mean(found_recalls)) >= 0.9
    assert (
        abs(float(np.mean(found_recalls)) - next(r["recall"] for r in result["results"] if r["ef"] == ef))
        < 0.05
    )


Q_POINTS, Q_DIM, Q_TARGET = 3000, 32, 0.9


def test_search_tuning_with_quantization_recommends_rescore_and_oversampling(
    sandbox: Sandbox, unique: str
) -> None:
    name = f"tuning-q-{unique}"
    # Binary quantization: without rescoring the top-k by hamming distance misses most true
    # neighbours within a cluster; rescoring enough oversampled candidates with the originals finds them.
    spec: dict[str, Any] = {
        "vectors": {"": {"size": Q_DIM, "distance": "Cosine"}},
        "quantization": {"binary": {"alwaysRam": True}},
        "optimizers": {"indexingThreshold": 100, "defaultSegmentNumber": 1},  # KB: 3000x32 floats index
        "driftInterval": "1h",
    }
    sandbox.apply(collection_manifest(name, spec))
    sandbox.wait_ready(name)
    client = sandbox.qdrant()
    rng = np.random.default_rng(5)  # 60 clusters of 50: a point's neighbours are in its cluster
    centers = rng.standard_normal((60, Q_DIM))
    data = (np.repeat(centers, Q_POINTS // 60, axis=0) + 0.5 * rng.standard_normal((Q_POINTS, Q_DIM))).astype(
        np.float32
    )
    client.upsert(name, models.Batch(ids=list(range(Q_POINTS)), vectors=data.tolist()), wait=True)
    wait_until(
        lambda: client.get_collection(name),
        lambda i: (
            i.status == models.CollectionStatus.GREEN and (i.indexed_vectors_count or 0) >= Q_POINTS // 2
        ),
        timeout=240,
        what="HNSW and quantized vectors built",
    )
    tuning = {
        "targetRecall": Q_TARGET,
        "sampleSize": SAMPLE,
        "limit": LIMIT,
        "efCandidates": [128],
        "oversamplingCandidates": [1, 4, 16],
    }
    sandbox.apply(collection_manifest(name, {**spec, "searchTuning": tuning}))
    obj = sandbox.wait_for(name, lambda o: "searchTuning" in o.get("status", {}), timeout=240)
    result = obj["status"]["searchTuning"]
    rows = {(r["ef"], r.get("rescore"), r.get("oversampling")): r["recall"] for r in result["results"]}
    assert set(rows) == {
        (128, None, None),
        (128, False, None),
        (128, True, 1.0),
        (128, True, 4.0),
        (128, True, 16.0),
    }
    assert rows[(128, False, None)] < rows[(128, True, 16.0)], rows  # the params reach the engine
    chosen = result["recommendedQuantization"]
    assert chosen["targetMet"] is True and chosen["rescore"] is True, rows
    # cheapest meeting the target: no smaller oversampling (nor rescore off) met it
    assert all(
        v < Q_TARGET
        for (_, rescore, o), v in rows.items()
        if rescore is False or (o or 99) < chosen["oversampling"]
    )

    # The test's own exact top-k (numpy, cosine) with the recommended params, same sampled points
    sample_ids = [int(p.id) for p in client.scroll(name, limit=SAMPLE)[0]]
    normed = data / np.linalg.norm(data, axis=1, keepdims=True)
    params = models.SearchParams(
        hnsw_ef=chosen["ef"],
        quantization=models.QuantizationSearchParams(rescore=True, oversampling=chosen["oversampling"]),
    )
    found = []
    for qid in sample_ids:
        scores = normed @ normed[qid]
        scores[qid] = -np.inf
        truth = set(np.argsort(-scores)[:LIMIT].tolist())
        hits = client.query_points(
            name, query=data[qid].tolist(), limit=LIMIT + 1, search_params=params
        ).points
        got = [int(h.id) for h in hits if int(h.id) != qid][:LIMIT]
        found.append(len(truth & set(got)) / LIMIT)
    assert float(np.mean(found)) >= Q_TARGET
    assert abs(float(np.mean(found)) - chosen["recall"]) < 0.05
