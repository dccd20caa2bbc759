"""Qdrant's JSON shapes for responses: unset optional fields are left out, not sent as `null`.

Qdrant's structs mark most `Option` fields `skip_serializing_if = "Option::is_none"`; the few
that are sent as `null` are listed in `SENDS_NULL` (in Qdrant's OpenAPI document they are the
output properties with `"default": null`, plus the point and scroll fields below). qdrant-client's
models are generated from the same document, so a model's class name is its schema name.
"""

from __future__ import annotations

from typing import Any, Final

from pydantic import BaseModel, RootModel
from pydantic_core import to_jsonable_python

SENDS_NULL: Final[frozenset[tuple[str, str]]] = frozenset(
    {
        ("ScrollResult", "next_page_offset"),
        ("Record", "payload"),
        ("Record", "vector"),
        ("ScoredPoint", "payload"),
        ("ScoredPoint", "vector"),
        ("CollectionInfo", "indexed_vectors_count"),
        ("CollectionInfo", "points_count"),
        ("CollectionConfig", "quantization_config"),
        ("OptimizersConfig", "max_segment_size"),
        ("OptimizersConfig", "memmap_threshold"),
        ("OptimizersConfig", "max_optimization_threads"),
        ("SnapshotDescription", "creation_time"),
    }
)


def to_json(value: Any) -> Any:
    """A result (qdrant-client models, lists, dicts, scalars) as Qdrant would serialize it."""
    if isinstance(value, RootModel):
        return to_json(value.root)
    if isinstance(value, BaseModel):
        schema = type(value).__name__
        out: dict[str, Any] = {}
        for name, field in type(value).model_fields.items():
            item = getattr(value, name)
            if item is None and (schema, name) not in SENDS_NULL:
                continue
            out[field.alias or name] = to_json(item)
        return out
    if isinstance(value, list | tuple):
        return [to_json(item) for item in value]
    if isinstance(value, dict):
        return {str(to_jsonable_python(key)): to_json(item) for key, item in value.items()}
    return to_jsonable_python(value)
