"""Helpers shared by the planner tests: identities, specs, converge-then-plan."""

from __future__ import annotations

from typing import Any

from qdrant_client.http import models

from qco.api.collection import QdrantCollectionSpec
from qco.plan.collection import plan_collection_changes
from qco.plan.inputs import DesiredCollection, ObservedCollection, ResourceIdentity
from qco.plan.ownership import OwnerStamp
from tests.unit.fake_qdrant import FakeQdrant, apply_update

ME = ResourceIdentity("team", "c1", "uid-1", "2026-01-02T00:00:00Z", 1)
OLDER = OwnerStamp("other", "old", "uid-0", "2026-01-01T00:00:00Z")
YOUNGER = OwnerStamp("other", "young", "uid-9", "2026-01-03T00:00:00Z")
BASE: dict[str, Any] = {"collectionName": "c1", "vectors": {"": {"size": 4, "distance": "Cosine"}}}


def spec(**fields: Any) -> QdrantCollectionSpec:
    """BASE with `fields` merged in (camelCase keys)."""
    return QdrantCollectionSpec.model_validate({**BASE, **fields})


def desired(
    s: QdrantCollectionSpec, paused: bool = False, identity: ResourceIdentity = ME
) -> DesiredCollection:
    return DesiredCollection(s, identity, paused)


def plan_for(s: QdrantCollectionSpec, fake: FakeQdrant, **observed: Any):  # type: ignore[no-untyped-def]
    """Plan `s` against the fake's current state."""
    return plan_collection_changes(
        desired(s), ObservedCollection(fake.info, aliases=dict(fake.aliases), **observed)
    )


def converged(s: QdrantCollectionSpec, **observed: Any) -> FakeQdrant:
    """A fake Qdrant after create + apply until the plan is empty (at most 3 passes)."""
    fake = FakeQdrant()
    for _ in range(3):
        p = plan_for(s, fake, **observed)
        if not p.actions:
            return fake
        fake.apply(p)
    raise AssertionError(f"did not converge: {plan_for(s, fake, **observed).describe()}")


def patch_live(fake: FakeQdrant, **update: Any) -> None:
    """Change the live collection behind qco's back."""
    assert fake.info is not None
    fake.info = apply_update(fake.info, models.UpdateCollection(**update))


def foreign(s: QdrantCollectionSpec, stamp: OwnerStamp | None) -> FakeQdrant:
    """A live collection created from `s` by someone else: `stamp` (or no stamp)."""
    other = ResourceIdentity(stamp.namespace, stamp.name, stamp.uid, stamp.created) if stamp else ME
    fake = FakeQdrant()
    fake.apply(plan_collection_changes(desired(s, identity=other), ObservedCollection(None)))
    assert fake.info is not None
    assert fake.info.config.metadata is not None
    if stamp is None:
        meta = {k: v for k, v in fake.info.config.metadata.items() if not k.startswith("qco.dev/")}
        fake.info = fake.info.model_copy(
            update={"config": fake.info.config.model_copy(update={"metadata": meta or None})}
        )
    fake.info.payload_schema.clear()
    fake.aliases.clear()
    return fake
