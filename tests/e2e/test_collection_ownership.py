"""Ownership: adoption of existing collections, conflicts between resources, aliases, pausing."""

from __future__ import annotations

from qdrant_client.http import models

from tests.e2e.conftest import Sandbox, collection_manifest, message_of, reason_of, status_of

VECTOR = {"": {"size": 8, "distance": "Cosine"}}


def test_existing_compatible_collection_is_adopted(sandbox: Sandbox, unique: str) -> None:
    name = f"adopt-{unique}"
    client = sandbox.qdrant()
    client.create_collection(
        name, vectors_config=models.VectorParams(size=8, distance=models.Distance.COSINE)
    )
    client.upsert(name, [models.PointStruct(id=1, vector=[0.1] * 8, payload={"k": "v"})])
    sandbox.apply(collection_manifest(name, {"vectors": VECTOR, "hnsw": {"m": 20}}))
    sandbox.wait_ready(name)
    info = client.get_collection(name)
    assert info.config.metadata is not None and info.config.metadata["qco.dev/owner"].startswith(
        f"default/{name}/"
    )
    assert info.config.hnsw_config.m == 20
    assert client.count(name).count == 1  # adopted, not recreated


def test_incompatible_collection_is_not_adopted(sandbox: Sandbox, unique: str) -> None:
    name = f"noadopt-{unique}"
    sandbox.qdrant().create_collection(
        name, vectors_config=models.VectorParams(size=4, distance=models.Distance.DOT)
    )
    sandbox.apply(collection_manifest(name, {"vectors": VECTOR}))
    obj = sandbox.wait_for(name, lambda o: reason_of(o, "Stalled") == "AdoptionRefused")
    message = message_of(obj, "Stalled")
    assert "size" in message and "8" in message and "4" in message
    assert status_of(obj, "Ready") == "False"


def test_adoption_policy_never(sandbox: Sandbox, unique: str) -> None:
    name = f"never-{unique}"
    sandbox.qdrant().create_collection(
        name, vectors_config=models.VectorParams(size=8, distance=models.Distance.COSINE)
    )
    sandbox.apply(collection_manifest(name, {"vectors": VECTOR, "adoptionPolicy": "Never"}))
    obj = sandbox.wait_for(name, lambda o: reason_of(o, "Stalled") == "AdoptionRefused")
    assert "Never" in message_of(obj, "Stalled")
    assert (sandbox.qdrant().get_collection(name).config.metadata or {}).get("qco.dev/owner") is None


def test_second_resource_for_the_same_collection_conflicts(sandbox: Sandbox, unique: str) -> None:
    collection = f"shared-{unique}"
    sandbox.apply(collection_manifest(f"first-{unique}", {"collectionName": collection, "vectors": VECTOR}))
    sandbox.wait_ready(f"first-{unique}")
    sandbox.apply(
        collection_manifest(
            f"second-{unique}", {"collectionName": collection, "vectors": VECTOR, "hnsw": {"m": 4}}
        )
    )
    obj = sandbox.wait_for(f"second-{unique}", lambda o: reason_of(o, "Stalled") == "ResourceConflict")
    assert f"default/first-{unique}" in message_of(obj, "Stalled")
    assert sandbox.qdrant().get_collection(collection).config.hnsw_config.m != 4
    assert status_of(sandbox.get(f"first-{unique}"), "Ready") == "True"


def test_alias_owned_by_another_resource_is_not_stolen(sandbox: Sandbox, unique: str) -> None:
    alias = f"live-{unique}"
    sandbox.apply(collection_manifest(f"holder-{unique}", {"vectors": VECTOR, "aliases": [alias]}))
    sandbox.wait_ready(f"holder-{unique}")
    sandbox.apply(collection_manifest(f"thief-{unique}", {"vectors": VECTOR, "aliases": [alias]}))
    obj = sandbox.wait_for(f"thief-{unique}", lambda o: reason_of(o, "Stalled") == "AliasConflict")
    assert f"holder-{unique}" in message_of(obj, "Stalled")
    aliases = {a.alias_name: a.collection_name for a in sandbox.qdrant().get_aliases().aliases}
    assert aliases[alias] == f"holder-{unique}"


def test_paused_resource_writes_nothing_until_resumed(sandbox: Sandbox, unique: str) -> None:
    name = f"paused-{unique}"
    spec = {"vectors": VECTOR, "hnsw": {"m": 16}}
    sandbox.apply(collection_manifest(name, spec))
    sandbox.wait_ready(name)
    sandbox.kubectl("annotate", "qc", name, "qco.dev/paused=true")
    sandbox.wait_for(name, lambda o: status_of(o, "Paused") == "True")
    spec["hnsw"] = {"m": 48}
    sandbox.apply(collection_manifest(name, spec, annotations={"qco.dev/paused": "true"}))
    # The witness: a pass observed the new generation and reported the change it holds back.
    sandbox.wait_for(
        name,
        lambda o: o["status"].get("observedGeneration") == o["metadata"]["generation"]
        and reason_of(o, "Ready") == "Paused"
        and "hnsw" in message_of(o, "Ready"),
    )
    assert sandbox.qdrant().get_collection(name).config.hnsw_config.m == 16

    sandbox.kubectl("annotate", "qc", name, "qco.dev/paused-")
    sandbox.wait_ready(name)
    assert sandbox.qdrant().get_collection(name).config.hnsw_config.m == 48
    assert status_of(sandbox.get(name), "Paused") is None
