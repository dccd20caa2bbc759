"""Libraries whose internals the sandbox leans on are pinned; an upgrade must fail here, loudly,
before it fails somewhere obscure. Re-check the seams named below, then move the pin."""

from __future__ import annotations

import importlib.metadata
import inspect

import kmock
import pytest
import qdrant_edge

from qco.sandbox.kube.server import KubeEmulator

PINS = {
    # KubeEmulator subclasses KubernetesEmulator and serves through kmock.Server (see below).
    "kmock": "0.8",
    # The Qdrant stand-in reads the engine's own files (edge_config.json, segments/*/segment.json,
    # payload_index/config.json; see tests/sandbox_qdrant/test_ops.py) and its snapshot layout.
    "qdrant-edge-py": "0.9.0",
    # The emulator's CEL rules (x-kubernetes-validations) run on it.
    "cel-python": "0.5.0",
}


@pytest.mark.parametrize(("distribution", "version"), PINS.items())
def test_pinned_versions(distribution: str, version: str) -> None:
    installed = importlib.metadata.version(distribution)
    assert installed == version, f"{distribution} {installed} is not the pinned {version}: re-check its seams"


def test_kmock_seams() -> None:
    assert issubclass(KubeEmulator, kmock.KubernetesEmulator)
    parameters = inspect.signature(kmock.Server).parameters
    assert {"host", "port", "user_agent"} <= set(parameters)


def test_qdrant_edge_seams() -> None:
    shard = qdrant_edge.EdgeShard
    for method in ("load", "create", "optimize", "snapshot_manifest", "unpack_snapshot", "update", "close"):
        assert callable(getattr(shard, method, None)), f"EdgeShard.{method} is gone"
