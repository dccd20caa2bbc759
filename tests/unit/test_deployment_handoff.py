"""A CollectionDeployment hands its switch to a CanaryRollout with canaryFrom: the new revision
waits in AwaitingRollout (no alias request), completes on the rollout's switch without a second
one, and fails with RolloutAborted when the rollout aborts (the alias stays)."""

from __future__ import annotations

from typing import Any

from tests.unit.deployment_fakes import Deployment
from tests.unit.test_reconcile_deployment import TEMPLATE, first, switches

KEY = ("canaryrollouts", "team", "docs-v2")


def canary_rollout(d: Deployment, source: dict[str, Any], phase: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "metadata": {"name": "docs-v2", "namespace": "team"},
        "spec": {"alias": "docs", "canaryFrom": {"collectionDeployment": "docs", **source}},
        "status": {"phase": phase} if phase else {},
    }
    d.h.kube.objects[KEY] = body
    return body


async def awaiting(source: dict[str, Any]) -> tuple[Deployment, str, dict[str, Any]]:
    d = await first(points=5)
    rev1 = d.status["activeCollection"]
    rollout = canary_rollout(d, source)
    d.apply(template={**TEMPLATE, "shardNumber": 2})
    await d.until("AwaitingRollout")
    return d, rev1, rollout


async def test_the_revision_awaits_the_rollout_and_completes_on_its_switch_without_a_second() -> None:
    d, rev1, rollout = await awaiting({})
    rev2 = d.status["revisions"][1]["collection"]
    assert [r["phase"] for r in d.status["revisions"]] == ["Active", "AwaitingRollout"]
    assert d.condition("Ready")["reason"] == "AwaitingRollout"
    assert "awaits CanaryRollout docs-v2" in d.condition("Ready")["message"]
    rollout["status"] = {"phase": "Promoting", "canary": rev2}
    await d.run()
    assert d.status["phase"] == "AwaitingRollout" and d.gateway.aliases["docs"] == rev1 and switches(d) == 1
    d.gateway.aliases["docs"] = rev2  # the rollout's one switch
    rollout["status"] = {"phase": "Succeeded", "canary": rev2}
    await d.until("Complete")
    assert (d.status["activeRevision"], d.status["activeCollection"]) == (2, rev2)
    assert [r["phase"] for r in d.status["revisions"]] == ["Inactive", "Active"]
    assert switches(d) == 1 and "SwitchAlias" in d.h.reasons()
    await d.run()
    assert d.status["phase"] == "Complete" and switches(d) == 1


async def test_an_aborted_rollout_fails_the_revision_and_leaves_the_alias() -> None:
    d, rev1, rollout = await awaiting({"revision": 2})
    rollout["status"] = {"phase": "Aborted"}
    await d.run()
    assert d.status["phase"] == "Failed" and d.condition("Stalled")["reason"] == "RolloutAborted"
    assert d.status["revisions"][1]["message"] == f"CanaryRollout docs-v2 aborted; the alias stays on {rev1}"
    assert d.gateway.aliases["docs"] == rev1 and switches(d) == 1 and d.status["activeRevision"] == 1
    await d.run()
    assert d.condition("Stalled")["reason"] == "RolloutAborted" and switches(d) == 1


async def test_a_rollout_for_another_revision_or_deployment_does_not_hold_the_switch() -> None:
    d = await first(points=5)
    canary_rollout(d, {"revision": 1})
    d.h.kube.objects[("canaryrollouts", "team", "other")] = {
        "metadata": {"name": "other"},
        "spec": {"canaryFrom": {"collectionDeployment": "blog"}},
    }
    d.apply(template={**TEMPLATE, "shardNumber": 2})
    await d.until("Complete")
    assert d.status["activeRevision"] == 2 and switches(d) == 2


async def test_a_post_promotion_rollback_by_the_rollout_is_not_undone() -> None:
    d, rev1, rollout = await awaiting({})
    rev2 = d.status["revisions"][1]["collection"]
    d.gateway.aliases["docs"] = rev2
    rollout["status"] = {"phase": "Succeeded", "canary": rev2}
    await d.until("Complete")
    d.gateway.aliases["docs"] = rev1  # postPromotion failed: the rollout switched back
    rollout["status"] = {"phase": "Aborted", "canary": rev2}
    await d.run()
    assert d.condition("Stalled")["reason"] == "RolloutAborted" and d.gateway.aliases["docs"] == rev1
    assert (d.status["activeRevision"], d.status["activeCollection"]) == (1, rev1)
    assert [r["phase"] for r in d.status["revisions"]] == ["Active", "Failed"] and switches(d) == 1
