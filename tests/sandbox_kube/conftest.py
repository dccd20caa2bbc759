"""Shared fixtures of the emulator's tests: a fresh emulator with the test CRD (widgets) applied."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.plugins.kube_emulator import KubeEmulatorHandle

MANIFESTS = Path(__file__).parent / "manifests"


@pytest.fixture
def kube(kube_emulator: KubeEmulatorHandle) -> KubeEmulatorHandle:
    """The emulator with `widgets.test.qco.dev` registered via a plain `kubectl apply -f`."""
    kube_emulator.apply_crds([MANIFESTS / "crd.yaml"])
    return kube_emulator
