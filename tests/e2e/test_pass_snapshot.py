"""One snapshot per pass: a spec edited while a pass runs is never reported as applied.

Five merge patches land in quick succession while Qdrant answers updates slowly (so they arrive
mid-pass); a poller reading the object and Qdrant in a tight loop must never see
`observedGeneration == generation` with Ready=True while Qdrant lacks that generation's settings.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any

import httpx
import yaml

from tests.e2e.conftest import Sandbox, collection_manifest, condition_of

VECTOR = {"": {"size": 4, "distance": "Cosine"}}
FIRST_M = 16
PATCHED_M = (17, 18, 19, 20, 21)


@dataclass
class Sighting:
    """One poll that found the object claiming Ready for its generation, and Qdrant's m read right after."""

    generation: int
    m_after: int


@dataclass
class Poller:
    """Reads the object (straight from the API) and Qdrant in a tight loop until stopped."""

    object_url: str
    collection_url: str
    sightings: list[Sighting] = field(default_factory=list)
    polls: int = 0
    errors: list[BaseException] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        try:
            with httpx.Client(timeout=30) as http:
                while not self.stop.is_set():
                    obj = http.get(self.object_url).raise_for_status().json()
                    m_after = self._m(http)
                    self.polls += 1
                    if _claims_ready(obj):
                        self.sightings.append(Sighting(int(obj["metadata"]["generation"]), m_after))
        except BaseException as exc:  # reported by the test thread
            self.errors.append(exc)

    def _m(self, http: httpx.Client) -> int:
        info = http.get(self.collection_url).raise_for_status().json()["result"]
        return int(info["config"]["hnsw_config"]["m"])


def _claims_ready(obj: dict[str, Any]) -> bool:
    ready = condition_of(obj, "Ready")
    generation = obj["metadata"]["generation"]
    return bool(
        ready is not None
        and ready["status"] == "True"
        and obj.get("status", {}).get("observedGeneration") == generation
    )


def _api_server(sandbox: Sandbox) -> str:
    config = yaml.safe_load(sandbox.kubeconfig.read_text())
    return str(config["clusters"][0]["cluster"]["server"]).rstrip("/")


def test_a_spec_edited_mid_pass_is_never_reported_as_applied(sandbox: Sandbox, unique: str) -> None:
    name = f"snapshot-{unique}"
    sandbox.apply(collection_manifest(name, {"vectors": VECTOR, "hnsw": {"m": FIRST_M}}))
    first = sandbox.wait_ready(name)
    expected_m = {int(first["metadata"]["generation"]): FIRST_M}

    # Every update Qdrant receives takes a while, so the next patches land while a pass runs.
    sandbox.admin.add_fault(f"^/collections/{name}$", "latency", method="PATCH", latency_ms=400)
    poller = Poller(
        f"{_api_server(sandbox)}/apis/qco.dev/v1alpha1/namespaces/default/qdrantcollections/{name}",
        f"{sandbox.qdrant_url}/collections/{name}",
    )
    thread = threading.Thread(target=poller.run, name="snapshot-poller", daemon=True)
    thread.start()
    try:
        for m in PATCHED_M:
            patched = sandbox.kubectl(
                "patch", "qc", name, "--type", "merge", "-p", json.dumps({"spec": {"hnsw": {"m": m}}}),
                "-o", "json",
            )  # fmt: skip
            expected_m[int(json.loads(patched.stdout)["metadata"]["generation"])] = m
        last_generation = max(expected_m)
        assert len(expected_m) == 1 + len(PATCHED_M)  # each patch made a generation of its own
        final = sandbox.wait_ready(name, timeout=120)
        assert final["metadata"]["generation"] == last_generation
        # Let the poller see the final state too, so the run is known to have covered it.
        deadline_polls = poller.polls + 20
        while poller.polls < deadline_polls and thread.is_alive():
            poller.stop.wait(0.05)
    finally:
        poller.stop.set()
        thread.join(60)
        sandbox.admin.clear_faults()
    assert not poller.errors, poller.errors

    # Qdrant's m moves forward through the generations only. When the object claimed generation N,
    # Qdrant had to hold N's m; read right after, it holds N's or a later one's. An earlier one's
    # means Qdrant lacked generation N's settings when the object claimed them.
    generation_of_m = {m: g for g, m in expected_m.items()}
    wrong = [s for s in poller.sightings if generation_of_m.get(s.m_after, -1) < s.generation]
    assert wrong == [], f"Ready claimed before Qdrant had the settings: {wrong[:5]} (expected m {expected_m})"
    assert any(s.generation == last_generation and s.m_after == PATCHED_M[-1] for s in poller.sightings)
    assert sandbox.qdrant().get_collection(name).config.hnsw_config.m == PATCHED_M[-1]
