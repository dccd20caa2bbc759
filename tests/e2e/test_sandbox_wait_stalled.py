"""`qco sandbox --apply PATH --wait` gives up at once when an applied object goes Stalled (a Stalled
object waits for a human, not for time), printing the Stalled condition's reason and message; a
ConfigMap applied alongside is not waited for."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from qco.cli.sandbox import readiness
from tests.e2e.conftest import ROOT


def test_wait_exits_1_at_once_on_stalled(tmp_path: Path) -> None:
    manifest = tmp_path / "stalled.yaml"
    spec = {
        "vectors": {"": {"size": 4, "distance": "Dot"}},
        "connection": {"apiKeySecretRef": {"name": "no-such-secret"}},
    }
    docs = [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "extra"}, "data": {"a": "b"}},
        {"apiVersion": "qco.dev/v1alpha1", "kind": "QdrantCollection", "metadata": {"name": "keyless"},
         "spec": spec},
    ]  # fmt: skip
    manifest.write_text(yaml.safe_dump_all(docs))
    # A 1-hour --timeout: returning within the subprocess timeout means it did not wait it out.
    argv = [sys.executable, "-m", "qco", "sandbox", "--qdrant-port", "0", "--apply", str(manifest)]
    result = subprocess.run(
        [*argv, "--wait", "--timeout", "3600"], cwd=ROOT, capture_output=True, text=True, timeout=240
    )
    assert result.returncode == 1, result.stderr[-3000:]
    assert (
        "qdrantcollection/keyless Stalled (SecretNotFound): Secret default/no-such-secret not found:"
        " create it or fix apiKeySecretRef.name"
    ) in result.stderr.splitlines()
    table = result.stdout.splitlines()
    # kubectl's table for the mixed file: the object, its Ready column and reason
    rows = [line.split()[:3] for line in table if line.split()[:1] == ["qdrantcollection.qco.dev/keyless"]]
    assert rows == [["qdrantcollection.qco.dev/keyless", "False", "SecretNotFound"]], table


def obj(
    name: str, generation: int, observed: int | None, **conditions: tuple[str, str, str]
) -> dict[str, object]:
    status: dict[str, object] = {
        "conditions": [
            {"type": t, "status": s, "reason": r, "message": m} for t, (s, r, m) in conditions.items()
        ]
    }
    if observed is not None:
        status["observedGeneration"] = observed
    return {
        "apiVersion": "qco.dev/v1alpha1",
        "kind": "QdrantCollection",
        "metadata": {"name": name, "generation": generation},
        "status": status,
    }


def test_readiness_lines() -> None:
    ready = obj("a", 2, 2, Ready=("True", "Synced", "ok"))
    old = obj("b", 3, 2, Ready=("True", "Synced", "ok"))
    stalled = obj(
        "c", 1, 1, Ready=("False", "AliasConflict", "x"), Stalled=("True", "AliasConflict", "owned by y")
    )
    other = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "d"}}
    listed = {"apiVersion": "v1", "kind": "List", "items": [ready, old, stalled, other]}
    assert readiness(listed) == [
        "qdrantcollection/b not Ready: Synced: ok",
        "qdrantcollection/c Stalled (AliasConflict): owned by y",
    ]
    assert readiness(ready) == []
