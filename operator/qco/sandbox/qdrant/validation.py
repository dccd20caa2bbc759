"""Checks Qdrant makes before a request reaches its engine, with Qdrant's status codes and texts.

Qdrant refuses a malformed body with 400 `Format error in JSON body: ...` (deserialization)
and an out-of-range value with 422 `Validation error in JSON body: [path: ...]` (its
`validator` rules). The stand-in must refuse the same requests *before* qdrant-edge sees them:
some engine errors (e.g. a vector of size 0) leave an Edge shard unable to take any further
write ("Not recovered from previous error"), and the bad operation is replayed from the WAL.
"""

from __future__ import annotations

from typing import Any, Final

import qdrant_edge as qe
from qdrant_client.http import models

from qco.sandbox.qdrant.errors import ApiError

# Qdrant's limit on a dense vector's dimension (`vectors.size` is validated in 1..=65536).
MAX_VECTOR_SIZE: Final = 65536
_RANGE_KEYS: Final = ("lt", "gt", "gte", "lte")


def format_error(message: str) -> ApiError:
    """400, as Qdrant answers a body it cannot deserialize."""
    return ApiError(400, f"Format error in JSON body: {message}")


def validation_error(*problems: str) -> ApiError:
    """422, as Qdrant answers a body whose values break its validation rules."""
    return ApiError(422, f"Validation error in JSON body: [{', '.join(problems)}]")


def _size_problem(path: str, size: int) -> str | None:
    if 1 <= size <= MAX_VECTOR_SIZE:
        return None
    return f"{path}: value {size} invalid, must be from 1 to {MAX_VECTOR_SIZE}"


def check_create_collection(request: models.CreateCollection) -> None:
    """Vector sizes in range (Qdrant: 422)."""
    vectors = request.vectors
    if isinstance(vectors, models.VectorParams):
        sizes = {"vectors.size": vectors.size}
    else:
        sizes = {f"vectors.{name}.size": params.size for name, params in (vectors or {}).items()}
    problems = [p for path, size in sizes.items() if (p := _size_problem(path, size)) is not None]
    if problems:
        raise validation_error(*problems)


def check_vector_name_config(config: models.VectorNameConfig) -> None:
    """`PUT /collections/{c}/vectors/{v}`: a dense vector's size in range (Qdrant: 422)."""
    if isinstance(config, models.DenseVectorNameConfig):
        problem = _size_problem("dense.size", config.dense.size)
        if problem is not None:
            raise validation_error(problem)


def check_field_path(name: str) -> None:
    """A payload key must be a valid JSON path (`a.b[0].c`); Qdrant refuses others with 400."""
    try:
        qe.UpdateOperation.delete_field_index(name)  # Edge parses the path with Qdrant's parser
    except ValueError as exc:
        raise format_error(f"field_name: {exc}") from exc


def _datetime(value: str) -> str:
    """A datetime string as Qdrant parses it, re-written in RFC 3339 (UTC)."""
    try:
        # Edge's range parses strings with Qdrant's own datetime parser (RFC 3339, offsets
        # without colon, `YYYY-MM-DD HH:MM`, a bare date, ...); it answers in UTC.
        parsed: str | None = qe.RangeDateTime(gte=value).gte
    except ValueError:
        parsed = None
    if parsed is None:
        raise format_error(f"'{value}' is not in a supported date/time format, please use RFC 3339")
    return parsed.replace(" UTC", "Z").replace(" ", "T", 1)


def normalize_datetime_ranges(body: Any) -> Any:
    """Check every datetime in a `range` condition like Qdrant, and rewrite it in RFC 3339.

    qdrant-client's models would accept what Qdrant refuses (e.g. Unix timestamps) and refuse
    what Qdrant accepts (e.g. nanoseconds), so strings are settled before the models see them.
    """
    if isinstance(body, list):
        return [normalize_datetime_ranges(item) for item in body]
    if not isinstance(body, dict):
        return body
    out = {}
    for key, value in body.items():
        if key == "range" and isinstance(value, dict):
            value = {
                k: _datetime(v) if k in _RANGE_KEYS and isinstance(v, str) else v for k, v in value.items()
            }
        out[key] = normalize_datetime_ranges(value)
    return out
