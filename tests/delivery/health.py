"""Health as GitOps tools judge it: Argo CD's Lua health scripts (run in a real Lua 5.1, the
dialect of Argo CD's gopher-lua, via lupa) and kstatus's rules (used by Flux).

Real kstatus (sigs.k8s.io/cli-utils, Go) cannot run here: the machine has no Go toolchain, no Go
module cache and no internet (Debian ships golang-go but not cli-utils). So `kstatus()` below is a
port of its generic rules for custom resources, and the tests hold the port to kstatus's own
published test cases (tests/delivery/data/kstatus_generic_cases.yaml, copied as data from
cli-utils' status_compute_test.go) before using it to judge the statuses qco writes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lupa.lua51 as lua51

from tests.delivery.chart import ROOT

GITOPS = ROOT / "docs" / "gitops"
KINDS = ("QdrantCollection", "CollectionDeployment", "BackupSchedule", "CanaryRollout")


def lua_script(kind: str) -> Path:
    """The health script of a kind: one file serves all four (docs/gitops.md and examples/argocd
    embed it)."""
    del kind
    return GITOPS / "health.lua"


def argocd_health(kind: str, obj: dict[str, Any]) -> tuple[str, str]:
    """(status, message) the kind's Lua script returns for `obj`, as Argo CD would run it:
    `obj` is a global, the script's chunk returns a table `hs`."""
    runtime = lua51.LuaRuntime(unpack_returned_tuples=True)
    runtime.globals().obj = runtime.table_from(obj, recursive=True)
    run_chunk = runtime.eval("function(source) return assert(loadstring(source))() end")
    result = run_chunk(lua_script(kind).read_text())
    return str(result["status"]), str(result["message"])


def kstatus(obj: dict[str, Any]) -> str:
    """kstatus's status of a custom resource (Current, InProgress, Failed, Terminating), following
    the rules sigs.k8s.io/cli-utils documents: deletion first, then observedGeneration, then the
    Reconciling and Stalled conditions, then Ready for a kind without a built-in rule."""
    metadata = obj.get("metadata", {})
    if metadata.get("deletionTimestamp"):
        return "Terminating"
    status = obj.get("status") or {}
    generation = metadata.get("generation")
    observed = status.get("observedGeneration")
    if generation is not None and observed is not None and observed != generation:
        return "InProgress"
    conditions = {c["type"]: c for c in status.get("conditions") or []}
    if conditions.get("Reconciling", {}).get("status") == "True":
        return "InProgress"
    if conditions.get("Stalled", {}).get("status") == "True":
        return "Failed"
    ready = conditions.get("Ready")
    if ready is not None and ready.get("status") == "False":
        return "InProgress"
    return "Current"
