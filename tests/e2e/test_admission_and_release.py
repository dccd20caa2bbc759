"""Immutable means immutable at admission; an object that never touched Qdrant is released at once;
moving `spec.connection.url` releases qco's stamp on the old Qdrant or names what it left behind."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import yaml
from qdrant_client import QdrantClient

from tests.e2e.conftest import Sandbox, collection_manifest, reason_of, status_of
from tests.plugins.qdrant_server import QdrantServerProcess

VECTOR = {"": {"size": 4, "distance": "Cosine"}}
OWNER = "qco.dev/owner"


def _patch(sandbox: Sandbox, name: str, patch: object, type_: str = "merge") -> Any:
    return sandbox.kubectl("patch", "qc", name, "--type", type_, "-p", json.dumps(patch), check=False)


def test_immutable_fields_cannot_be_added_changed_or_removed(sandbox: Sandbox, unique: str) -> None:
    bare, sharded = f"bare-{unique}", f"sharded-{unique}"
    sandbox.apply(collection_manifest(bare, {"vectors": VECTOR}))
    sandbox.apply(collection_manifest(sharded, {"vectors": VECTOR, "shardNumber": 2}))
    sandbox.wait_ready(bare)
    sandbox.wait_ready(sharded)
    generations = {n: sandbox.get(n)["metadata"]["generation"] for n in (bare, sharded)}

    attempts: list[tuple[str, object, str, str]] = [
        (bare, {"spec": {"shardNumber": 3}}, "merge", "spec.shardNumber"),  # added
        (bare, {"spec": {"wal": {"walCapacityMb": 64}}}, "merge", "spec.wal"),  # added
        (sharded, {"spec": {"shardNumber": 3}}, "merge", "spec.shardNumber"),  # changed
        (sharded, [{"op": "remove", "path": "/spec/shardNumber"}], "json", "spec.shardNumber"),  # removed
        (bare, {"spec": {"vectors": {"": {"size": 8}}}}, "merge", "spec.vectors"),  # vector size
    ]
    for name, patch, type_, path in attempts:
        refused = _patch(sandbox, name, patch, type_)
        assert refused.returncode != 0, f"{patch} was accepted"
        assert path in refused.stderr, refused.stderr
        assert "immutable" in refused.stderr and "CollectionDeployment" in refused.stderr, refused.stderr

    for name, generation in generations.items():
        obj = sandbox.get(name)
        assert obj["metadata"]["generation"] == generation
    assert "shardNumber" not in sandbox.get(bare)["spec"]
    assert sandbox.get(sharded)["spec"]["shardNumber"] == 2
    assert sandbox.qdrant().get_collection(bare).config.params.shard_number == 1


def test_object_that_never_touched_qdrant_is_deleted_promptly(sandbox: Sandbox, unique: str) -> None:
    name = f"nosecret-{unique}"
    connection = {"url": sandbox.qdrant_url, "apiKeySecretRef": {"name": f"absent-{unique}"}}
    sandbox.apply(collection_manifest(name, {"vectors": VECTOR, "connection": connection}))
    sandbox.wait_for(name, lambda o: reason_of(o, "Stalled") == "SecretNotFound")
    assert not sandbox.qdrant().collection_exists(name)

    sandbox.kubectl("delete", "qc", name, "--wait=true", "--timeout=60s")
    gone = sandbox.kubectl("get", "qc", name, check=False)
    assert gone.returncode != 0 and "NotFound" in gone.stderr
    events = sandbox.events(name)
    reasons = [e["reason"] for e in events]
    assert "DeletionBlocked" not in reasons
    released = [e for e in events if e["reason"] == "Released"]
    assert len(released) == 1
    assert "never managed a collection" in released[0]["message"]
    assert not sandbox.qdrant().collection_exists(name)


def test_moving_the_url_releases_the_old_collection(
    sandbox: Sandbox, qdrant_server_factory: Callable[..., QdrantServerProcess], unique: str
) -> None:
    name = f"moving-{unique}"
    target = qdrant_server_factory()
    sandbox.apply(collection_manifest(name, {"vectors": VECTOR, "connection": {"url": sandbox.qdrant_url}}))
    first = sandbox.wait_ready(name)
    uid = first["metadata"]["uid"]
    assert first["status"]["endpoint"] == {"url": sandbox.qdrant_url}
    old = sandbox.qdrant()
    assert (old.get_collection(name).config.metadata or {}).get(OWNER) == f"default/{name}/{uid}"

    assert _patch(sandbox, name, {"spec": {"connection": {"url": target.url}}}).returncode == 0
    moved = sandbox.wait_ready(name)
    assert moved["status"]["endpoint"] == {"url": target.url}
    new = QdrantClient(url=target.url, timeout=30, check_compatibility=False)
    try:
        assert (new.get_collection(name).config.metadata or {}).get(OWNER) == f"default/{name}/{uid}"
    finally:
        new.close()
    # Still there on the old Qdrant (nothing is deleted by a move), without qco's stamp.
    assert old.collection_exists(name)
    assert OWNER not in (old.get_collection(name).config.metadata or {})
    released = [e for e in sandbox.events(name) if e["reason"] == "Released"]
    assert len(released) == 1
    assert released[0]["type"] == "Normal"
    assert name in released[0]["message"] and sandbox.qdrant_url in released[0]["message"]
    assert not [e for e in sandbox.events(name) if e["reason"] == "LeftBehind"]


def test_moving_away_from_an_unreachable_qdrant_names_what_was_left_behind(
    sandbox: Sandbox, qdrant_server_factory: Callable[..., QdrantServerProcess], unique: str
) -> None:
    name = f"stranded-{unique}"
    source, target = qdrant_server_factory(), qdrant_server_factory()
    sandbox.apply(collection_manifest(name, {"vectors": VECTOR, "connection": {"url": source.url}}))
    sandbox.wait_ready(name)
    source.stop()

    assert _patch(sandbox, name, {"spec": {"connection": {"url": target.url}}}).returncode == 0
    moved = sandbox.wait_ready(name)
    assert moved["status"]["endpoint"] == {"url": target.url}
    left = [e for e in sandbox.events(name) if e["reason"] == "LeftBehind"]
    assert len(left) == 1
    assert left[0]["type"] == "Warning"
    assert f"collection {name} on {source.url}" in left[0]["message"]
    assert not [e for e in sandbox.events(name) if e["reason"] == "Released"]
    assert status_of(moved, "Stalled") == "False"


def test_drift_interval_below_five_seconds_is_refused(sandbox: Sandbox, unique: str) -> None:
    name = f"hotloop-{unique}"
    for too_short in ("1ms", "4s"):
        manifest = yaml.safe_dump(collection_manifest(name, {"vectors": VECTOR, "driftInterval": too_short}))
        refused = sandbox.kubectl("apply", "-f", "-", input=manifest, check=False)
        assert refused.returncode != 0, f"driftInterval {too_short} was accepted"
        assert "spec.driftInterval" in refused.stderr and "at least 5s" in refused.stderr, refused.stderr
    assert sandbox.kubectl("get", "qc", name, check=False).returncode != 0

    # Left out, no default is written: the operator's QCO_DRIFT_INTERVAL_SECONDS applies.
    sandbox.apply(collection_manifest(name, {"vectors": VECTOR}))
    assert "driftInterval" not in sandbox.wait_ready(name)["spec"]
    sandbox.apply(collection_manifest(name, {"vectors": VECTOR, "driftInterval": "5s"}))
    assert sandbox.wait_ready(name)["spec"]["driftInterval"] == "5s"
