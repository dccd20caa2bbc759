"""plan_collection_changes: (desired QdrantCollection, observed Qdrant) -> CollectionPlan. Pure."""

from __future__ import annotations

from qco.plan.actions import CollectionPlan
from qco.plan.inputs import DesiredCollection, ObservedCollection


def plan_collection_changes(desired: DesiredCollection, observed: ObservedCollection) -> CollectionPlan:
    """Compute the ordered actions and the blockers that take `observed` to `desired`."""
    raise NotImplementedError
