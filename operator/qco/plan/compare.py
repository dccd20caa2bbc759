"""Tolerant comparison of spec blocks with Qdrant's live representation.

Qdrant reports values differently from how they were sent: enums as strings, on_disk as
`memory: cold`, always_ram as `memory: pinned`, absent optional values as null meaning "the
default", floats that went through f32. Every comparison here treats those as equal, so that
a collection that matches its spec yields an empty plan (no flapping).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from enum import Enum
from typing import Any, TypeVar

from pydantic import BaseModel
from qdrant_client.http import models

from qco.api.collection_config import QuantizationSpec

M = TypeVar("M", bound=BaseModel)

#: What a null in Qdrant's answer means, per field name (Qdrant's documented defaults).
_NULL_MEANS: Mapping[str, Any] = {
    "datatype": "float32",
    "on_disk": False,
    "always_ram": False,
    "modifier": "none",
    "sharding_method": "auto",
    "shard_number": 1,
    "on_disk_payload": True,
    "lowercase": True,
    "lookup": True,
    "range": True,
    "is_tenant": False,
    "is_principal": False,
    "tokenizer": "word",
    "wal_capacity_mb": 32,
    "wal_segments_ahead": 0,
}


def plain(value: Any) -> Any:
    """An enum's value, else the value itself."""
    return value.value if isinstance(value, Enum) else value


def same(desired: Any, live: Any, name: str = "") -> bool:
    """Whether a spec value equals Qdrant's (null means the field's default; numbers compared loosely)."""
    desired, live = plain(desired), plain(live)
    if live is None:
        live = _NULL_MEANS.get(name)
    if _number(desired) and _number(live):
        # Qdrant stores some floats as f32: 0.99 comes back as 0.9900000095367432.
        return math.isclose(float(desired), float(live), rel_tol=1e-6, abs_tol=1e-9)
    return bool(desired == live)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def live_value(live: BaseModel | None, name: str) -> Any:
    """A field of a live Qdrant model, translating the newer `memory` placement to the flag asked for."""
    if live is None:
        return None
    value = getattr(live, name, None)
    memory = plain(getattr(live, "memory", None))
    if name == "on_disk":
        return memory == "cold" if memory is not None else bool(value)
    if name == "always_ram":
        return memory == "pinned" if memory is not None else bool(value)
    return value


def changed_fields(desired: M, live: BaseModel | None) -> list[str]:
    """Names of the fields set in `desired` (a Qdrant diff model) whose live value differs."""
    return [
        name for name, value in desired if value is not None and not same(value, live_value(live, name), name)
    ]


def only(model: M, names: list[str]) -> M:
    """A copy of `model` keeping only `names` (the other fields left unset)."""
    return type(model).model_validate({n: getattr(model, n) for n in names})


def same_quantization(spec: QuantizationSpec, live: Any) -> bool:
    """Whether the live quantization (a QuantizationConfig or None) satisfies the spec's."""
    if spec.disabled:
        return live is None or live == models.Disabled.DISABLED
    if spec.scalar is not None:
        if not isinstance(live, models.ScalarQuantization):
            return False
        return _sub_same(spec.scalar.model_dump(exclude_none=True), live.scalar)
    if spec.product is not None:
        if not isinstance(live, models.ProductQuantization):
            return False
        return _sub_same(spec.product.model_dump(exclude_none=True), live.product)
    if spec.binary is not None:
        if not isinstance(live, models.BinaryQuantization):
            return False
        return _sub_same(spec.binary.model_dump(exclude_none=True), live.binary)
    return True


def _sub_same(desired: Mapping[str, Any], live: BaseModel) -> bool:
    # Sub-fields the spec leaves out are not managed: Qdrant may report anything for them.
    return all(same(value, live_value(live, name), name) for name, value in desired.items())
