"""Deletion: Retain, Delete, orphan, Qdrant unreachable, namespace deletion."""

from __future__ import annotations

from qdrant_client.http import models

from tests.e2e.conftest import Sandbox, collection_manifest

VECTOR = {"": {"size": 4, "distance": "Dot"}}


def test_retain_keeps_the_collection_without_the_stamp(sandbox: Sandbox, unique: str) -> None:
    name = f"retain-{unique}"
    sandbox.apply(collection_manifest(name, {"vectors": VECTOR}))
    obj = sandbox.wait_ready(name)
    assert "qco.dev/finalizer" in obj["metadata"]["finalizers"]
    sandbox.qdrant().upsert(name, [models.PointStruct(id=1, vector=[1.0, 0, 0, 0])])
    sandbox.kubectl("delete", "qc", name, "--timeout=60s")
    info = sandbox.qdrant().get_collection(name)
    assert not any(key.startswith("qco.dev/") for key in (info.config.metadata or {}))
    assert sandbox.qdrant().count(name).count == 1


def test_delete_policy_deletes_an_owned_collection(sandbox: Sandbox, unique: str) -> None:
    name = f"delete-{unique}"
    sandbox.apply(
        collection_manifest(
            name, {"vectors": VECTOR, "deletionPolicy": "Delete", "aliases": [f"al-{unique}"]}
        )
    )
    sandbox.wait_ready(name)
    sandbox.kubectl("delete", "qc", name, "--timeout=60s")
    assert not sandbox.qdrant().collection_exists(name)
    assert f"al-{unique}" not in {a.alias_name for a in sandbox.qdrant().get_aliases().aliases}


def test_delete_policy_leaves_a_collection_owned_by_another_resource(sandbox: Sandbox, unique: str) -> None:
    collection = f"kept-{unique}"
    sandbox.apply(collection_manifest(f"owner-{unique}", {"collectionName": collection, "vectors": VECTOR}))
    sandbox.wait_ready(f"owner-{unique}")
    loser = f"loser-{unique}"
    sandbox.apply(
        collection_manifest(
            loser, {"collectionName": collection, "vectors": VECTOR, "deletionPolicy": "Delete"}
        )
    )
    sandbox.wait_for(
        loser,
        lambda o: any(c["reason"] == "ResourceConflict" for c in o.get("status", {}).get("conditions", [])),
    )
    sandbox.kubectl("delete", "qc", loser, "--timeout=60s")
    assert sandbox.qdrant().collection_exists(collection)


def test_unreachable_qdrant_blocks_deletion_until_orphaned(sandbox: Sandbox, unique: str) -> None:
    name = f"orphan-{unique}"
    sandbox.apply(collection_manifest(name, {"vectors": VECTOR, "deletionPolicy": "Delete"}))
    sandbox.wait_ready(name)
    sandbox.admin.add_fault(f"/collections/{name}", "error", status=503)
    try:
        sandbox.kubectl("delete", "qc", name, "--wait=false")
        obj = sandbox.wait_for(
            name,
            lambda o: any(
                c["reason"] == "DeletionBlocked" for c in o.get("status", {}).get("conditions", [])
            ),
        )
        assert "qco.dev/orphan" in next(
            c["message"] for c in obj["status"]["conditions"] if c["type"] == "Ready"
        )
        assert obj["metadata"]["deletionTimestamp"]
        sandbox.kubectl("annotate", "qc", name, "qco.dev/orphan=true")
        sandbox.kubectl("wait", "--for=delete", f"qc/{name}", "--timeout=60s")
    finally:
        sandbox.admin.clear_faults()
    assert sandbox.qdrant().collection_exists(name)  # orphaned: Qdrant untouched


def test_namespace_deletion_never_hangs_on_qco(sandbox: Sandbox, unique: str) -> None:
    namespace = f"ns-{unique}"
    sandbox.kubectl("create", "namespace", namespace)
    name = f"gone-{unique}"
    sandbox.apply(
        collection_manifest(name, {"vectors": VECTOR, "deletionPolicy": "Delete"}, namespace=namespace)
    )
    sandbox.wait_ready(name, namespace=namespace)
    sandbox.admin.add_fault(f"/collections/{name}", "drop")
    try:
        # The sandbox runs with QCO_NAMESPACE_DELETION_GRACE_SECONDS=5; kubectl fails if the
        # namespace is still there when its wait ends.
        sandbox.kubectl("delete", "namespace", namespace, "--timeout=90s")
    finally:
        sandbox.admin.clear_faults()
    # The Warning event went away with the namespace; the log and Qdrant tell what happened.
    assert "namespace is being deleted and Qdrant stays unreachable; releasing" in sandbox.operator_log()
    assert sandbox.qdrant().collection_exists(name)
