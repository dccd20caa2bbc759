"""How `qco plan` / `qco apply` print their outcomes: text for people, `-o json` for pipelines."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from qco.api.collection import QdrantCollectionSpec
from qco.cli.manifests import Manifest
from qco.plan.actions import Action, UpdateCollection
from qco.plan.change_values import value_changes
from qco.plan.ownership import parse_owner_stamp
from qco.plan.presets import describe_effective
from qco.plan.shard_keys import ShardKeyPlan
from qco.reconcile.collection_offline import OfflineResult


@dataclass(frozen=True)
class Outcome:
    """One manifest's result: a plan (or what was applied), or why there is none."""

    manifest: Manifest
    namespace: str
    result: OfflineResult | None = None
    error_reason: str = ""
    error_message: str = ""

    @property
    def label(self) -> str:
        """`QdrantCollection default/docs`."""
        return f"QdrantCollection {self.namespace}/{self.manifest.name}"

    @property
    def failed(self) -> bool:
        """Invalid, unreachable, or blocked: exit code 1."""
        return self.result is None or self.result.blocked

    @property
    def changes(self) -> bool:
        """The plan has actions to perform."""
        return self.result is not None and self.result.changes


def exit_code(outcomes: list[Outcome], applied: bool) -> int:
    """Terraform's convention for plan: 1 on any error, 2 when there are changes, 0 otherwise;
    apply: 1 on any error, else 0."""
    if any(o.failed for o in outcomes):
        return 1
    return 2 if not applied and any(o.changes for o in outcomes) else 0


def render_text(outcome: Outcome, applied: bool) -> str:
    """Lines for people: each action, an update's fields as `old -> new`, each blocker."""
    if outcome.result is None:
        detail = outcome.error_message
        if outcome.error_reason == "InvalidSpec":
            return f"{outcome.label}: invalid spec:\n" + "\n".join(
                f"    {line}" for line in detail.splitlines()
            )
        return f"{outcome.label}: {outcome.error_reason}: {detail}"
    result = outcome.result
    plan, info = result.plan, result.before
    lines = [f"{outcome.label} -> collection {plan.collection_name}:"]
    if not result.changes and not result.blocked:
        lines.append("  no changes: Qdrant matches the spec")
    for action in plan.actions:
        lines.append(f"  {'done' if applied else 'would'}: {_headline(action)}")
        lines += [f"      {change.describe()}" for change in value_changes(action, info)]
    keys = result.shard_keys
    if keys is not None:
        lines += [f"  would: {text}" for text in shard_key_lines(keys)]
        if keys.refused:
            lines.append(f"  blocked (ShardKeyRemovalRefused): {keys.refusal_message(plan.collection_name)}")
    for blocker in plan.blockers:
        lines.append(f"  blocked ({blocker.reason}): {blocker.message()}")
    if applied and result.info is not None:
        lines.append(f"  status: {result.info.status.value}, points: {result.info.points_count}")
    spec = outcome.manifest.body.get("spec") or {}
    if spec.get("preset"):  # the settings the preset and the explicit fields add up to
        lines.append(describe_effective(QdrantCollectionSpec.model_validate(spec)))
    return "\n".join(lines)


def render_json(outcomes: list[Outcome], applied: bool) -> str:
    """One JSON document: `changes`, `errors` and one entry per manifest."""
    doc = {
        "changes": any(o.changes for o in outcomes),
        "errors": sum(o.failed for o in outcomes),
        "applied": applied,
        "objects": [_object_json(o) for o in outcomes],
    }
    return json.dumps(doc, indent=2, sort_keys=False)


def _object_json(outcome: Outcome) -> dict[str, Any]:
    out: dict[str, Any] = {
        "kind": "QdrantCollection",
        "namespace": outcome.namespace,
        "name": outcome.manifest.name,
        "source": outcome.manifest.source,
    }
    if outcome.result is None:
        out["error"] = {"reason": outcome.error_reason, "message": outcome.error_message}
        return out
    plan, before = outcome.result.plan, outcome.result.before
    stamp = parse_owner_stamp(before.config.metadata) if before is not None else None
    out |= {
        "collection": plan.collection_name,
        "exists": before is not None,
        "owner": stamp.ref if stamp else None,
        "actions": [
            {
                "type": type(action).__name__,
                "description": _headline(action),
                "fields": list(action.fields),
                "changes": [c.to_json() for c in value_changes(action, before)],
            }
            for action in plan.actions
        ],
        "blockers": [{"reason": b.reason, "message": b.message()} for b in plan.blockers],
    }
    keys = outcome.result.shard_keys
    if keys is not None:
        out["shardKeys"] = {
            "create": [k.key for k in keys.create],
            "delete": list(keys.delete),
            "refused": list(keys.refused),
            "pointsAtRisk": keys.points_at_risk,
            "unmanaged": list(keys.foreign),
        }
        if keys.refused:
            message = keys.refusal_message(plan.collection_name)
            out["blockers"].append({"reason": "ShardKeyRemovalRefused", "message": message})
    if outcome.result.info is not None:
        out["status"] = outcome.result.info.status.value
        out["points"] = outcome.result.info.points_count
    return out


def shard_key_lines(keys: ShardKeyPlan) -> list[str]:
    """The shard-key changes, one line each (the operator makes them; `qco apply` does not)."""
    lines = []
    for key in keys.create:
        shards = key.shard_number if key.shard_number is not None else "default"
        replicas = key.replication_factor if key.replication_factor is not None else "default"
        lines.append(f"create shard key {key.key} (shardNumber {shards}, replicationFactor {replicas})")
    lines += [f"delete shard key {key} and its points (shardKeyRemovalPolicy: Allow)" for key in keys.delete]
    return lines


def _headline(action: Action) -> str:
    # An update's field list is shown with values underneath; the headline just names it.
    text = action.describe()
    return text.split(":", 1)[0] if isinstance(action, UpdateCollection) else text
