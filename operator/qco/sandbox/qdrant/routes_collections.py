"""Collection, alias, vector-name and payload-index endpoints."""

from __future__ import annotations

import time

import qdrant_edge as qe
from aiohttp import web
from qdrant_client.http import models

from qco.sandbox.qdrant import defaults
from qco.sandbox.qdrant.edge_types import field_schema_in
from qco.sandbox.qdrant.errors import ApiError, collection_not_found, ok
from qco.sandbox.qdrant.http_util import parse_body, registry, wait_flag
from qco.sandbox.qdrant.optimizations import DEFAULT_COMPLETED_LIMIT, parse_with, report
from qco.sandbox.qdrant.validation import (
    check_create_collection,
    check_field_path,
    check_vector_name_config,
    validation_error,
)

C = "/collections/{collection_name}"
_operation_ids = iter(range(1, 1 << 62))


def update_result(request: web.Request) -> models.UpdateResult:
    """The UpdateResult Qdrant answers for a write (completed when ?wait=true)."""
    status = models.UpdateStatus.COMPLETED if wait_flag(request) else models.UpdateStatus.ACKNOWLEDGED
    return models.UpdateResult(operation_id=next(_operation_ids), status=status)


async def root(request: web.Request) -> web.Response:
    """`GET /`: version info (not wrapped in the envelope, as in Qdrant)."""
    return web.json_response(
        {
            "title": "qdrant - vector search engine",
            "version": defaults.QDRANT_VERSION,
            "commit": defaults.QDRANT_COMMIT,
        }
    )


async def healthz(request: web.Request) -> web.Response:
    """`GET /healthz`, `/livez`: plain text, as in Qdrant."""
    return web.Response(text="healthz check passed")


async def readyz(request: web.Request) -> web.Response:
    """`GET /readyz`: plain text, as in Qdrant."""
    return web.Response(text="all shards are ready")


async def list_collections(request: web.Request) -> web.Response:
    started = time.perf_counter()
    names = sorted(registry(request).collections)
    result = models.CollectionsResponse(collections=[models.CollectionDescription(name=n) for n in names])
    return ok(result, started)


async def get_collection(request: web.Request) -> web.Response:
    started = time.perf_counter()
    return ok(registry(request).resolve(request.match_info["collection_name"]).info(), started)


async def create_collection(request: web.Request) -> web.Response:
    started = time.perf_counter()
    body = await parse_body(request, models.CreateCollection)
    check_create_collection(body)
    registry(request).create(request.match_info["collection_name"], body)
    return ok(True, started)


async def update_collection(request: web.Request) -> web.Response:
    started = time.perf_counter()
    body = await parse_body(request, models.UpdateCollection)
    await registry(request).resolve(request.match_info["collection_name"]).patch(body)
    return ok(True, started)


async def delete_collection(request: web.Request) -> web.Response:
    started = time.perf_counter()
    return ok(await registry(request).delete(request.match_info["collection_name"]), started)


async def collection_exists(request: web.Request) -> web.Response:
    started = time.perf_counter()
    exists = registry(request).exists(request.match_info["collection_name"])
    return ok(models.CollectionExistence(exists=exists), started)


async def create_vector(request: web.Request) -> web.Response:
    started = time.perf_counter()
    body = await parse_body(request, models.VectorNameConfig)
    check_vector_name_config(body)
    collection = registry(request).resolve(request.match_info["collection_name"])
    await collection.add_vector(request.match_info["vector_name"], body)
    return ok(update_result(request), started)


async def delete_vector(request: web.Request) -> web.Response:
    started = time.perf_counter()
    collection = registry(request).resolve(request.match_info["collection_name"])
    await collection.delete_vector(request.match_info["vector_name"])
    return ok(update_result(request), started)


async def create_index(request: web.Request) -> web.Response:
    started = time.perf_counter()
    # An unknown or malformed schema is refused by Qdrant's validation: 422.
    body = await parse_body(request, models.CreateFieldIndex, invalid_status=422)
    if body.field_schema is None:
        raise validation_error("field_schema: field_schema is required")
    check_field_path(body.field_name)
    collection = registry(request).resolve(request.match_info["collection_name"])
    schema = field_schema_in(body.field_schema)
    if body.field_name in collection.payload_schema():
        # Qdrant replaces an index re-created with another schema.
        await collection.write(qe.UpdateOperation.delete_field_index(body.field_name))
    await collection.write(qe.UpdateOperation.create_field_index(body.field_name, schema))
    return ok(update_result(request), started)


async def delete_index(request: web.Request) -> web.Response:
    started = time.perf_counter()
    collection = registry(request).resolve(request.match_info["collection_name"])
    check_field_path(request.match_info["field_name"])
    await collection.write(qe.UpdateOperation.delete_field_index(request.match_info["field_name"]))
    return ok(update_result(request), started)


async def change_aliases(request: web.Request) -> web.Response:
    started = time.perf_counter()
    body = await parse_body(request, models.ChangeAliasesOperation)
    registry(request).change_aliases(body.actions)
    return ok(True, started)


async def list_aliases(request: web.Request) -> web.Response:
    started = time.perf_counter()
    return ok(models.CollectionsAliasesResponse(aliases=registry(request).alias_list()), started)


async def collection_aliases(request: web.Request) -> web.Response:
    started = time.perf_counter()
    name = request.match_info["collection_name"]
    if not registry(request).exists(name):
        raise collection_not_found(name)
    return ok(models.CollectionsAliasesResponse(aliases=registry(request).alias_list(name)), started)


async def optimizations(request: web.Request) -> web.Response:
    started = time.perf_counter()
    collection = registry(request).resolve(request.match_info["collection_name"])
    requested = parse_with(request.query.get("with"))
    try:
        limit = int(request.query.get("completed_limit", DEFAULT_COMPLETED_LIMIT))
    except ValueError as exc:
        raise ApiError(400, "Bad request: completed_limit must be a non-negative integer") from exc
    result = report(
        collection.optimizations,
        collection.live_segments(),
        collection.outdated_segments(),
        collection.shard.info().points_count,
        requested,
        max(limit, 0),
    )
    return ok(result, started)


def add_routes(app: web.Application) -> None:
    """Register the service, collection and alias routes (aliases first: fixed paths win)."""
    r = app.router
    r.add_get("/", root)
    r.add_get("/healthz", healthz)
    r.add_get("/livez", healthz)
    r.add_get("/readyz", readyz)
    r.add_post("/collections/aliases", change_aliases)
    r.add_get("/aliases", list_aliases)
    r.add_get("/collections", list_collections)
    r.add_get(C, get_collection)
    r.add_put(C, create_collection)
    r.add_patch(C, update_collection)
    r.add_delete(C, delete_collection)
    r.add_get(C + "/exists", collection_exists)
    r.add_get(C + "/aliases", collection_aliases)
    r.add_get(C + "/optimizations", optimizations)
    r.add_put(C + "/vectors/{vector_name}", create_vector)
    r.add_delete(C + "/vectors/{vector_name}", delete_vector)
    r.add_put(C + "/index", create_index)
    r.add_delete(C + "/index/{field_name}", delete_index)
