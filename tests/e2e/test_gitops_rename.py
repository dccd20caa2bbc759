"""A GitOps-style rename (apply the new object, then prune the old one with `deletionPolicy: Delete`)
hands the collection over to the new object instead of deleting it: every point survives."""

from __future__ import annotations

from qdrant_client.http import models

from tests.e2e.conftest import Sandbox, collection_manifest, message_of, reason_of

VECTOR = {"": {"size": 4, "distance": "Cosine"}}
POINTS = 100


def test_rename_hands_the_collection_over_and_keeps_every_point(sandbox: Sandbox, unique: str) -> None:
    collection, old, new = f"renamed-{unique}", f"old-{unique}", f"new-{unique}"
    spec = {"collectionName": collection, "vectors": VECTOR, "deletionPolicy": "Delete"}
    sandbox.apply(collection_manifest(old, spec))
    sandbox.wait_ready(old)
    client = sandbox.qdrant()
    client.upsert(
        collection,
        [models.PointStruct(id=i, vector=[1.0, i, 2.0, 1.0], payload={"i": i}) for i in range(POINTS)],
        wait=True,
    )
    assert client.count(collection, exact=True).count == POINTS

    # The new name arrives first; the old object still owns the collection.
    sandbox.apply(collection_manifest(new, spec))
    obj = sandbox.wait_for(new, lambda o: reason_of(o, "Stalled") == "ResourceConflict")
    assert f"default/{old}" in message_of(obj, "Stalled")
    old_uid = sandbox.get(old)["metadata"]["uid"]
    new_uid = obj["metadata"]["uid"]
    owner = (client.get_collection(collection).config.metadata or {})["qco.dev/owner"]
    assert owner == f"default/{old}/{old_uid}"

    # The old name is pruned.
    sandbox.kubectl("delete", "qc", old, "--wait=true", "--timeout=60s")
    sandbox.wait_ready(new)
    assert client.count(collection, exact=True).count == POINTS
    owner = (client.get_collection(collection).config.metadata or {})["qco.dev/owner"]
    assert owner == f"default/{new}/{new_uid}"

    old_events = {e["reason"]: e for e in sandbox.events(old)}
    assert "Deleted" not in old_events
    handed = old_events["HandedOver"]
    assert handed["type"] == "Normal"
    assert handed["involvedObject"]["uid"] == old_uid
    assert collection in handed["message"] and f"default/{new}" in handed["message"]
    took = [e for e in sandbox.events(new) if e["reason"] == "TookOver"]
    assert len(took) == 1
    assert took[0]["involvedObject"]["uid"] == new_uid
    assert collection in took[0]["message"] and f"default/{old}" in took[0]["message"]

    # The new owner manages it from now on, and its own deletion policy applies.
    sandbox.kubectl("delete", "qc", new, "--wait=true", "--timeout=60s")
    assert not client.collection_exists(collection)
