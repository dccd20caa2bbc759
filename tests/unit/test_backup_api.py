"""BackupSchedule API rules: concurrencyPolicy Forbid only (Replace and Allow are refused by the
API server's CEL rule and by the model, with the reason), format portable accepted."""

from __future__ import annotations

from typing import Any

import pytest

from qco.api.backup import BACKUP_SCHEDULE, BackupScheduleSpec
from qco.api.crdgen import build_crd
from qco.sandbox.kube import cel

SCHEMA = build_crd(BACKUP_SCHEDULE)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
BASE: dict[str, Any] = {
    "schedule": "@daily",
    "collections": {"names": ["docs"]},
    "destination": {
        "s3": {
            "bucket": "backups",
            "accessKeyId": {"name": "s3", "key": "id"},
            "secretAccessKey": {"name": "s3", "key": "secret"},
        }
    },
}


@pytest.mark.parametrize("policy", ["Replace", "Allow"])
def test_replace_and_allow_are_refused_with_the_reason(policy: str) -> None:
    spec = {**BASE, "concurrencyPolicy": policy}
    [cause] = cel.validate(spec, cel.MISSING, SCHEMA)
    assert "one at a time" in cause["message"] and "use Forbid" in cause["message"]
    with pytest.raises(ValueError, match=r"spec\.concurrencyPolicy Replace and Allow are not supported"):
        BackupScheduleSpec.model_validate(spec)


@pytest.mark.parametrize("extra", [{}, {"concurrencyPolicy": "Forbid"}, {"format": "portable"}])
def test_forbid_and_portable_are_accepted(extra: dict[str, Any]) -> None:
    spec = {**BASE, **extra}
    assert cel.validate(spec, cel.MISSING, SCHEMA) == []
    assert BackupScheduleSpec.model_validate(spec).concurrency_policy == "Forbid"
