"""CollectionDeployment's handlers: the generic loop with the deployment reconciler."""

from __future__ import annotations

import kopf

from qco.api.deployment import COLLECTION_DEPLOYMENT
from qco.handlers.loop import register_kind
from qco.reconcile.deployment import DEPLOYMENT_RECONCILER


def register(registry: kopf.OperatorRegistry) -> None:
    """Register the CollectionDeployment handlers on a registry."""
    register_kind(registry, COLLECTION_DEPLOYMENT, DEPLOYMENT_RECONCILER)
