# ruff: noqa: E501 - strategy tables read better one field group per line
"""Hypothesis strategies: valid QdrantCollection specs as YAML-shaped dicts (camelCase)."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

NAMES = st.sampled_from(["a", "b", "text", "img-1"])


def optional(**fields: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    """A dict with any subset of `fields`."""
    return st.fixed_dictionaries({}, optional=fields)


HNSW = optional(
    m=st.integers(0, 64), efConstruct=st.integers(4, 512), fullScanThreshold=st.integers(10, 100000),
    maxIndexingThreads=st.integers(0, 16), onDisk=st.booleans(), payloadM=st.integers(0, 64),
)  # fmt: skip
QUANT = st.one_of(
    st.builds(lambda d: {"scalar": d}, optional(quantile=st.floats(0.5, 1.0), alwaysRam=st.booleans())),
    st.builds(lambda c, d: {"product": {"compression": c, **d}},
              st.sampled_from(["x4", "x8", "x16", "x32", "x64"]), optional(alwaysRam=st.booleans())),
    st.builds(lambda d: {"binary": d},
              optional(alwaysRam=st.booleans(), encoding=st.sampled_from(["one_bit", "two_bits"]))),
    st.just({"disabled": True}),
)  # fmt: skip
VECTOR = st.builds(
    lambda size, distance, rest: {"size": size, "distance": distance, **rest},
    st.integers(1, 4096),
    st.sampled_from(["Cosine", "Euclid", "Dot", "Manhattan"]),
    optional(onDisk=st.booleans(), datatype=st.sampled_from(["float32", "float16", "uint8"]),
             multivector=st.just({"comparator": "max_sim"}), hnsw=HNSW, quantization=QUANT),
)  # fmt: skip
SPARSE = optional(
    modifier=st.sampled_from(["none", "idf"]),
    index=optional(fullScanThreshold=st.integers(0, 10000), onDisk=st.booleans(),
                   datatype=st.sampled_from(["float32", "float16", "uint8"])),
)  # fmt: skip
OPTIMIZERS = optional(
    deletedThreshold=st.floats(0, 1), vacuumMinVectorNumber=st.integers(100, 10000),
    defaultSegmentNumber=st.integers(0, 8), maxSegmentSize=st.integers(1, 10**6),
    memmapThreshold=st.integers(0, 10**6), indexingThreshold=st.integers(0, 10**6),
    flushIntervalSec=st.integers(0, 60), maxOptimizationThreads=st.integers(0, 8),
)  # fmt: skip
INDEX = st.one_of(
    st.builds(lambda d: {"type": "text", **d}, optional(
        tokenizer=st.sampled_from(["prefix", "whitespace", "word", "multilingual"]),
        minTokenLen=st.integers(0, 5), maxTokenLen=st.integers(5, 20), lowercase=st.booleans(), onDisk=st.booleans())),
    st.builds(lambda d: {"type": "integer", **d}, optional(lookup=st.booleans(), range=st.booleans(),
                                                           isPrincipal=st.booleans())),
    st.builds(lambda t, d: {"type": t, **d}, st.sampled_from(["keyword", "uuid"]), optional(isTenant=st.booleans())),
    st.builds(lambda t, d: {"type": t, **d}, st.sampled_from(["float", "datetime"]),
              optional(isPrincipal=st.booleans())),
    st.builds(lambda t, d: {"type": t, **d}, st.sampled_from(["geo", "bool"]), optional(onDisk=st.booleans())),
)  # fmt: skip


@st.composite
def specs(draw: st.DrawFn) -> dict[str, Any]:
    """A valid spec dict."""
    if draw(st.booleans()):
        vectors = {"": draw(VECTOR)}
    else:
        vectors = draw(st.dictionaries(NAMES, VECTOR, min_size=1, max_size=3))
    sparse = draw(st.dictionaries(st.sampled_from(["s1", "s2"]), SPARSE, max_size=2))
    fields = draw(st.dictionaries(st.sampled_from(["f1", "f2", "nested.f3"]), INDEX, max_size=3))
    out: dict[str, Any] = {"collectionName": "col", "vectors": vectors}
    out |= draw(optional(
        shardNumber=st.integers(1, 4), shardingMethod=st.sampled_from(["auto", "custom"]),
        replicationFactor=st.integers(1, 3), writeConsistencyFactor=st.integers(1, 3), onDiskPayload=st.booleans(),
        hnsw=HNSW, quantization=QUANT, optimizers=OPTIMIZERS,
        wal=optional(walCapacityMb=st.integers(1, 128), walSegmentsAhead=st.integers(0, 4)),
        metadata=st.dictionaries(st.sampled_from(["team", "model"]), st.text(max_size=5) | st.integers(), max_size=2),
        aliases=st.lists(st.sampled_from(["prod", "staging"]), unique=True, max_size=2),
        deletionPolicy=st.sampled_from(["Retain", "Delete"]),
        adoptionPolicy=st.sampled_from(["IfCompatible", "Never", "Force"]),
        driftInterval=st.sampled_from(["60s", "5m", "1h30m", "5500ms"]),
    ))  # fmt: skip
    if sparse:
        out["sparseVectors"] = sparse
    if fields:
        out["payloadIndexes"] = [{"field": f, **p} for f, p in sorted(fields.items())]
    return out
