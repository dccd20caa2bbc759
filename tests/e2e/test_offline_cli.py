"""`qco plan` / `qco apply` without Kubernetes: the same planner and actions as the operator."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml
from qdrant_client import QdrantClient
from qdrant_client.http import models

from tests.e2e.conftest import ROOT
from tests.plugins.qdrant_server import QdrantServerProcess


def qco(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "qco", *args], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def test_plan_writes_nothing_apply_converges_then_plan_is_empty(qdrant_server: QdrantServerProcess) -> None:
    example = str(ROOT / "examples" / "collections" / "semantic-search.yaml")
    qdrant_server.admin.reset_requests()
    planned = qco("plan", "-f", example, "--qdrant-url", qdrant_server.url)
    assert planned.returncode == 2, planned.stderr  # changes: Terraform's detailed exit code
    assert "would: create collection docs_v1" in planned.stdout
    assert "would: create keyword payload index on 'language'" in planned.stdout
    writes = {k: v for k, v in qdrant_server.admin.requests().items() if not k.startswith("GET ")}
    assert writes == {}

    applied = qco("apply", "-f", example, "--qdrant-url", qdrant_server.url)
    assert applied.returncode == 0, applied.stderr
    assert "done: create collection docs_v1" in applied.stdout
    assert "status: green" in applied.stdout
    client = QdrantClient(url=qdrant_server.url, check_compatibility=False)
    info = client.get_collection("docs_v1")
    assert info.config.hnsw_config.ef_construct == 128
    assert set(info.payload_schema) == {"language", "published_at", "body"}
    assert info.config.metadata is not None
    assert info.config.metadata["qco.dev/owner"] == "default/docs-semantic/qco-cli"

    again = qco("plan", "-f", example, "--qdrant-url", qdrant_server.url)
    assert again.returncode == 0
    assert "no changes: Qdrant matches the spec" in again.stdout
    client.close()


def test_plan_reports_blockers_and_invalid_specs(qdrant_server: QdrantServerProcess, tmp_path: Path) -> None:
    client = QdrantClient(url=qdrant_server.url, check_compatibility=False)
    client.create_collection(
        "taken", vectors_config=models.VectorParams(size=3, distance=models.Distance.EUCLID)
    )
    client.close()
    manifests = [
        {"apiVersion": "qco.dev/v1alpha1", "kind": "QdrantCollection", "metadata": {"name": "taken"},
         "spec": {"vectors": {"": {"size": 8, "distance": "Cosine"}}}},
        {"apiVersion": "qco.dev/v1alpha1", "kind": "QdrantCollection", "metadata": {"name": "broken"},
         "spec": {"vectors": {"": {"size": -1, "distance": "Cosine"}}}},
    ]  # fmt: skip
    path = tmp_path / "two.yaml"
    path.write_text(yaml.safe_dump_all(manifests))
    result = qco("plan", "-f", str(path), "--qdrant-url", qdrant_server.url)
    assert result.returncode == 1
    assert "blocked (AdoptionRefused)" in result.stdout
    assert "QdrantCollection default/broken: invalid spec" in result.stdout
    assert "vectors" in result.stdout


def test_unreachable_qdrant_is_a_clear_error(tmp_path: Path) -> None:
    result = qco(
        "plan", "-f", str(ROOT / "examples" / "quickstart.yaml"), "--qdrant-url", "http://127.0.0.1:9"
    )
    assert result.returncode == 1
    assert "QdrantUnreachable" in result.stdout
