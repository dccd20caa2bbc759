"""Helpers for the BackupSchedule e2e tests (kept out of conftest.py, which the harness owner edits)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from tests.e2e.conftest import ROOT, Sandbox
from tests.e2e.waits import status_json, wait_until

EXAMPLES = ROOT / "examples" / "backups"


def example(name: str) -> list[dict[str, Any]]:
    """The documents of one example manifest."""
    return [doc for doc in yaml.safe_load_all(Path(EXAMPLES / name).read_text()) if doc]


def get_schedule(sandbox: Sandbox, name: str) -> dict[str, Any]:
    """The BackupSchedule as JSON."""
    out = sandbox.kubectl("get", "backupschedule", name, "-n", "default", "-o", "json").stdout
    result: dict[str, Any] = json.loads(out)
    return result


def wait_schedule(
    sandbox: Sandbox, name: str, predicate: Callable[[dict[str, Any]], bool], timeout: float = 90
) -> dict[str, Any]:
    """Poll the schedule until `predicate` holds; fail with its last status otherwise."""
    return wait_until(
        lambda: get_schedule(sandbox, name),
        predicate,
        timeout,
        what=f"BackupSchedule {name} to reach the awaited state",
        describe=status_json,
        interval=0.3,
    )


def runs(obj: dict[str, Any]) -> list[dict[str, Any]]:
    """The runs in status, newest first."""
    return list(obj.get("status", {}).get("runs") or [])


def run_named(obj: dict[str, Any], predicate: Callable[[dict[str, Any]], bool]) -> dict[str, Any] | None:
    """The newest run matching `predicate`."""
    return next((r for r in runs(obj) if predicate(r)), None)


def finished(run: dict[str, Any] | None) -> bool:
    """Whether a run has ended."""
    return run is not None and run.get("phase") in ("Succeeded", "Failed", "PartiallyFailed")
