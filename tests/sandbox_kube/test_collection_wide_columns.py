"""`kubectl get qc` shows the everyday columns; `-o wide` adds Aliases, Drift and Ready's message
(priority-1 printer columns of the generated CRD)."""

from __future__ import annotations

import json

from tests.plugins.kube_emulator import KubeEmulatorHandle

MANIFEST = {
    "apiVersion": "qco.dev/v1alpha1",
    "kind": "QdrantCollection",
    "metadata": {"name": "docs", "namespace": "default"},
    "spec": {
        "vectors": {"": {"size": 4, "distance": "Dot"}},
        "aliases": ["docs-live"],
        "driftInterval": "10m",
    },
}
STATUS = {
    "status": {
        "conditions": [
            {
                "type": "Ready",
                "status": "False",
                "reason": "QdrantUnreachable",
                "message": "cannot-reach-qdrant",
                "lastTransitionTime": "2020-01-01T00:00:00Z",
            }
        ]
    }
}


def test_wide_output_adds_aliases_drift_and_message(kube_emulator: KubeEmulatorHandle) -> None:
    kube_emulator.apply_crds(["crds/"])
    kube_emulator.kubectl("apply", "-f", "-", input=json.dumps(MANIFEST))
    kube_emulator.kubectl(
        "patch", "qc", "docs", "--subresource=status", "--type=merge", "-p", json.dumps(STATUS)
    )
    narrow = kube_emulator.kubectl("get", "qc", "docs").stdout.splitlines()
    assert narrow[0].split() == ["NAME", "READY", "REASON", "COLLECTION", "STATUS", "POINTS", "AGE"]
    wide = kube_emulator.kubectl("get", "qc", "docs", "-o", "wide").stdout.splitlines()
    assert wide[0].split() == [
        "NAME", "READY", "REASON", "COLLECTION", "STATUS", "POINTS", "AGE", "ALIASES", "DRIFT", "MESSAGE",
    ]  # fmt: skip
    row = wide[1].split()
    assert row[:3] == ["docs", "False", "QdrantUnreachable"]
    assert row[-3:] == ['["docs-live"]', "10m", "cannot-reach-qdrant"]
