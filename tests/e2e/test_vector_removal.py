"""No data loss on a typo: `vectors: {}` is refused by the API server, a renamed vector key is Stalled
(VectorRemovalRefused) with Qdrant untouched, and the removal happens once the spec consents
(`vectorRemovalPolicy: Allow`)."""

from __future__ import annotations

from typing import Any

import yaml
from qdrant_client.http import models

from tests.e2e.conftest import Sandbox, collection_manifest, message_of, reason_of, status_of

POINTS = 12
DENSE = {"size": 4, "distance": "Cosine"}
SPARSE: dict[str, Any] = {}


def _dense_names(sandbox: Sandbox, collection: str) -> set[str]:
    vectors = sandbox.qdrant().get_collection(collection).config.params.vectors
    assert isinstance(vectors, dict), vectors
    return set(vectors)


def _sparse_names(sandbox: Sandbox, collection: str) -> set[str]:
    return set(sandbox.qdrant().get_collection(collection).config.params.sparse_vectors or {})


def _vector_names_per_point(sandbox: Sandbox, collection: str) -> list[set[str]]:
    points, _ = sandbox.qdrant().scroll(collection, limit=1000, with_vectors=True)
    assert len(points) == POINTS
    return [set(p.vector) if isinstance(p.vector, dict) else set() for p in points]


def _generation(sandbox: Sandbox, name: str) -> int:
    return int(sandbox.get(name)["metadata"]["generation"])


def test_renamed_dense_vector_is_refused_until_the_spec_allows_it(sandbox: Sandbox, unique: str) -> None:
    name = f"rename-dense-{unique}"
    sandbox.apply(collection_manifest(name, {"vectors": {"a": DENSE, "b": DENSE}}))
    sandbox.wait_ready(name)
    client = sandbox.qdrant()
    client.upsert(
        name,
        [models.PointStruct(id=i, vector={"a": [1.0, i, 0, 1], "b": [0, 1.0, i, 1]}) for i in range(POINTS)],
        wait=True,
    )

    # `vectors: {}` (every vector gone) never reaches the operator: the schema wants at least one.
    before = _generation(sandbox, name)
    refused = sandbox.kubectl(
        "apply", "-f", "-", input=yaml.safe_dump(collection_manifest(name, {"vectors": {}})), check=False
    )
    assert refused.returncode != 0
    assert "spec.vectors" in refused.stderr, refused.stderr
    assert _generation(sandbox, name) == before
    assert sorted(sandbox.get(name)["spec"]["vectors"]) == ["a", "b"]

    # A renamed key (b -> c) would drop b from every point: Stalled, and nothing is touched.
    sandbox.apply(collection_manifest(name, {"vectors": {"a": DENSE, "c": DENSE}}))
    obj = sandbox.wait_for(
        name,
        lambda o: (
            reason_of(o, "Stalled") == "VectorRemovalRefused"
            and o["status"].get("observedGeneration") == o["metadata"]["generation"]
        ),
    )
    assert status_of(obj, "Ready") == "False"
    message = message_of(obj, "Stalled")
    assert "vector(s) b " in message, message
    assert f"from {POINTS} points" in message, message
    assert "vectorRemovalPolicy: Allow" in message
    assert _dense_names(sandbox, name) == {"a", "b"}
    assert _vector_names_per_point(sandbox, name) == [{"a", "b"}] * POINTS
    assert not [e for e in sandbox.events(name) if e["reason"] in ("DeleteVector", "CreateVector")]

    # With consent, the same rename goes through: b is gone, c is added, the points keep a.
    sandbox.apply(
        collection_manifest(name, {"vectors": {"a": DENSE, "c": DENSE}, "vectorRemovalPolicy": "Allow"})
    )
    sandbox.wait_ready(name)
    assert _dense_names(sandbox, name) == {"a", "c"}
    assert _vector_names_per_point(sandbox, name) == [{"a"}] * POINTS
    reasons = [e["reason"] for e in sandbox.events(name)]
    assert reasons.count("DeleteVector") == 1
    assert reasons.count("CreateVector") == 1


def test_renamed_sparse_vector_is_refused_too(sandbox: Sandbox, unique: str) -> None:
    name = f"rename-sparse-{unique}"
    spec = {"vectors": {"dense": DENSE}, "sparseVectors": {"s": SPARSE}}
    sandbox.apply(collection_manifest(name, spec))
    sandbox.wait_ready(name)
    sparse = models.SparseVector(indices=[1, 7], values=[0.5, 0.25])
    sandbox.qdrant().upsert(
        name,
        [models.PointStruct(id=i, vector={"dense": [1.0, 0, i, 1], "s": sparse}) for i in range(POINTS)],
        wait=True,
    )

    sandbox.apply(collection_manifest(name, {**spec, "sparseVectors": {"t": SPARSE}}))
    obj = sandbox.wait_for(name, lambda o: reason_of(o, "Stalled") == "VectorRemovalRefused")
    message = message_of(obj, "Stalled")
    assert "vector(s) s " in message, message
    assert f"from {POINTS} points" in message, message
    assert _sparse_names(sandbox, name) == {"s"}
    assert _vector_names_per_point(sandbox, name) == [{"dense", "s"}] * POINTS

    sandbox.apply(
        collection_manifest(name, {**spec, "sparseVectors": {"t": SPARSE}, "vectorRemovalPolicy": "Allow"})
    )
    sandbox.wait_ready(name)
    assert _sparse_names(sandbox, name) == {"t"}
    assert _vector_names_per_point(sandbox, name) == [{"dense"}] * POINTS
