"""Pure planning for a deployment's copy: which vectors to read, how a source point becomes a
target point (with re-embedding), checkpoints, progress, catch-up filters and query overlap."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from qdrant_client.http import models

from qco.api.collection_config import CollectionConfig
from qco.api.deployment import EmbeddingsTransform

Offset = int | str | None


@dataclass(frozen=True)
class CopyPlan:
    """How points move from the source to the new revision."""

    read_vectors: tuple[str, ...]  # source vectors to read (names; "" is the unnamed vector)
    embed: EmbeddingsTransform | None  # fill this vector from a payload text instead
    unnamed: bool  # the target's dense vector is the unnamed one


def plan_copy(
    template: CollectionConfig, source_vectors: Iterable[str], embed: EmbeddingsTransform | None
) -> CopyPlan:
    """Read the template's vectors that the source has, except the one re-embedding fills."""
    wanted = set(template.vectors or {}) | set(template.sparse_vectors or {})
    skip = {embed.vector} if embed is not None else set()
    read = tuple(sorted((wanted & set(source_vectors)) - skip))
    unnamed = set(template.vectors or {}) == {""}
    return CopyPlan(read, embed, unnamed)


def with_vectors_arg(plan: CopyPlan, source_unnamed: bool) -> bool | list[str]:
    """The scroll's `with_vectors`: True for an unnamed source vector, else the names to read."""
    if not plan.read_vectors:
        return False
    if source_unnamed:
        return True
    return list(plan.read_vectors)


def texts_for(records: Sequence[models.Record], embed: EmbeddingsTransform) -> list[str]:
    """The text each point is embedded from ("" when the payload lacks it)."""
    texts = []
    for record in records:
        value = (record.payload or {}).get(embed.input_field)
        texts.append(value if isinstance(value, str) else "" if value is None else json.dumps(value))
    return texts


def target_points(
    records: Sequence[models.Record],
    plan: CopyPlan,
    embeddings: Sequence[Sequence[float]] | None = None,
) -> list[models.PointStruct]:
    """The points to upsert for one scrolled page (same ids and payloads)."""
    points = []
    for index, record in enumerate(records):
        vectors = _vectors_of(record, plan)
        if plan.embed is not None and embeddings is not None:
            vectors[plan.embed.vector] = list(embeddings[index])
        vector: Any = vectors.get("", {}) if plan.unnamed else vectors
        points.append(models.PointStruct(id=record.id, vector=vector, payload=record.payload or {}))
    return points


def _vectors_of(record: models.Record, plan: CopyPlan) -> dict[str, Any]:
    raw = record.vector
    if raw is None:
        return {}
    if isinstance(raw, dict):
        return {name: value for name, value in raw.items() if name in plan.read_vectors}
    return {"": raw} if "" in plan.read_vectors else {}


def encode_offset(offset: Offset) -> str | None:
    """A scroll offset as stored in status (JSON keeps ints and UUID strings apart)."""
    return None if offset is None else json.dumps(offset)


def decode_offset(text: str | None) -> Offset:
    """The stored checkpoint back as a scroll offset; None starts from the beginning."""
    if not text:
        return None
    value = json.loads(text)
    return value if isinstance(value, int | str) else None


def progress_summary(copied: int, total: int) -> str:
    """`copied/total (percent)` for `kubectl get qcd`."""
    percent = 100.0 if total <= 0 else min(100.0, 100.0 * copied / total)
    return f"{copied}/{total} ({percent:.0f}%)"


def eta_seconds(copied: int, total: int, rate: float) -> int | None:
    """Seconds left at `rate` points per second (None when unknown)."""
    if rate <= 0:
        return None
    return max(0, round((total - copied) / rate))


def updated_since_filter(field: str, since: str) -> models.Filter:
    """Points whose timestamp field is at or after `since` (RFC 3339; a numeric field is compared as
    epoch seconds). At-or-after, not after: a point written in the same second is copied again."""
    epoch = datetime.fromisoformat(since.replace("Z", "+00:00")).timestamp()
    return models.Filter(
        should=[
            models.FieldCondition(key=field, range=models.DatetimeRange(gte=since)),
            models.FieldCondition(key=field, range=models.Range(gte=epoch)),
        ]
    )


def overlap(current: Sequence[int | str], new: Sequence[int | str]) -> float:
    """Share of the current revision's ids that the new revision also returned (1.0 when both are empty)."""
    if not current:
        return 1.0 if not new else 0.0
    return len(set(current) & set(new)) / len(set(current))


def query_request(body: Mapping[str, Any], limit: int) -> models.QueryRequest:
    """A Query API request from a validation query's free-form body, with its limit."""
    return models.QueryRequest.model_validate({**dict(body), "limit": limit, "with_payload": False})
