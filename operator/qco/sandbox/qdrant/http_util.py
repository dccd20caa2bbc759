"""Request parsing and the error middleware shared by all route modules."""

from __future__ import annotations

import json
import logging
from typing import Any, TypeVar

import pydantic
from aiohttp import web
from aiohttp.typedefs import Handler

from qco.sandbox.qdrant.errors import ApiError, error_response
from qco.sandbox.qdrant.registry import Registry
from qco.sandbox.qdrant.validation import format_error, normalize_datetime_ranges, validation_error

log = logging.getLogger(__name__)
T = TypeVar("T")

REGISTRY_KEY = web.AppKey("registry", Registry)


def registry(request: web.Request) -> Registry:
    """The server's registry."""
    return request.app[REGISTRY_KEY]


async def parse_body(request: web.Request, model: Any, invalid_status: int = 400) -> Any:
    """Validate the JSON body with a qdrant-client model (class or type).

    A body that is not JSON answers 400; one the model refuses answers `invalid_status`
    (Qdrant answers 422 where its own validation, not deserialization, refuses it).
    """
    try:
        raw = await request.json() if request.can_read_body else {}
    except json.JSONDecodeError as exc:
        raise format_error(str(exc)) from exc
    raw = normalize_datetime_ranges(raw)
    try:
        return pydantic.TypeAdapter(model).validate_python(raw)
    except pydantic.ValidationError as exc:
        if invalid_status == 422:
            raise validation_error(str(exc).replace("\n", " ")) from exc
        raise format_error(str(exc)) from exc


def wait_flag(request: web.Request) -> bool:
    """The `?wait=` query parameter (Qdrant's default is false)."""
    return request.query.get("wait", "false").lower() == "true"


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn ApiError and unexpected exceptions into Qdrant's error envelope."""
    try:
        response: web.StreamResponse = await handler(request)
        return response
    except ApiError as exc:
        return error_response(exc.status, exc.message)
    except web.HTTPException as exc:
        if exc.status >= 400:
            return error_response(exc.status, exc.reason)
        raise
    except ConnectionResetError:
        raise
    except Exception as exc:
        log.exception("unexpected error in %s %s", request.method, request.path)
        return error_response(500, f"Service internal error: {exc}")
