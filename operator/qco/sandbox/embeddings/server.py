"""The HTTP side: `POST /v1/embeddings` and `GET /v1/models` in OpenAI's shapes."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from qco.sandbox.embeddings.model import DIMENSIONS, MODEL_NAME, embed

#: Inputs per request, as OpenAI limits them.
MAX_INPUTS = 2048


def _error(status: int, message: str) -> web.Response:
    body = {"error": {"message": message, "type": "invalid_request_error", "code": None}}
    return web.json_response(body, status=status)


async def embeddings(request: web.Request) -> web.Response:
    """OpenAI's embeddings call: {model, input: str | [str]} -> {data: [{embedding, index}], ...}."""
    api_key = request.app["api_key"]
    if api_key and request.headers.get("Authorization") != f"Bearer {api_key}":
        return _error(401, "invalid API key")
    try:
        body: Any = await request.json()
    except ValueError:
        return _error(400, "the body must be JSON")
    inputs = body.get("input") if isinstance(body, dict) else None
    if isinstance(inputs, str):
        inputs = [inputs]
    if not isinstance(inputs, list) or not all(isinstance(text, str) for text in inputs):
        return _error(400, "input must be a string or a list of strings")
    if len(inputs) > MAX_INPUTS:
        return _error(400, f"at most {MAX_INPUTS} inputs per request")
    vectors = await asyncio.to_thread(embed, inputs)
    tokens = sum(len(text.split()) for text in inputs)
    return web.json_response(
        {
            "object": "list",
            "data": [{"object": "embedding", "index": i, "embedding": v} for i, v in enumerate(vectors)],
            "model": str(body.get("model") or MODEL_NAME),
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }
    )


async def models(_: web.Request) -> web.Response:
    """The one model served."""
    return web.json_response(
        {"object": "list", "data": [{"id": MODEL_NAME, "object": "model", "owned_by": "qco-sandbox"}]}
    )


def build_app(api_key: str | None = None) -> web.Application:
    """The aiohttp application."""
    app = web.Application()
    app["api_key"] = api_key
    app["dimensions"] = DIMENSIONS
    app.router.add_post("/v1/embeddings", embeddings)
    app.router.add_get("/v1/models", models)
    return app
