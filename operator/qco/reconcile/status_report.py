"""The one status writer for every kind: a merge patch computed from the pass snapshot.

The status is built from the status the pass started from (never from the live body), carries
that pass's generation, truncates messages to what the API server accepts, leaves fields other
code owns untouched, and sends nothing when nothing changed.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from qco.api.common import GROUP, MAX_MESSAGE_BYTES, VERSION
from qco.reconcile.conditions import ConditionUpdate, merge_conditions, now_rfc3339, truncate
from qco.reconcile.context import Context
from qco.reconcile.outcome import PassOutcome
from qco.reconcile.snapshot import PassSnapshot
from qco.reconcile.status_patch import status_merge_patch

logger = logging.getLogger(__name__)


def build_status(
    current: Mapping[str, Any] | None, outcome: PassOutcome, generation: int | None, now: str
) -> dict[str, Any]:
    """The whole new status. Unchanged inputs give an identical status (no timestamps move)."""
    current = dict(current or {})
    updates = [_fit(u) for u in (outcome.ready, outcome.reconciling, outcome.stalled, *outcome.extra)]
    conditions = merge_conditions(current.get("conditions"), updates, generation, now)
    conditions = [c for c in conditions if c["type"] not in outcome.drop]
    status: dict[str, Any] = {**current, "observedGeneration": generation, "conditions": conditions}
    if outcome.fields is not None:
        status.update(outcome.fields(current, now))
    return {key: value for key, value in status.items() if value is not None}


def _fit(update: ConditionUpdate) -> ConditionUpdate:
    message = truncate(update.message, MAX_MESSAGE_BYTES)
    return (
        update
        if message == update.message
        else ConditionUpdate(update.type, update.status, update.reason, message)
    )


async def write_status(ctx: Context, snapshot: PassSnapshot, outcome: PassOutcome) -> None:
    """Patch the object's status to what `outcome` says; nothing is sent when nothing changed."""
    status = build_status(snapshot.status, outcome, snapshot.generation, now_rfc3339())
    patch = status_merge_patch(snapshot.status, status)
    if patch is None:
        return
    identity = snapshot.identity
    try:
        await ctx.kube.patch_status(
            GROUP, VERSION, snapshot.kind.plural, identity.namespace, identity.name, patch
        )
    except Exception as exc:  # the next pass writes it again
        logger.warning(
            "status of %s %s/%s not written: %s",
            snapshot.kind.kind,
            identity.namespace,
            identity.name,
            truncate(str(exc), 500),
        )
