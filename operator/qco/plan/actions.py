"""What the collection planner outputs: typed actions (things to do) and blockers (why not).

Actions and blockers are frozen data. Each action knows which HTTP call it stands for (the
reconciler maps it onto qdrant-client), a `describe()` one-liner for Events and `qco plan`,
and the spec fields it touches (for drift reporting). Blockers carry a CamelCase `reason`
for the Stalled condition and a `message()` that says what to do next.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from qdrant_client.http import models

from qco.plan.ownership import OwnerStamp

_WAY_OUT = "create a CollectionDeployment to move to a new collection"


@dataclass(frozen=True)
class CreateCollection:
    """PUT /collections/{name}: the whole collection, owner stamp included in its metadata."""

    collection_name: str
    request: models.CreateCollection
    fields: tuple[str, ...] = ("collectionName",)

    def describe(self) -> str:
        """One line for Events and `qco plan`."""
        return f"create collection {self.collection_name}"


@dataclass(frozen=True)
class StampOwner:
    """PATCH /collections/{name} with metadata only: write qco's owner stamp and bookkeeping keys."""

    collection_name: str
    metadata: Mapping[str, Any]
    previous_owner: str | None = None
    fields: tuple[str, ...] = ()

    def describe(self) -> str:
        """One line for Events and `qco plan`."""
        if self.previous_owner:
            return f"take ownership of collection {self.collection_name} from {self.previous_owner}"
        return f"stamp qco's ownership on collection {self.collection_name}"


@dataclass(frozen=True)
class UpdateCollection:
    """PATCH /collections/{name} with only the blocks and fields that differ from the spec."""

    collection_name: str
    request: models.UpdateCollection
    fields: tuple[str, ...] = ()

    def describe(self) -> str:
        """One line for Events and `qco plan`."""
        return f"update collection {self.collection_name}: {', '.join(self.fields)}"


@dataclass(frozen=True)
class CreateVector:
    """PUT /collections/{name}/vectors/{vector}: add a named dense or sparse vector."""

    collection_name: str
    vector_name: str
    config: models.DenseVectorNameConfig | models.SparseVectorNameConfig
    fields: tuple[str, ...] = ()

    @property
    def sparse(self) -> bool:
        """True for a sparse vector."""
        return isinstance(self.config, models.SparseVectorNameConfig)

    def describe(self) -> str:
        """One line for Events and `qco plan`."""
        kind = "sparse vector" if self.sparse else "vector"
        return f"add {kind} {self.vector_name!r} to collection {self.collection_name}"


@dataclass(frozen=True)
class DeleteVector:
    """DELETE /collections/{name}/vectors/{vector}: drop a named vector qco created (data is lost)."""

    collection_name: str
    vector_name: str
    sparse: bool = False
    fields: tuple[str, ...] = ()

    def describe(self) -> str:
        """One line for Events and `qco plan`."""
        kind = "sparse vector" if self.sparse else "vector"
        return f"delete {kind} {self.vector_name!r} from collection {self.collection_name}"


@dataclass(frozen=True)
class CreatePayloadIndex:
    """PUT /collections/{name}/index: create an index, or replace one whose schema differs."""

    collection_name: str
    field_name: str
    field_schema: models.PayloadFieldSchema
    replace: bool = False
    fields: tuple[str, ...] = ()

    def describe(self) -> str:
        """One line for Events and `qco plan`."""
        verb = "replace" if self.replace else "create"
        kind = (
            self.field_schema.value
            if isinstance(self.field_schema, models.PayloadSchemaType)
            else (str(self.field_schema.type.value))
        )
        return f"{verb} {kind} payload index on {self.field_name!r} in collection {self.collection_name}"


@dataclass(frozen=True)
class DeletePayloadIndex:
    """DELETE /collections/{name}/index/{field}: only for indexes qco created (per the owner stamp)."""

    collection_name: str
    field_name: str
    fields: tuple[str, ...] = ()

    def describe(self) -> str:
        """One line for Events and `qco plan`."""
        return f"delete payload index on {self.field_name!r} in collection {self.collection_name}"


AliasOperation = models.CreateAliasOperation | models.DeleteAliasOperation


@dataclass(frozen=True)
class UpdateAliases:
    """POST /collections/aliases: one atomic batch of alias creations and deletions."""

    collection_name: str
    operations: tuple[AliasOperation, ...]
    fields: tuple[str, ...] = ("aliases",)

    def describe(self) -> str:
        """One line for Events and `qco plan`."""
        parts = []
        for op in self.operations:
            if isinstance(op, models.CreateAliasOperation):
                parts.append(f"point {op.create_alias.alias_name} at {op.create_alias.collection_name}")
            else:
                parts.append(f"delete alias {op.delete_alias.alias_name}")
        return "aliases: " + "; ".join(parts)


@dataclass(frozen=True)
class NudgeOptimizers:
    """PATCH /collections/{name} with an empty optimizers block: wakes the optimizers of a grey collection."""

    collection_name: str
    fields: tuple[str, ...] = ()

    def describe(self) -> str:
        """One line for Events and `qco plan`."""
        return f"nudge the optimizers of grey collection {self.collection_name}"


Action = (
    CreateCollection
    | StampOwner
    | UpdateCollection
    | CreateVector
    | DeleteVector
    | CreatePayloadIndex
    | DeletePayloadIndex
    | UpdateAliases
    | NudgeOptimizers
)


@dataclass(frozen=True)
class FieldMismatch:
    """One immutable field whose live value differs from the spec."""

    field: str
    desired: Any
    live: Any

    def describe(self) -> str:
        """`field: spec X, live Y`."""
        return f"{self.field}: spec {self.desired!r}, live {self.live!r}"


@dataclass(frozen=True)
class ImmutableFieldChanged:
    """The live collection differs from the spec in fields Qdrant cannot change in place."""

    collection_name: str
    mismatches: tuple[FieldMismatch, ...]
    reason: str = "ImmutableFieldChanged"

    def message(self) -> str:
        """What differs and the way out."""
        diffs = "; ".join(m.describe() for m in self.mismatches)
        return f"collection {self.collection_name} differs in immutable fields ({diffs}); {_WAY_OUT}"


@dataclass(frozen=True)
class ResourceConflict:
    """Another, older resource owns the collection; this one stands aside (Strimzi's rule)."""

    collection_name: str
    owner: OwnerStamp
    reason: str = "ResourceConflict"

    def message(self) -> str:
        """Who owns the collection."""
        return (
            f"collection {self.collection_name} is managed by {self.owner.kind} "
            f"{self.owner.namespace}/{self.owner.name}; delete one of the two resources"
        )


@dataclass(frozen=True)
class AdoptionRefused:
    """An existing collection qco does not own, and adoptionPolicy says not to take it."""

    collection_name: str
    policy: str
    mismatches: tuple[FieldMismatch, ...] = ()
    reason: str = "AdoptionRefused"

    def message(self) -> str:
        """Why, and what to do."""
        if self.policy == "Never":
            return (
                f"collection {self.collection_name} exists, not managed by qco; adoptionPolicy is Never "
                "(set IfCompatible or Force to adopt it, or choose another collectionName)"
            )
        diffs = "; ".join(m.describe() for m in self.mismatches)
        return (
            f"collection {self.collection_name} exists, is not managed by qco and is incompatible ({diffs}); "
            f"set adoptionPolicy Force to adopt it anyway, or {_WAY_OUT}"
        )


@dataclass(frozen=True)
class AliasConflict:
    """An alias of the spec points at a collection that another resource owns, or that qco does not manage."""

    alias: str
    collection_name: str
    owner: OwnerStamp | None = None
    reason: str = "AliasConflict"

    def message(self) -> str:
        """Who holds the alias."""
        if self.owner is not None:
            return (
                f"alias {self.alias} points at collection {self.collection_name}, managed by "
                f"{self.owner.kind} {self.owner.namespace}/{self.owner.name}; qco will not steal it"
            )
        return (
            f"alias {self.alias} points at collection {self.collection_name}, which qco does not manage; "
            "set adoptionPolicy Force to move it"
        )


@dataclass(frozen=True)
class VectorRemovalRefused:
    """The spec drops vectors from a collection that holds points; without consent nothing is touched."""

    collection_name: str
    vectors: tuple[str, ...]
    points_count: int | None
    reason: str = "VectorRemovalRefused"

    def message(self) -> str:
        """Which vectors, how many points would lose them, and how to consent."""
        points = "an unknown number of" if self.points_count is None else f"{self.points_count}"
        names = ", ".join(self.vectors)
        return (
            f"removing vector(s) {names} from collection {self.collection_name} would delete them from"
            f" {points} points; nothing was changed. If this was a rename or a typo, restore the old"
            " name in the spec; to remove them for real, set vectorRemovalPolicy: Allow"
        )


Blocker = ImmutableFieldChanged | ResourceConflict | AdoptionRefused | AliasConflict | VectorRemovalRefused


@dataclass(frozen=True)
class CollectionPlan:
    """The ordered actions that bring the collection to the spec, and what blocks the rest.

    When `paused`, the actions are what qco *would* do; the reconciler performs none of them.
    """

    collection_name: str
    actions: tuple[Action, ...] = ()
    blockers: tuple[Blocker, ...] = ()
    paused: bool = False
    owned: bool = field(default=False)

    @property
    def empty(self) -> bool:
        """Nothing to do and nothing in the way: Qdrant matches the spec."""
        return not self.actions and not self.blockers

    @property
    def changed_fields(self) -> tuple[str, ...]:
        """Spec fields the actions touch, sorted and unique (for drift reporting)."""
        return tuple(sorted({f for a in self.actions for f in a.fields}))

    def describe(self) -> list[str]:
        """One line per action and blocker, in order."""
        lines = [a.describe() for a in self.actions]
        lines += [f"blocked ({b.reason}): {b.message()}" for b in self.blockers]
        return lines
