"""What the API server fills into a CustomResourceDefinition it accepts (names, conditions)."""

from __future__ import annotations

from typing import Any

from qco.sandbox.kube.store import now_rfc3339


def prepare_crd(crd: dict[str, Any]) -> None:
    """Fill in accepted names, the NamesAccepted/Established conditions and stored versions."""
    spec = crd.get("spec") or {}
    names = dict(spec.get("names") or {})
    names.setdefault("singular", str(names.get("kind", "")).lower())
    names.setdefault("listKind", f"{names.get('kind', '')}List")
    conditions = [
        {
            "type": "NamesAccepted",
            "status": "True",
            "reason": "NoConflicts",
            "message": "no conflicts found",
            "lastTransitionTime": now_rfc3339(),
        },
        {
            "type": "Established",
            "status": "True",
            "reason": "InitialNamesAccepted",
            "message": "the initial names have been accepted",
            "lastTransitionTime": now_rfc3339(),
        },
    ]
    old_status = crd.get("status") or {}
    if old_status.get("conditions"):
        conditions = old_status["conditions"]
    crd["status"] = {
        "acceptedNames": names,
        "conditions": conditions,
        "storedVersions": [v["name"] for v in spec.get("versions", []) if v.get("storage")],
    }
