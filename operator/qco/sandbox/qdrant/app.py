"""The aiohttp application: middlewares (admin, errors, API key) and all routes."""

from __future__ import annotations

import hmac
from pathlib import Path

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from qco.sandbox.qdrant import jwt_auth, routes_collections, routes_points, routes_snapshots, shard_keys
from qco.sandbox.qdrant.admin import ADMIN_PREFIX, AdminState, add_admin_routes, admin_middleware
from qco.sandbox.qdrant.errors import error_response, ok
from qco.sandbox.qdrant.http_util import REGISTRY_KEY, error_middleware
from qco.sandbox.qdrant.registry import Registry

# Qdrant answers these without an API key (probes must work without secrets).
_PUBLIC_PATHS = frozenset({"/", "/healthz", "/livez", "/readyz"})
# Qdrant's default `service.max_request_size_mb`.
MAX_REQUEST_SIZE = 32 * 1024 * 1024
ADMIN_KEY = web.AppKey("admin", AdminState)


def api_key_middleware(api_key: str | None) -> Middleware:
    """Require `api-key: KEY` (or `Authorization: Bearer KEY`) when a key is configured."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if api_key is None or request.path in _PUBLIC_PATHS or request.path.startswith(ADMIN_PREFIX):
            response: web.StreamResponse = await handler(request)
            return response
        given = request.headers.get("api-key")
        authorization = request.headers.get("Authorization", "")
        if given is None and authorization.lower().startswith("bearer "):
            given = authorization[7:].strip()
        if given is None:
            return error_response(403, "Must provide an API key or an Authorization bearer token")
        if not hmac.compare_digest(given.encode(), api_key.encode()):
            return await jwt_auth.check_token(request, handler, given, api_key)
        response = await handler(request)
        return response

    return middleware


def build_app(
    registry: Registry, api_key: str | None = None, record_file: Path | None = None
) -> web.Application:
    """Build the application serving `registry`; `record_file` records every answer (tests)."""
    admin = AdminState(record_file=record_file)
    app = web.Application(
        client_max_size=MAX_REQUEST_SIZE,
        middlewares=[admin_middleware(admin), error_middleware, api_key_middleware(api_key)],
    )
    app[REGISTRY_KEY] = registry
    app[ADMIN_KEY] = admin
    add_admin_routes(app, admin)

    async def set_optimizers(request: web.Request) -> web.Response:
        # Paused optimizers leave outdated segments alone, so tests can observe `grey`.
        body = await request.json()
        registry.optimizers_paused = bool(body.get("paused", False))
        return ok({"paused": registry.optimizers_paused})

    app.router.add_put(ADMIN_PREFIX + "optimizers", set_optimizers)
    routes_collections.add_routes(app)
    routes_snapshots.add_routes(app)
    routes_points.add_routes(app)
    shard_keys.add_routes(app)
    return app
