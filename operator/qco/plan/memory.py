"""Memory and disk estimate of a collection from its (effective) config and a point count. Pure.

Every formula is per point, summed over the parts Qdrant keeps (docs/memory.md has the
derivations and the calibration against the engine):

- Original dense vectors: `size x bytes(datatype)` (float32 4, float16 2, uint8 1). Always on
  disk (Qdrant persists every storage); in RAM unless the vector is `on_disk`. A multivector
  point is counted as one sub-vector (the count per point is data, not config).
- Quantized vectors: int8 `size + 4` (one byte per dimension plus the per-vector correction
  float), binary `ceil(size x bits / 8)` (one_bit 1, one_and_half_bits 1.5, two_bits 2), product
  `size x 4 / ratio`. In RAM when `always_ram` or when the originals are in RAM anyway.
- HNSW links: level 0 keeps `2m` neighbours, every upper level `m`; a node reaches level >= 1
  with probability 1/m, so the expected upper-level nodes are `n / (m - 1)`. Each link is a u32
  plus one u64 offset per node and level. Built only when the segment's vectors exceed the
  indexing threshold (Qdrant: `indexing_threshold` KiB, default 10000); `m = 0` with a
  `payload_m` builds per-payload-value graphs of `2 x payload_m` links instead.
- Sparse vectors: `nnz x 8` bytes (u32 index + f32 weight) in storage and again in the inverted
  index (RAM unless the index is on_disk); nnz is an input (default 50 non-zeros).
- Payload: the average JSON size per point (an input); RAM unless `on_disk_payload` (Qdrant's
  default is on disk since 1.x, so unset counts as on disk).
- Payload indexes: per point and index, by type (keyword/uuid 24 B, integer 16 B, float and
  datetime 16 B, geo 32 B, bool 2 B, text 64 B); RAM unless the index is on_disk.
- Point bookkeeping: id tracker and versions, 24 B per point, RAM and disk.
- Fixed, per shard holding points (measured on the engine, bench/memory_calibration.py): 16 MiB
  for the loaded shard, one 32 MiB mmap'd payload page per segment and one 32 MiB vector chunk
  preallocated by the appendable segment, all resident. Disk counts allocated blocks, so the
  sparse preallocation does not count there; the WAL (wal_capacity_mb per WAL segment, a few
  per shard) is not per point and is left out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Final

from qco.api.collection_config import CollectionConfig, HnswSpec, QuantizationSpec, VectorSpec

DATATYPE_BYTES: Final = {"float32": 4, "float16": 2, "uint8": 1}
BINARY_BITS: Final = {"one_bit": 1.0, "one_and_half_bits": 1.5, "two_bits": 2.0}
PQ_RATIO: Final = {"x4": 4, "x8": 8, "x16": 16, "x32": 32, "x64": 64}
INDEX_BYTES: Final = {
    "keyword": 24,
    "uuid": 24,
    "integer": 16,
    "float": 16,
    "datetime": 16,
    "geo": 32,
    "bool": 2,
    "text": 64,
}
#: Qdrant's defaults (config.yaml) for what the config leaves out.
DEFAULT_M: Final = 16
DEFAULT_INDEXING_THRESHOLD_KB: Final = 10000
DEFAULT_SPARSE_NNZ: Final = 50
POINT_OVERHEAD: Final = 24
MIB: Final = 1 << 20
SHARD_BASE_RAM: Final = 16 * MIB
SEGMENT_PAGE_RAM: Final = 32 * MIB
APPENDABLE_CHUNK_RAM: Final = 32 * MIB
#: Segments when the config does not say (default_segment_number 0 or unset): Qdrant picks by CPUs.
DEFAULT_SEGMENTS: Final = 2
LINK_BYTES: Final = 4
OFFSET_BYTES: Final = 8


@dataclass(frozen=True)
class Part:
    """Bytes of one part in RAM and on disk."""

    ram: int = 0
    disk: int = 0

    def __add__(self, other: Part) -> Part:
        return Part(self.ram + other.ram, self.disk + other.disk)


@dataclass(frozen=True)
class MemoryEstimate:
    """The estimate for `points` points, by part."""

    points: int
    original_vectors: Part = field(default_factory=Part)
    quantized_vectors: Part = field(default_factory=Part)
    hnsw: Part = field(default_factory=Part)
    sparse: Part = field(default_factory=Part)
    payload: Part = field(default_factory=Part)
    payload_indexes: Part = field(default_factory=Part)
    overhead: Part = field(default_factory=Part)
    fixed: Part = field(default_factory=Part)

    @property
    def total(self) -> Part:
        """All parts together."""
        parts = [getattr(self, f.name) for f in fields(self) if f.name != "points"]
        return sum(parts, Part())

    def to_status(self) -> dict[str, int]:
        """status.memory.current/expected (camelCase keys, bytes)."""
        return {
            "points": self.points,
            "ramBytes": self.total.ram,
            "diskBytes": self.total.disk,
            "originalVectorsBytes": self.original_vectors.ram or self.original_vectors.disk,
            "quantizedVectorsBytes": self.quantized_vectors.ram or self.quantized_vectors.disk,
            "hnswBytes": self.hnsw.ram or self.hnsw.disk,
            "sparseBytes": self.sparse.disk,
            "payloadBytes": self.payload.disk,
            "payloadIndexBytes": self.payload_indexes.ram or self.payload_indexes.disk,
        }


def estimate_memory(
    config: CollectionConfig,
    points: int,
    payload_bytes: int = 0,
    sparse_nnz: int = DEFAULT_SPARSE_NNZ,
    segments: int | None = None,
) -> MemoryEstimate:
    """RAM and disk of `points` points stored as `config` says (see the module docstring)."""
    n = max(points, 0)
    original, quantized, hnsw = Part(), Part(), Part()
    for vector in (config.vectors or {}).values():
        vo, vq, vh = _dense(config, vector, n)
        original, quantized, hnsw = original + vo, quantized + vq, hnsw + vh
    sparse = Part()
    for sv in (config.sparse_vectors or {}).values():
        stored = n * sparse_nnz * 8
        index_on_disk = bool(sv.index and sv.index.on_disk)
        sparse = sparse + Part(0 if index_on_disk else stored, 2 * stored)
    payload_total = n * max(payload_bytes, 0)
    payload = Part(0 if config.on_disk_payload in (None, True) else payload_total, payload_total)
    indexes = Part()
    for index in config.payload_indexes or ():
        size = n * INDEX_BYTES[index.type]
        indexes = indexes + Part(0 if index.on_disk else size, size)
    overhead = Part(n * POINT_OVERHEAD, n * POINT_OVERHEAD)
    fixed = Part(fixed_ram(config, segments) if n else 0, 0)
    return MemoryEstimate(n, original, quantized, hnsw, sparse, payload, indexes, overhead, fixed)


def fixed_ram(config: CollectionConfig, segments: int | None = None) -> int:
    """RAM a shard with points holds whatever its size: engine, payload pages, appendable chunk."""
    configured = config.optimizers.default_segment_number if config.optimizers else None
    count = segments or configured or DEFAULT_SEGMENTS
    return SHARD_BASE_RAM + count * SEGMENT_PAGE_RAM + APPENDABLE_CHUNK_RAM


def _dense(config: CollectionConfig, vector: VectorSpec, n: int) -> tuple[Part, Part, Part]:
    raw = n * vector.size * DATATYPE_BYTES[vector.datatype or "float32"]
    in_ram = not vector.on_disk
    original = Part(raw if in_ram else 0, raw)
    quantization = vector.quantization or config.quantization
    q_bytes, always_ram = quantized_bytes(quantization, vector.size)
    q_total = int(n * q_bytes)
    quantized = Part(q_total if (always_ram or in_ram) else 0, q_total)
    return original, quantized, _hnsw(config, vector, n, raw)


def quantized_bytes(quantization: QuantizationSpec | None, size: int) -> tuple[float, bool]:
    """Bytes per vector of the quantized copy, and whether it is pinned in RAM."""
    if quantization is None or quantization.disabled:
        return 0.0, False
    if quantization.scalar is not None:
        return float(size + 4), bool(quantization.scalar.always_ram)
    if quantization.binary is not None:
        bits = BINARY_BITS[quantization.binary.encoding or "one_bit"]
        return float(math.ceil(size * bits / 8)), bool(quantization.binary.always_ram)
    assert quantization.product is not None
    return size * 4 / PQ_RATIO[quantization.product.compression], bool(quantization.product.always_ram)


def hnsw_link_bytes(n: int, m: int) -> int:
    """Bytes of an HNSW graph of n nodes: 2m links at level 0, m per upper level, offsets per level."""
    if n <= 0 or m <= 0:
        return 0
    upper_nodes = n / (m - 1) if m > 1 else float(n)
    links = n * 2 * m + upper_nodes * m
    return int(links * LINK_BYTES + (n + upper_nodes) * OFFSET_BYTES)


def _hnsw(config: CollectionConfig, vector: VectorSpec, n: int, raw: int) -> Part:
    threshold_kb = config.optimizers.indexing_threshold if config.optimizers else None
    threshold_kb = DEFAULT_INDEXING_THRESHOLD_KB if threshold_kb is None else threshold_kb
    if threshold_kb == 0 or raw < threshold_kb * 1024:
        return Part()  # below the threshold (or indexing off): plain segments, no graph
    hnsw = _merged_hnsw(config.hnsw, vector.hnsw)
    m = DEFAULT_M if hnsw.m is None else hnsw.m
    size = hnsw_link_bytes(n, m)
    if m == 0 and hnsw.payload_m:
        size = hnsw_link_bytes(n, hnsw.payload_m)
    return Part(0 if hnsw.on_disk else size, size)


def _merged_hnsw(collection: HnswSpec | None, vector: HnswSpec | None) -> HnswSpec:
    base = collection.model_dump(exclude_none=True) if collection else {}
    base.update(vector.model_dump(exclude_none=True) if vector else {})
    return HnswSpec.model_validate(base)


def format_bytes(size: float) -> str:
    """1.9 GiB, 512.0 MiB, 12.0 KiB, 40 B."""
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{int(size)} B"


#: A change is recommended only when it saves at least this share of RAM.
MIN_SAVING: Final = 0.2


def recommend(config: CollectionConfig, points: int, payload_bytes: int = 0) -> str:
    """One sentence: the change that cuts RAM most (at least 20 %), with before/after figures."""
    before = estimate_memory(config, points, payload_bytes).total.ram
    if before == 0 or not config.vectors:
        return "nothing to recommend: no dense vectors in RAM"
    best: tuple[int, str] | None = None
    for label, candidate in _candidates(config):
        after = estimate_memory(candidate, points, payload_bytes).total.ram
        if after <= before * (1 - MIN_SAVING) and (best is None or after < best[0]):
            best = (after, label)
    if best is None:
        return f"RAM {format_bytes(before)}: no single change would cut it by {MIN_SAVING:.0%} or more"
    return f"{best[1]} would cut RAM from {format_bytes(before)} to {format_bytes(best[0])}"


def _candidates(config: CollectionConfig) -> list[tuple[str, CollectionConfig]]:
    vectors = config.vectors or {}
    unquantized = [n for n, v in vectors.items() if (v.quantization or config.quantization) is None]
    in_ram = [n for n, v in vectors.items() if not v.on_disk]
    out: list[tuple[str, CollectionConfig]] = []
    if unquantized:
        int8 = QuantizationSpec.model_validate({"scalar": {"type": "int8", "alwaysRam": True}})
        out.append(("quantization int8", _with_vectors(config, unquantized, quantization=int8)))
        out.append(
            (
                "quantization int8 with original vectors on disk",
                _with_vectors(config, unquantized, quantization=int8, on_disk=True),
            )
        )
    if in_ram and not unquantized:
        out.append(("original vectors on disk (onDisk: true)", _with_vectors(config, in_ram, on_disk=True)))
    wide = [
        n for n, v in vectors.items() if v.size >= 1024 and (v.quantization or config.quantization) is None
    ]
    if wide:
        binary = QuantizationSpec.model_validate({"binary": {"alwaysRam": True}})
        out.append(
            (
                "binary quantization (>= 1024 dims) with original vectors on disk",
                _with_vectors(config, wide, quantization=binary, on_disk=True),
            )
        )
    return out


def _with_vectors(
    config: CollectionConfig,
    names: list[str],
    quantization: QuantizationSpec | None = None,
    on_disk: bool | None = None,
) -> CollectionConfig:
    vectors = dict(config.vectors or {})
    for name in names:
        update: dict[str, object] = {}
        if quantization is not None:
            update["quantization"] = quantization
        if on_disk is not None:
            update["on_disk"] = on_disk
        vectors[name] = vectors[name].model_copy(update=update)
    return config.model_copy(update={"vectors": vectors})
