"""Argo CD's Lua health checks and kstatus (Flux) agree on every status qco writes.

`kstatus()` is a port (real kstatus is Go; see tests/delivery/health.py), so it is first held to
kstatus's own published test cases (data/kstatus_generic_cases.yaml); only then is it used to
judge the statuses qco's reporter builds.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from qco.reconcile.outcome import failure_outcome
from qco.reconcile.status_report import build_status
from tests.delivery.chart import ROOT
from tests.delivery.health import KINDS, argocd_health, kstatus, lua_script

NOW = "2025-01-01T00:00:00Z"


def _condition(
    type_: str, status: str, reason: str = "", message: str = "", generation: int = 2
) -> dict[str, Any]:
    return {
        "type": type_,
        "status": status,
        "reason": reason,
        "message": message,
        "lastTransitionTime": NOW,
        "observedGeneration": generation,
    }


def _object(status: dict[str, Any] | None, generation: int = 2) -> dict[str, Any]:
    obj: dict[str, Any] = {"metadata": {"name": "docs", "namespace": "default", "generation": generation}}
    if status is not None:
        obj["status"] = status
    return obj


def _conditions(
    ready: str, reconciling: str, stalled: str, reason: str, message: str = ""
) -> list[dict[str, Any]]:
    return [
        _condition("Ready", ready, reason, message),
        _condition("Reconciling", reconciling, reason, message if reconciling == "True" else ""),
        _condition("Stalled", stalled, reason, message if stalled == "True" else ""),
    ]


# name -> (object, Argo CD health, kstatus)
SAMPLES: dict[str, tuple[dict[str, Any], str, str]] = {
    "ready": (
        _object(
            {"observedGeneration": 2, "conditions": _conditions("True", "False", "False", "Synced", "ok")}
        ),
        "Healthy",
        "Current",
    ),
    "no-status-yet": (_object(None), "Progressing", "Current"),  # kstatus: no status means Current
    "old-generation": (
        _object({"observedGeneration": 1, "conditions": _conditions("True", "False", "False", "Synced")}),
        "Progressing",
        "InProgress",
    ),
    "optimizing": (
        _object(
            {
                "observedGeneration": 2,
                "conditions": _conditions(
                    "False", "True", "False", "Optimizing", "collection docs is yellow"
                ),
            }
        ),
        "Progressing",
        "InProgress",
    ),
    "stalled-immutable": (
        _object(
            {
                "observedGeneration": 2,
                "conditions": _conditions(
                    "False", "False", "True", "ImmutableFieldChanged", "size 384 -> 768"
                ),
            }
        ),
        "Degraded",
        "Failed",
    ),
    "red": (
        _object(
            {
                "observedGeneration": 2,
                "conditions": _conditions("False", "False", "True", "CollectionRed", "optimizer failed"),
            }
        ),
        "Degraded",
        "Failed",
    ),
    "paused": (
        _object(
            {
                "observedGeneration": 2,
                "conditions": [
                    *_conditions("False", "False", "False", "Paused", "pending: patch hnsw"),
                    _condition("Paused", "True", "PausedByAnnotation", "qco.dev/paused is true"),
                ],
            }
        ),
        "Suspended",
        "InProgress",
    ),
    "ready-from-older-generation": (
        # observedGeneration moved on, but the Ready condition was computed for generation 1.
        _object(
            {
                "observedGeneration": 2,
                "conditions": [_condition("Ready", "True", "Synced", generation=1)],
            }
        ),
        "Progressing",
        "Current",
    ),
}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("sample", list(SAMPLES))
def test_argocd_lua_health(kind: str, sample: str) -> None:
    obj, expected, _ = SAMPLES[sample]
    status, message = argocd_health(kind, obj)
    assert status == expected, message
    assert message


KSTATUS_CASES: dict[str, dict[str, Any]] = yaml.safe_load(
    (ROOT / "tests" / "delivery" / "data" / "kstatus_generic_cases.yaml").read_text()
)


@pytest.mark.parametrize("case", list(KSTATUS_CASES))
def test_kstatus_port_passes_kstatus_own_cases(case: str) -> None:
    assert kstatus(KSTATUS_CASES[case]["object"]) == KSTATUS_CASES[case]["expected"]


@pytest.mark.parametrize("sample", list(SAMPLES))
def test_kstatus(sample: str) -> None:
    obj, _, expected = SAMPLES[sample]
    assert kstatus(obj) == expected


def test_degraded_message_names_the_reason() -> None:
    status, message = argocd_health("QdrantCollection", SAMPLES["stalled-immutable"][0])
    assert (status, message) == ("Degraded", "ImmutableFieldChanged: size 384 -> 768")


STALLED_REASONS = (
    "ImmutableFieldChanged", "ResourceConflict", "AdoptionRefused", "AliasConflict", "InvalidSpec",
    "NoQdrantConnection", "SecretNotFound", "QdrantUnauthorized", "QdrantRejected", "CollectionRed",
)  # fmt: skip


@pytest.mark.parametrize(
    ("reason", "stalled"), [*((r, True) for r in STALLED_REASONS), ("QdrantUnreachable", False)]
)
def test_statuses_built_by_the_operator(reason: str, stalled: bool) -> None:
    # The operator's own status builder, so the samples above cannot drift from what qco writes.
    status = build_status(None, failure_outcome(reason, f"{reason} happened", stalled), 3, NOW)
    obj = _object(status, generation=3)
    health, message = argocd_health("QdrantCollection", obj)
    assert (health, kstatus(obj)) == (("Degraded", "Failed") if stalled else ("Progressing", "InProgress"))
    assert reason in message


def test_scripts_are_embedded_verbatim_in_docs_and_argocd_example() -> None:
    guide = (ROOT / "docs" / "gitops.md").read_text()
    config = yaml.safe_load((ROOT / "examples" / "argocd" / "argocd-cm.yaml").read_text())
    for kind in KINDS:
        script = lua_script(kind).read_text()
        assert script in guide, f"docs/gitops.md does not carry {lua_script(kind).name}"
        assert config["data"][f"resource.customizations.health.qco.dev_{kind}"] == script
