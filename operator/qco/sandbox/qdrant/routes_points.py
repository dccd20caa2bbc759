"""Point endpoints: upsert, delete, retrieve, scroll, count, query, payload."""

from __future__ import annotations

import time
from typing import Any

import qdrant_edge as qe
from aiohttp import web
from qdrant_client.http import models

from qco.sandbox.qdrant.collection import Collection
from qco.sandbox.qdrant.edge_types import filter_in, point_id, vector_in, with_payload_in
from qco.sandbox.qdrant.errors import bad_request, ok
from qco.sandbox.qdrant.http_util import parse_body, registry
from qco.sandbox.qdrant.query_translation import query_request_in, record_out, scored_point_out
from qco.sandbox.qdrant.routes_collections import C, update_result
from qco.sandbox.qdrant.shard_keys import all_shards, shard_for


def _collection(request: web.Request) -> Collection:
    return registry(request).resolve(request.match_info["collection_name"])


def _points_in(body: models.PointInsertOperations) -> list[Any]:
    if isinstance(body, models.PointsList):
        return [qe.Point(point_id(p.id), vector_in(p.vector), p.payload) for p in body.points]
    batch = body.batch
    ids = batch.ids
    payloads: list[Any] = list(batch.payloads) if batch.payloads else [None] * len(ids)
    vectors: list[Any]
    if isinstance(batch.vectors, dict):
        vectors = [{name: values[i] for name, values in batch.vectors.items()} for i in range(len(ids))]
    else:
        vectors = list(batch.vectors)
    return [qe.Point(point_id(i), vector_in(v), p) for i, v, p in zip(ids, vectors, payloads, strict=True)]


async def upsert_points(request: web.Request) -> web.Response:
    started = time.perf_counter()
    body = await parse_body(request, models.PointInsertOperations)
    collection = _collection(request)
    operation = qe.UpdateOperation.upsert_points(_points_in(body))
    if body.shard_key is not None:  # custom sharding: the key's own shard
        async with collection.lock:
            shard_for(collection, body.shard_key).update(operation)
        return ok(update_result(request), started)
    await collection.write(operation)
    collection.maybe_schedule_indexing()
    return ok(update_result(request), started)


async def delete_points(request: web.Request) -> web.Response:
    started = time.perf_counter()
    body = await parse_body(request, models.PointsSelector)
    if isinstance(body, models.PointIdsList):
        operation = qe.UpdateOperation.delete_points([point_id(i) for i in body.points])
    else:
        operation = qe.UpdateOperation.delete_points_by_filter(filter_in(body.filter))
    await _collection(request).write(operation)
    return ok(update_result(request), started)


async def _payload_write(request: web.Request, overwrite: bool) -> web.Response:
    started = time.perf_counter()
    body = await parse_body(request, models.SetPayload)
    if body.points is not None:
        ids = [point_id(i) for i in body.points]
        fn = qe.UpdateOperation.overwrite_payload if overwrite else qe.UpdateOperation.set_payload
        operation = fn(ids, body.payload, key=body.key)
    elif body.filter is not None:
        by_filter = (
            qe.UpdateOperation.overwrite_payload_by_filter
            if overwrite
            else qe.UpdateOperation.set_payload_by_filter
        )
        operation = by_filter(filter_in(body.filter), body.payload, key=body.key)
    else:
        raise bad_request("Either list of point ids or filter must be provided")
    await _collection(request).write(operation)
    return ok(update_result(request), started)


async def set_payload(request: web.Request) -> web.Response:
    """`POST .../points/payload`: merge the given keys into the payload."""
    return await _payload_write(request, overwrite=False)


async def overwrite_payload(request: web.Request) -> web.Response:
    """`PUT .../points/payload`: replace the whole payload."""
    return await _payload_write(request, overwrite=True)


async def retrieve_points(request: web.Request) -> web.Response:
    started = time.perf_counter()
    body = await parse_body(request, models.PointRequest)
    records = _collection(request).shard.retrieve(
        [point_id(i) for i in body.ids],
        with_payload=with_payload_in(body.with_payload) if body.with_payload is not None else True,
        with_vector=body.with_vector if body.with_vector is not None else False,
    )
    return ok([record_out(r) for r in records], started)


async def get_point(request: web.Request) -> web.Response:
    started = time.perf_counter()
    raw = request.match_info["id"]
    pid = point_id(int(raw) if raw.isdigit() else raw)
    records = _collection(request).shard.retrieve([pid], with_payload=True, with_vector=True)
    if not records:
        raise web.HTTPNotFound(reason=f"Not found: No point with id {raw} found")
    return ok(record_out(records[0]), started)


async def scroll_points(request: web.Request) -> web.Response:
    started = time.perf_counter()
    body = await parse_body(request, models.ScrollRequest)
    order_by = None
    if body.order_by is not None:
        from qco.sandbox.qdrant.query_translation import scoring_query_in

        order_by = scoring_query_in(models.OrderByQuery(order_by=body.order_by), None, lambda p, n: None)
    collection = _collection(request)
    records, next_offset = shard_for(collection, body.shard_key).scroll(
        qe.ScrollRequest(
            offset=point_id(body.offset) if body.offset is not None else None,
            limit=body.limit if body.limit is not None else 10,
            filter=filter_in(body.filter),
            with_payload=with_payload_in(body.with_payload) if body.with_payload is not None else True,
            with_vector=body.with_vector if body.with_vector is not None else False,
            order_by=order_by,
        )
    )
    result = models.ScrollResult(
        points=[record_out(r) for r in records],
        next_page_offset=str(next_offset)
        if next_offset is not None and not isinstance(next_offset, int)
        else next_offset,
    )
    return ok(result, started)


async def count_points(request: web.Request) -> web.Response:
    started = time.perf_counter()
    body = await parse_body(request, models.CountRequest)
    exact = True if body.exact is None else body.exact
    collection = _collection(request)
    shards = [shard_for(collection, body.shard_key)] if body.shard_key is not None else all_shards(collection)
    count = sum(s.count(qe.CountRequest(exact=exact, filter=filter_in(body.filter))) for s in shards)
    return ok(models.CountResult(count=count), started)


async def query_points(request: web.Request) -> web.Response:
    started = time.perf_counter()
    body = await parse_body(request, models.QueryRequest)
    collection = _collection(request)
    shards = [shard_for(collection, body.shard_key)] if body.shard_key is not None else all_shards(collection)
    try:
        edge_request = query_request_in(body, collection.vector_of)
        points = [p for shard in shards for p in shard.query(edge_request)]
        if len(shards) > 1:  # merged across key shards: best scores first
            points = sorted(points, key=lambda p: -p.score)[: body.limit if body.limit is not None else 10]
    except ValueError as exc:
        raise bad_request(str(exc)) from exc
    except Exception as exc:
        if type(exc) is Exception:  # the engine reports bad input as a bare Exception
            raise bad_request(str(exc)) from exc
        raise
    return ok(models.QueryResponse(points=[scored_point_out(p) for p in points]), started)


def add_routes(app: web.Application) -> None:
    """Register the point routes."""
    r = app.router
    r.add_put(C + "/points", upsert_points)
    r.add_post(C + "/points", retrieve_points)
    r.add_post(C + "/points/delete", delete_points)
    r.add_post(C + "/points/payload", set_payload)
    r.add_put(C + "/points/payload", overwrite_payload)
    r.add_post(C + "/points/scroll", scroll_points)
    r.add_post(C + "/points/count", count_points)
    r.add_post(C + "/points/query", query_points)
    r.add_get(C + "/points/{id}", get_point)
