"""Qdrant's response envelopes and the errors handlers raise to produce them."""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from qco.sandbox.qdrant.serialize import to_json


class ApiError(Exception):
    """An error answered with Qdrant's error envelope and an HTTP status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def bad_request(message: str) -> ApiError:
    """400, worded like Qdrant's `Wrong input` errors."""
    return ApiError(400, f"Wrong input: {message}")


def not_found(message: str) -> ApiError:
    """404, worded like Qdrant's `Not found` errors."""
    return ApiError(404, f"Not found: {message}")


def collection_not_found(name: str) -> ApiError:
    """404 for a collection (or alias) that does not exist."""
    return not_found(f"Collection `{name}` doesn't exist!")


def conflict(message: str) -> ApiError:
    """409, used where Qdrant reports a conflict (e.g. the collection already exists)."""
    return ApiError(409, f"Wrong input: {message}")


def ok(result: Any, started: float | None = None, status: int = 200) -> web.Response:
    """Qdrant's success envelope: `{"result": ..., "status": "ok", "time": seconds}`."""
    elapsed = time.perf_counter() - started if started is not None else 0.0
    body = {"result": to_json(result), "status": "ok", "time": elapsed}
    return web.json_response(body, status=status)


def error_response(status: int, message: str) -> web.Response:
    """Qdrant's error envelope: `{"status": {"error": ...}, "time": seconds}`."""
    return web.json_response({"status": {"error": message}, "time": 0.0}, status=status)
