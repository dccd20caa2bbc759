"""Translate the Query API (query, prefetch, fusion) to qdrant_edge and results back."""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Callable
from typing import Any

import qdrant_edge as qe
from qdrant_client.http import models

from qco.sandbox.qdrant.edge_types import (
    filter_in,
    id_out,
    point_id,
    search_params_in,
    vector_out,
    with_payload_in,
)
from qco.sandbox.qdrant.errors import bad_request

DEFAULT_RRF_K = 2  # Qdrant's default k for reciprocal rank fusion

# Looks up the stored vector of a point when a query names a point id instead of a vector.
VectorLookup = Callable[[Any, str], Any]


def _nearest(value: Any, using: str | None, lookup: VectorLookup) -> Any:
    name = using or ""
    if isinstance(value, int | str | uuid.UUID):
        value = lookup(point_id(str(value) if isinstance(value, uuid.UUID) else value), name)
    elif isinstance(value, models.SparseVector):
        value = qe.SparseVector(list(value.indices), list(value.values))
    return qe.Query.Nearest(value, using=using)


def _fusion(query: models.FusionQuery) -> Any:
    if query.fusion == models.Fusion.RRF:
        return qe.Fusion.Rrf(k=DEFAULT_RRF_K)
    return qe.Fusion.Dbsf()


def _order_by(query: models.OrderByQuery) -> Any:
    order = query.order_by
    if isinstance(order, str):
        return qe.OrderBy(order)
    direction = None
    if order.direction is not None:
        direction = qe.Direction.Asc if order.direction == models.Direction.ASC else qe.Direction.Desc
    start: Any = order.start_from
    if isinstance(start, datetime.date):
        start = start.isoformat()
    return qe.OrderBy(order.key, direction=direction, start_from=start)


def scoring_query_in(query: Any, using: str | None, lookup: VectorLookup) -> Any:
    """A `query` of the Query API (vector, point id, nearest, fusion, rrf, order_by)."""
    if query is None:
        return None
    if isinstance(query, models.NearestQuery):
        if query.mmr is not None:
            raise bad_request("MMR is not supported by the sandbox")
        return _nearest(query.nearest, using, lookup)
    if isinstance(query, models.FusionQuery):
        return _fusion(query)
    if isinstance(query, models.RrfQuery):
        return qe.Fusion.Rrf(k=query.rrf.k or DEFAULT_RRF_K, weights=query.rrf.weights)
    if isinstance(query, models.OrderByQuery):
        return _order_by(query)
    if isinstance(query, list | models.SparseVector | int | str | uuid.UUID):
        return _nearest(query, using, lookup)
    raise bad_request(f"query `{type(query).__name__}` is not supported by the sandbox")


def prefetch_in(prefetch: Any, lookup: VectorLookup) -> list[Any] | None:
    """Prefetch stages, recursively."""
    if prefetch is None:
        return None
    stages = prefetch if isinstance(prefetch, list) else [prefetch]
    result = []
    for stage in stages:
        if stage.lookup_from is not None:
            raise bad_request("lookup_from is not supported by the sandbox")
        result.append(
            qe.Prefetch(
                limit=stage.limit if stage.limit is not None else 10,
                query=scoring_query_in(stage.query, stage.using, lookup),
                prefetches=prefetch_in(stage.prefetch, lookup),
                params=search_params_in(stage.params),
                filter=filter_in(stage.filter),
                score_threshold=stage.score_threshold,
            )
        )
    return result


def query_request_in(request: models.QueryRequest, lookup: VectorLookup) -> Any:
    """A whole QueryRequest."""
    if request.lookup_from is not None:
        raise bad_request("lookup_from is not supported by the sandbox")
    return qe.QueryRequest(
        limit=request.limit if request.limit is not None else 10,
        offset=request.offset,
        query=scoring_query_in(request.query, request.using, lookup),
        prefetches=prefetch_in(request.prefetch, lookup),
        with_vector=request.with_vector if request.with_vector is not None else False,
        with_payload=with_payload_in(request.with_payload) if request.with_payload is not None else False,
        filter=filter_in(request.filter),
        score_threshold=request.score_threshold,
        params=search_params_in(request.params),
    )


def scored_point_out(point: Any) -> models.ScoredPoint:
    """An Edge ScoredPoint as qdrant-client's ScoredPoint."""
    return models.ScoredPoint(
        id=id_out(point.id),
        version=point.version,
        score=point.score,
        payload=point.payload,
        vector=vector_out(point.vector),
        order_value=point.order_value,
    )


def record_out(record: Any) -> models.Record:
    """An Edge Record as qdrant-client's Record."""
    return models.Record(
        id=id_out(record.id),
        payload=record.payload,
        vector=vector_out(record.vector),
        order_value=record.order_value,
    )
