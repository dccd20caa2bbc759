"""QdrantCollection's handlers: the generic loop with the collection reconciler."""

from __future__ import annotations

import kopf

from qco.api.collection import QDRANT_COLLECTION
from qco.handlers.loop import register_kind
from qco.reconcile.collection import COLLECTION_RECONCILER


def register(registry: kopf.OperatorRegistry) -> None:
    """Register the QdrantCollection handlers on a registry."""
    register_kind(registry, QDRANT_COLLECTION, COLLECTION_RECONCILER)
