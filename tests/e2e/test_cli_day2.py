"""`qco status`, `qco pause`/`resume`, `qco reconcile` end to end against `qco sandbox`, run as a
user would (the console script with the sandbox's kubeconfig); the Events they cause come from qco."""

from __future__ import annotations

import subprocess
import sys

from qdrant_client.http import models

from tests.e2e.conftest import ROOT, Sandbox, collection_manifest, reason_of
from tests.e2e.waits import wait_until

V4 = {"size": 4, "distance": "Cosine"}


def qco(sandbox: Sandbox, *args: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "qco", *args, "--kubeconfig", str(sandbox.kubeconfig)]
    return subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=120)


def hnsw_m(sandbox: Sandbox, collection: str) -> int | None:
    return sandbox.qdrant().get_collection(collection).config.hnsw_config.m


def test_status_pause_resume_and_reconcile(sandbox: Sandbox, unique: str) -> None:
    name = f"cli-{unique}"
    sandbox.apply(collection_manifest(name, {"vectors": {"": V4}, "hnsw": {"m": 24}}))
    sandbox.wait_ready(name)

    status = qco(sandbox, "status", f"qc/{name}")
    assert status.returncode == 0, status.stderr
    header, row = status.stdout.splitlines()
    assert header.split()[:5] == ["KIND", "NAMESPACE", "NAME", "READY", "REASON"]
    assert row.split()[:5] == ["QdrantCollection", "default", name, "True", "Synced"]
    assert "green (0 pts)" in row
    everywhere = qco(sandbox, "status", "-A")
    assert any(
        line.split()[:3] == ["QdrantCollection", "default", name] for line in everywhere.stdout.splitlines()
    )

    paused = qco(sandbox, "pause", f"qc/{name}")
    assert (paused.returncode, paused.stdout.strip()) == (
        0,
        f"qdrantcollection/{name} paused: qco writes nothing until `qco resume`",
    )
    sandbox.apply(
        collection_manifest(
            name, {"vectors": {"": V4}, "hnsw": {"m": 32}}, annotations={"qco.dev/paused": "true"}
        )
    )
    sandbox.wait_for(name, lambda o: reason_of(o, "Ready") == "Paused")
    assert hnsw_m(sandbox, name) == 24
    assert "Paused" in qco(sandbox, "status", f"qc/{name}").stdout.splitlines()[1].split()

    assert qco(sandbox, "resume", f"qc/{name}").returncode == 0
    sandbox.wait_for(name, lambda o: reason_of(o, "Ready") == "Synced" and hnsw_m(sandbox, name) == 32)

    # Drift behind qco's back, corrected now on request (the drift interval is long).
    sandbox.qdrant().update_collection(name, hnsw_config=models.HnswConfigDiff(m=8))
    assert qco(sandbox, "reconcile", f"qc/{name}").returncode == 0
    wait_until(lambda: hnsw_m(sandbox, name), lambda m: m == 32, what="drift corrected")
    drift = [e for e in sandbox.events(name) if e["reason"] == "DriftCorrected"]
    assert [(e["type"], e["message"], e["source"]["component"]) for e in drift] == [
        ("Normal", f"update collection {name}: hnsw.m: 8 -> 32", "qco")
    ]
    assert (
        f"QdrantCollection default/{name}: update collection {name}: hnsw.m: 8 -> 32"
        in sandbox.operator_log()
    )


def test_unknown_targets_are_errors(sandbox: Sandbox) -> None:
    bad = qco(sandbox, "pause", "widget/x")
    assert bad.returncode == 1
    assert "unknown kind 'widget'" in bad.stderr
    missing = qco(sandbox, "reconcile", "qc/does-not-exist")
    assert missing.returncode == 1 and "404" in missing.stderr
