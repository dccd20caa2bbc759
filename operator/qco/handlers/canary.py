"""CanaryRollout's handlers: the generic loop with the canary reconciler."""

from __future__ import annotations

import kopf

from qco.api.canary import CANARY_ROLLOUT
from qco.handlers.loop import register_kind
from qco.reconcile.canary import CANARY_RECONCILER


def register(registry: kopf.OperatorRegistry) -> None:
    """Register the CanaryRollout handlers on a registry."""
    register_kind(registry, CANARY_ROLLOUT, CANARY_RECONCILER)
