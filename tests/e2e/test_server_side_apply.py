"""Flux-style server-side apply beside the operator: field managers share an object without fighting.

Flux's kustomize-controller applies manifests with server-side apply under its own field manager;
qco writes status (and its finalizer) as another manager. Driven by the real kubectl.
"""

from __future__ import annotations

import json
from typing import Any

import yaml

from tests.e2e.conftest import Sandbox, collection_manifest

FLUX = "kustomize-controller"


def _manifest(name: str, m: int) -> str:
    spec = {"vectors": {"": {"size": 8, "distance": "Cosine"}}, "hnsw": {"m": m}}
    labels = {"kustomize.toolkit.fluxcd.io/name": "apps"}
    return yaml.safe_dump(collection_manifest(name, spec, labels=labels))


def _ssa(sandbox: Sandbox, manifest: str, manager: str, *extra: str, check: bool = True) -> Any:
    return sandbox.kubectl(
        "apply", "--server-side", "--field-manager", manager, *extra, "-f", "-", input=manifest, check=check
    )


def _managed(sandbox: Sandbox, name: str) -> list[dict[str, Any]]:
    out = sandbox.kubectl("get", "qc", name, "-o", "json", "--show-managed-fields").stdout
    entries: list[dict[str, Any]] = json.loads(out)["metadata"]["managedFields"]
    return entries


def _owner_of_hnsw_m(sandbox: Sandbox, name: str) -> list[str]:
    return [
        e["manager"]
        for e in _managed(sandbox, name)
        if "f:m" in e["fieldsV1"].get("f:spec", {}).get("f:hnsw", {})
    ]


def test_flux_reapplies_beside_the_operators_status_writes(sandbox: Sandbox, unique: str) -> None:
    name = f"ssa-flux-{unique}"
    assert "serverside-applied" in _ssa(sandbox, _manifest(name, 16), FLUX).stdout
    ready = sandbox.wait_ready(name)
    generation = ready["metadata"]["generation"]

    entries = _managed(sandbox, name)
    flux = next(e for e in entries if e["manager"] == FLUX)
    assert flux["operation"] == "Apply"
    assert "f:status" not in flux["fieldsV1"]
    assert flux["fieldsV1"]["f:spec"] == {
        "f:hnsw": {"f:m": {}},
        "f:vectors": {"f:": {"f:distance": {}, "f:size": {}}},
    }
    status_writers = [e for e in entries if e.get("subresource") == "status"]
    assert status_writers, entries
    assert all(e["operation"] == "Update" and set(e["fieldsV1"]) == {"f:status"} for e in status_writers)

    # Flux re-applies the same manifest after the operator wrote status: no conflict, nothing changes.
    again = _ssa(sandbox, _manifest(name, 16), FLUX)
    assert again.returncode == 0
    assert sandbox.get(name)["metadata"]["generation"] == generation

    # A change in Git reaches Qdrant through the same field manager.
    _ssa(sandbox, _manifest(name, 32), FLUX)
    sandbox.wait_ready(name)
    assert sandbox.qdrant().get_collection(name).config.hnsw_config.m == 32
    assert _owner_of_hnsw_m(sandbox, name) == [FLUX]


def test_two_managers_claiming_one_spec_field_conflict_until_forced(sandbox: Sandbox, unique: str) -> None:
    name = f"ssa-clash-{unique}"
    _ssa(sandbox, _manifest(name, 16), FLUX)
    sandbox.wait_ready(name)

    refused = _ssa(sandbox, _manifest(name, 20), "platform-team", check=False)
    assert refused.returncode == 1
    assert f'error: Apply failed with 1 conflict: conflict with "{FLUX}": .spec.hnsw.m' in refused.stderr
    assert "--force-conflicts" in refused.stderr  # kubectl's advice, shown for a 409 Conflict
    assert sandbox.get(name)["spec"]["hnsw"]["m"] == 16

    _ssa(sandbox, _manifest(name, 20), "platform-team", "--force-conflicts")
    assert _owner_of_hnsw_m(sandbox, name) == ["platform-team"]
    sandbox.wait_ready(name)
    assert sandbox.qdrant().get_collection(name).config.hnsw_config.m == 20

    # Flux now finds the field taken: its next apply without force is refused in turn.
    back = _ssa(sandbox, _manifest(name, 16), FLUX, check=False)
    assert back.returncode == 1
    assert 'conflict with "platform-team": .spec.hnsw.m' in back.stderr
