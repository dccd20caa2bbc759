"""The memory formulas, one row per part (qco.plan.memory), and the recommendation text."""

from __future__ import annotations

from typing import Any

import pytest

from qco.api.collection_config import CollectionConfig
from qco.plan.memory import (
    MIB,
    estimate_memory,
    fixed_ram,
    format_bytes,
    hnsw_link_bytes,
    recommend,
)

N = 100_000


def _config(vector: dict[str, Any] | None = None, **fields: Any) -> CollectionConfig:
    v = {"size": 768, "distance": "Cosine", **(vector or {})}
    return CollectionConfig.model_validate({"vectors": {"": v}, **fields})


@pytest.mark.parametrize(
    ("config", "part", "ram", "disk"),
    [
        # original vectors: size x bytes(datatype); on_disk keeps them out of RAM
        (_config(), "original_vectors", N * 768 * 4, N * 768 * 4),
        (_config({"datatype": "float16"}), "original_vectors", N * 768 * 2, N * 768 * 2),
        (_config({"datatype": "uint8"}), "original_vectors", N * 768, N * 768),
        (_config({"onDisk": True}), "original_vectors", 0, N * 768 * 4),
        # quantized: int8 size+4, binary ceil(size*bits/8), product size*4/ratio
        (_config(quantization={"scalar": {"alwaysRam": True}}), "quantized_vectors", N * 772, N * 772),
        (_config(quantization={"binary": {}}), "quantized_vectors", N * 96, N * 96),
        (_config(quantization={"binary": {"encoding": "two_bits"}}), "quantized_vectors", N * 192, N * 192),
        (_config(quantization={"product": {"compression": "x32"}}), "quantized_vectors", N * 96, N * 96),
        # quantized copy of on-disk originals: in RAM only with alwaysRam
        (_config({"onDisk": True}, quantization={"scalar": {}}), "quantized_vectors", 0, N * 772),
        (
            _config({"onDisk": True}, quantization={"scalar": {"alwaysRam": True}}),
            "quantized_vectors",
            N * 772,
            N * 772,
        ),
        # per-vector quantization overrides the collection's
        (
            _config({"quantization": {"binary": {}}}, quantization={"scalar": {}}),
            "quantized_vectors",
            N * 96,
            N * 96,
        ),
        (_config(quantization={"disabled": True}), "quantized_vectors", 0, 0),
        # HNSW: default m=16; m from the config; on_disk; below the indexing threshold none
        (_config(), "hnsw", hnsw_link_bytes(N, 16), hnsw_link_bytes(N, 16)),
        (_config(hnsw={"m": 32}), "hnsw", hnsw_link_bytes(N, 32), hnsw_link_bytes(N, 32)),
        (_config(hnsw={"onDisk": True}), "hnsw", 0, hnsw_link_bytes(N, 16)),
        (_config({"hnsw": {"m": 8}}, hnsw={"m": 32}), "hnsw", hnsw_link_bytes(N, 8), hnsw_link_bytes(N, 8)),
        (_config(optimizers={"indexingThreshold": 0}), "hnsw", 0, 0),
        (_config(optimizers={"indexingThreshold": 1_000_000}), "hnsw", 0, 0),
        (_config(hnsw={"m": 0, "payloadM": 16}), "hnsw", hnsw_link_bytes(N, 16), hnsw_link_bytes(N, 16)),
        (_config(hnsw={"m": 0}), "hnsw", 0, 0),
        # sparse: 50 non-zeros x 8 B, twice on disk (storage + inverted index)
        (_config(sparseVectors={"bm25": {}}), "sparse", N * 400, N * 800),
        (_config(sparseVectors={"bm25": {"index": {"onDisk": True}}}), "sparse", 0, N * 800),
        # payload indexes by type
        (
            _config(payloadIndexes=[{"field": "t", "type": "keyword"}, {"field": "y", "type": "integer"}]),
            "payload_indexes",
            N * 40,
            N * 40,
        ),
        (
            _config(payloadIndexes=[{"field": "t", "type": "bool", "onDisk": True}]),
            "payload_indexes",
            0,
            N * 2,
        ),
        # bookkeeping
        (_config(), "overhead", N * 24, N * 24),
    ],
)
def test_part(config: CollectionConfig, part: str, ram: int, disk: int) -> None:
    estimate = getattr(estimate_memory(config, N), part)
    assert (estimate.ram, estimate.disk) == (ram, disk)


@pytest.mark.parametrize(
    ("on_disk_payload", "ram"),
    [(None, 0), (True, 0), (False, N * 300)],
)
def test_payload(on_disk_payload: bool | None, ram: int) -> None:
    part = estimate_memory(_config(onDiskPayload=on_disk_payload), N, payload_bytes=300).payload
    assert (part.ram, part.disk) == (ram, N * 300)


def test_hnsw_links_from_m_and_levels() -> None:
    # level 0: 2m links; upper levels: n/(m-1) nodes with m links; u32 links, u64 offsets
    upper = 1000 / 15
    assert hnsw_link_bytes(1000, 16) == int((1000 * 32 + upper * 16) * 4 + (1000 + upper) * 8)
    assert hnsw_link_bytes(0, 16) == 0 and hnsw_link_bytes(1000, 0) == 0


def test_fixed_part_only_with_points_and_by_segments() -> None:
    assert estimate_memory(_config(), 0).total.ram == 0
    assert fixed_ram(_config()) == (16 + 2 * 32 + 32) * MIB
    assert fixed_ram(_config(optimizers={"defaultSegmentNumber": 4})) == (16 + 4 * 32 + 32) * MIB
    assert fixed_ram(_config(), segments=3) == (16 + 3 * 32 + 32) * MIB


def test_totals_add_the_parts() -> None:
    e = estimate_memory(_config(quantization={"scalar": {"alwaysRam": True}}), N, payload_bytes=100)
    assert e.total.ram == sum(
        p.ram
        for p in (
            e.original_vectors,
            e.quantized_vectors,
            e.hnsw,
            e.sparse,
            e.payload,
            e.payload_indexes,
            e.overhead,
            e.fixed,
        )
    )
    status = e.to_status()
    assert status["ramBytes"] == e.total.ram and status["originalVectorsBytes"] == N * 768 * 4


@pytest.mark.parametrize(
    ("config", "points", "expected"),
    [
        (
            _config(),
            2_000_000,
            "quantization int8 with original vectors on disk would cut RAM from 6.1 GiB to 1.9 GiB",
        ),
        (
            _config(quantization={"scalar": {"alwaysRam": True}}),
            2_000_000,
            "original vectors on disk (onDisk: true) would cut RAM from 7.6 GiB to 1.9 GiB",
        ),
        (
            _config({"onDisk": True}, quantization={"scalar": {"alwaysRam": True}}),
            2_000_000,
            "RAM 1.9 GiB: no single change would cut it by 20% or more",
        ),
    ],
)
def test_recommendation(config: CollectionConfig, points: int, expected: str) -> None:
    assert recommend(config, points) == expected


@pytest.mark.parametrize(
    ("size", "text"), [(40, "40 B"), (2048, "2.0 KiB"), (3 * MIB, "3.0 MiB"), (1.5 * (1 << 30), "1.5 GiB")]
)
def test_format_bytes(size: float, text: str) -> None:
    assert format_bytes(size) == text
