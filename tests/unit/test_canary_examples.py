"""examples/canary/*.yaml are valid CanaryRollouts (the e2e tests run the demo app itself)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from qco.api.canary import CanaryRolloutSpec

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples" / "canary").glob("*.yaml"))


@pytest.mark.parametrize("path", [p for p in EXAMPLES if p.name != "demo-app.yaml"], ids=lambda p: p.name)
def test_canary_example_validates(path: Path) -> None:
    (doc,) = list(yaml.safe_load_all(path.read_text()))
    assert doc["kind"] == "CanaryRollout"
    spec = CanaryRolloutSpec.model_validate(doc["spec"])
    assert spec.routing.config_map.endswith("routing")


def test_demo_app_manifest_grants_what_qco_routing_needs() -> None:
    docs = list(yaml.safe_load_all((EXAMPLES[0].parent / "demo-app.yaml").read_text()))
    (role,) = [d for d in docs if d["kind"] == "Role"]
    assert set(role["rules"][0]["verbs"]) == {"get", "list", "watch", "patch"}
