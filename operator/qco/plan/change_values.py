"""Old -> new values of a planned PATCH (pure): what log lines, Events and `qco plan` show.

The planner's `UpdateCollection` carries the request body (the new values) and the spec fields it
touches; the old values are read from the live collection the plan was made against, block by
block, with the same placement rules the comparison uses (`compare.live_value`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from pydantic.alias_generators import to_camel
from qdrant_client.http import models

from qco.plan.actions import Action, UpdateCollection
from qco.plan.compare import live_value, plain


@dataclass(frozen=True)
class ValueChange:
    """One field: its spec path, the live value (None: not set) and the value sent."""

    field: str
    old: Any
    new: Any

    def describe(self) -> str:
        """`hnsw.m: 16 -> 32`."""
        return f"{self.field}: {_show(self.old)} -> {_show(self.new)}"

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready mapping (enums and models as plain values)."""
        return {"field": self.field, "old": _plain(self.old), "new": _plain(self.new)}


def value_changes(action: Action, info: models.CollectionInfo | None) -> tuple[ValueChange, ...]:
    """The field-level changes of an update against the collection it was planned from; () for
    actions that are not field updates (they describe themselves)."""
    if not isinstance(action, UpdateCollection) or info is None:
        return ()
    config, request = info.config, action.request
    changes: list[ValueChange] = []
    blocks: tuple[tuple[str, BaseModel | None, Any], ...] = (
        ("hnsw", request.hnsw_config, config.hnsw_config),
        ("optimizers", request.optimizers_config, config.optimizer_config),
        ("", request.params, config.params),
    )
    for prefix, sent, live in blocks:
        changes += _model_changes(prefix, sent, live)
    if request.quantization_config is not None:
        changes.append(ValueChange("quantization", config.quantization_config, request.quantization_config))
    live = config.params.vectors
    by_name = {"": live} if isinstance(live, models.VectorParams) else dict(live or {})
    for name, diff in sorted((request.vectors or {}).items()):
        changes += _model_changes("vectors." + (name or '""'), diff, by_name.get(name))
    live_sparse = config.params.sparse_vectors or {}
    for name, params in sorted((request.sparse_vectors or {}).items()):
        changes += _model_changes(f"sparseVectors.{name}", params, live_sparse.get(name))
    live_meta = config.metadata or {}
    for key, value in sorted((request.metadata or {}).items()):
        changes.append(ValueChange(f"metadata.{key}", live_meta.get(key), value))
    return tuple(changes)


def describe_with_values(action: Action, info: models.CollectionInfo | None) -> str:
    """The action's one-liner, with old -> new values for a field update."""
    changes = value_changes(action, info)
    if not changes:
        return action.describe()
    return f"update collection {action.collection_name}: " + ", ".join(c.describe() for c in changes)


def _model_changes(prefix: str, sent: BaseModel | None, live: BaseModel | None) -> list[ValueChange]:
    if sent is None:
        return []
    out = []
    for name, value in sent:
        if value is None:
            continue
        path = f"{prefix}.{to_camel(name)}" if prefix else to_camel(name)
        old = live_value(live, name)
        if isinstance(value, BaseModel) and not isinstance(old, BaseModel | None):
            old = None
        if isinstance(value, BaseModel):
            out += _model_changes(path, value, old if isinstance(old, BaseModel) else None)
        else:
            out.append(ValueChange(path, old, value))
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", exclude_none=True)
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    return plain(value)


def _show(value: Any) -> str:
    value = _plain(value)
    return "unset" if value is None else str(value)
