"""`qco plan -f DIR` against `qco sandbox`: a directory of manifests (recursive with -R), values
shown old -> new, `-o json`, Terraform's exit codes (0 none, 2 changes, 1 error), and a preview of
a collection that a cluster object already owns (by its owner stamp, or its uid via --kubeconfig)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from tests.e2e.conftest import ROOT, Sandbox, collection_manifest

V4 = {"size": 4, "distance": "Cosine"}


def plan(sandbox: Sandbox, *args: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "qco", "plan", "--qdrant-url", sandbox.qdrant_url, *args]
    return subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=120)


def writes(sandbox: Sandbox) -> dict[str, int]:
    return {k: v for k, v in sandbox.admin.requests().items() if not k.startswith("GET ")}


def write(path: Path, *docs: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump_all(docs))


def test_plan_directory_of_manifests(sandbox: Sandbox, unique: str, tmp_path: Path) -> None:
    owned, fresh = f"owned-{unique}", f"fresh-{unique}"
    owned_spec = {"vectors": {"": V4}, "hnsw": {"m": 16}}
    sandbox.apply(collection_manifest(owned, owned_spec))
    uid = sandbox.wait_ready(owned)["metadata"]["uid"]
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default"}}

    # The very manifest the cluster runs: the object owns its collection, so nothing to do (not a
    # conflict with itself); the Namespace next to it is skipped.
    manifests = tmp_path / "manifests"
    write(manifests / "owned.yaml", namespace, collection_manifest(owned, owned_spec))
    write(manifests / "nested" / "fresh.yml", collection_manifest(fresh, {"vectors": {"": V4}}))
    (manifests / "README.md").write_text("not a manifest")
    sandbox.admin.reset_requests()
    same = plan(sandbox, "-f", str(manifests))
    assert (same.returncode, same.stderr) == (0, "")
    assert same.stdout.splitlines() == [
        f"QdrantCollection default/{owned} -> collection {owned}:",
        "  no changes: Qdrant matches the spec",
    ]

    # A changed field, and -R reaches the nested directory: exit 2, values old -> new.
    write(manifests / "owned.yaml", collection_manifest(owned, {"vectors": {"": V4}, "hnsw": {"m": 32}}))
    changed = plan(sandbox, "-f", str(manifests), "-R")
    assert changed.returncode == 2, changed.stdout + changed.stderr
    # (files in path order, like kubectl: nested/fresh.yml before owned.yaml)
    assert changed.stdout.splitlines() == [
        f"QdrantCollection default/{fresh} -> collection {fresh}:",
        f"  would: create collection {fresh}",
        f"QdrantCollection default/{owned} -> collection {owned}:",
        f"  would: update collection {owned}",
        "      hnsw.m: 16 -> 32",
    ]

    as_json = plan(sandbox, "-f", str(manifests), "-R", "-o", "json")
    assert as_json.returncode == 2
    doc = json.loads(as_json.stdout)
    assert (doc["changes"], doc["errors"], doc["applied"]) == (True, 0, False)
    second, first = doc["objects"]
    assert (first["namespace"], first["name"], first["source"]) == (
        "default",
        owned,
        str(manifests / "owned.yaml"),
    )
    assert first["owner"] == f"default/{owned}/{uid}"
    assert first["blockers"] == []
    assert [(a["type"], a["changes"]) for a in first["actions"]] == [
        ("UpdateCollection", [{"field": "hnsw.m", "old": 16, "new": 32}])
    ]
    assert (second["name"], second["exists"], second["owner"]) == (fresh, False, None)
    assert second["actions"][0]["type"] == "CreateCollection"

    # --kubeconfig: the uid comes from the cluster (same answer), still nothing written.
    via_cluster = plan(sandbox, "-f", str(manifests / "owned.yaml"), "--kubeconfig", str(sandbox.kubeconfig))
    assert via_cluster.returncode == 2, via_cluster.stdout + via_cluster.stderr
    assert "      hnsw.m: 16 -> 32" in via_cluster.stdout.splitlines()
    assert writes(sandbox) == {}

    # Another namespace's object with the same name does not own it: a conflict, exit 1.
    other = dict(collection_manifest(owned, owned_spec), metadata={"name": owned})
    write(tmp_path / "other.yaml", other)
    elsewhere = plan(sandbox, "-f", str(tmp_path / "other.yaml"), "-n", "other", "-o", "json")
    assert elsewhere.returncode == 1
    blockers = json.loads(elsewhere.stdout)["objects"][0]["blockers"]
    assert [b["reason"] for b in blockers] == ["ResourceConflict"]

    # An invalid manifest anywhere in the directory: exit 1, named in the JSON, others still planned.
    bad = collection_manifest(f"bad-{unique}", {"vectors": {"": {"size": -1, "distance": "Cosine"}}})
    write(manifests / "nested" / "bad.json", bad)
    broken = plan(sandbox, "-f", str(manifests), "-R", "-o", "json")
    assert broken.returncode == 1
    doc = json.loads(broken.stdout)
    assert doc["errors"] == 1 and doc["changes"] is True
    errors = {o["name"]: o["error"]["reason"] for o in doc["objects"] if "error" in o}
    assert errors == {f"bad-{unique}": "InvalidSpec"}

    # Nothing to read is an error too.
    empty = plan(sandbox, "-f", str(tmp_path / "missing.yaml"))
    assert empty.returncode == 1
    assert "cannot read" in empty.stderr
    assert writes(sandbox) == {}
