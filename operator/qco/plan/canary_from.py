"""The hand-off between a CollectionDeployment and a CanaryRollout with `canaryFrom` (pure).

One owner per alias: the rollout takes the canary from the deployment's revision and owns the
final switch; the deployment's revision waits (AwaitingRollout) and follows the rollout's end.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

#: Rollout phases after which the rollout no longer switches anything.
_SUCCEEDED = frozenset({"Succeeded"})
_ABORTED = frozenset({"Aborted", "Failed"})

HandOff = Literal["Waiting", "Succeeded", "Aborted"]


@dataclass(frozen=True)
class CanarySource:
    """The canary collection a deployment's revision names, or why there is none."""

    collection: str | None
    problem: str | None = None


def canary_from_revision(
    deployment: str, revisions: Iterable[Mapping[str, Any]] | None, number: int | None
) -> CanarySource:
    """The collection of revision `number` (the newest when None) in a deployment's status.revisions."""
    records = [r for r in revisions or () if isinstance(r.get("number"), int) and r.get("collection")]
    if not records:
        return CanarySource(None, f"CollectionDeployment {deployment} has no revisions yet")
    if number is None:
        return CanarySource(str(max(records, key=lambda r: int(r["number"]))["collection"]))
    for record in records:
        if record["number"] == number:
            if record.get("phase") == "Failed":
                return CanarySource(None, f"CollectionDeployment {deployment} revision {number} failed")
            return CanarySource(str(record["collection"]))
    return CanarySource(None, f"CollectionDeployment {deployment} has no revision {number}")


def rollout_hand_off(
    rollouts: Iterable[Mapping[str, Any]], deployment: str, number: int, newest: int, collection: str
) -> tuple[HandOff, str] | None:
    """Whether a CanaryRollout has taken revision `number`'s switch, and how it stands (with the
    rollout's name): None when none has (the deployment switches itself).

    A rollout takes it when its canaryFrom names this deployment and this revision, or names no
    revision while this one is the newest (or its status already resolved to this collection).
    Waiting wins over an ended rollout, so a retried or second rollout is waited for.
    """
    found: list[tuple[HandOff, str]] = []
    for item in rollouts:
        source = (item.get("spec") or {}).get("canaryFrom") or {}
        if source.get("collectionDeployment") != deployment:
            continue
        status = item.get("status") or {}
        wanted = source.get("revision")
        if wanted is None:
            resolved = status.get("canary")
            ours = resolved == collection if resolved else number == newest
        else:
            ours = wanted == number
        if not ours:
            continue
        phase = status.get("phase")
        name = str((item.get("metadata") or {}).get("name"))
        if phase in _SUCCEEDED:
            found.append(("Succeeded", name))
        elif phase in _ABORTED:
            found.append(("Aborted", name))
        else:
            found.append(("Waiting", name))
    order = {"Waiting": 0, "Succeeded": 1, "Aborted": 2}
    return min(found, key=lambda f: (order[f[0]], f[1])) if found else None


def deployment_owner(deployments: Iterable[Mapping[str, Any]], alias: str, through: str | None) -> str | None:
    """The CollectionDeployment (its name) whose spec.alias is `alias`, unless it is `through`
    (the one the rollout's canaryFrom names): that one hands its switch over."""
    for item in deployments:
        name = (item.get("metadata") or {}).get("name")
        if (item.get("spec") or {}).get("alias") == alias and name != through:
            return str(name)
    return None
