"""A CollectionDeployment's revision handed to a CanaryRollout (`spec.canaryFrom`): one owner per
alias, so while a rollout has taken the revision the deployment does not switch; it waits in
AwaitingRollout, completes when the rollout's switch lands, and fails (RolloutAborted, alias
untouched by it) when the rollout aborts."""

from __future__ import annotations

from typing import TYPE_CHECKING

from qco.api.common import GROUP, VERSION
from qco.api.deployment_status import RevisionRecord
from qco.plan.canary_from import rollout_hand_off
from qco.reconcile.outcome import PassOutcome, progressing_outcome, stalled_outcome

if TYPE_CHECKING:
    from qco.reconcile.deployment_rollout import Rollout

#: Poll interval while a rollout owns the switch (its promotion is seen on the next pass).
AWAIT_SECONDS = 2.0
#: The failure message's prefix; the rollout's Failed branch reports it as reason RolloutAborted.
ABORTED_PREFIX = "CanaryRollout "


async def await_rollout(rollout: Rollout, target: str | None) -> PassOutcome | None:
    """How the revision waits for (or ended with) a CanaryRollout that took its switch; None when
    no rollout has (or one succeeded): the deployment switches itself, as without canaryFrom."""
    identity = rollout.snapshot.identity
    rollouts = await rollout.ctx.kube.list_custom_objects(
        GROUP, VERSION, "canaryrollouts", [identity.namespace]
    )
    record = rollout.record
    newest = max((r.number for r in rollout.state.records), default=record.number)
    found = rollout_hand_off(rollouts, identity.name, record.number, newest, record.collection)
    if found is None or found[0] == "Succeeded":
        return None
    state, name = found
    if state == "Waiting":
        rollout._set_phase("AwaitingRollout")
        message = (
            f"revision {record.number} ({record.collection}) awaits CanaryRollout {name},"
            f" which owns the switch of alias {rollout.spec.alias}"
        )
        return progressing_outcome("AwaitingRollout", message, retry_after=AWAIT_SECONDS)
    message = f"{ABORTED_PREFIX}{name} aborted; the alias stays on {target or '(none)'}"
    if rollout.state.active_collection == record.collection:
        _restore_active(rollout, target)  # a post-promotion rollback moved the alias back
    rollout._update(phase="Failed", message=message, failed_generation=rollout.snapshot.generation)
    rollout.state.phase = "Failed"
    rollout._event("RolloutAborted", message, "Warning")
    return stalled_outcome("RolloutAborted", rollout._failed())


def _restore_active(rollout: Rollout, target: str | None) -> None:
    """The revision the alias is back on is the active one again."""
    back = next((r for r in rollout.state.records if r.collection == target), None)
    rollout.state.active_revision = back.number if back else None
    rollout.state.active_collection = back.collection if back else None
    if back is not None:
        rollout.state.replace(RevisionRecord.model_validate({**back.model_dump(), "phase": "Active"}))
