"""An OpenAI-compatible `/embeddings` endpoint (TEI, vLLM, Ollama, OpenAI) for re-embedding.

The API key, when there is one, goes in the Authorization header only: never in logs or errors.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx

from qco.clients.qdrant_points import with_retries


class EmbeddingsError(Exception):
    """The endpoint answered something that is not a list of embeddings for our inputs."""


class EmbeddingsClient:
    """POST {url}/embeddings {model, input: [...]} -> one vector per input, in order."""

    def __init__(self, url: str, model: str, api_key: str | None = None, timeout: float = 60.0) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.model = model
        self._endpoint = url.rstrip("/") + "/embeddings"
        self._http = httpx.AsyncClient(headers=headers, timeout=timeout)

    async def close(self) -> None:
        """Close the HTTP connections."""
        await self._http.aclose()

    async def __aenter__(self) -> EmbeddingsClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """Embeddings of `texts`, retried on 5xx, 429 and network errors."""

        async def call() -> list[list[float]]:
            response = await self._http.post(self._endpoint, json={"model": self.model, "input": list(texts)})
            if response.status_code == 429 or response.status_code >= 500:
                raise httpx.TransportError(f"embeddings endpoint answered {response.status_code}")
            if response.status_code != 200:
                status, text = response.status_code, response.text[:300]
                raise EmbeddingsError(f"embeddings endpoint {self._endpoint} answered {status}: {text}")
            return _vectors(response.json(), len(texts))

        return await with_retries(call)


def _vectors(body: Any, expected: int) -> list[list[float]]:
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, list) or len(data) != expected:
        raise EmbeddingsError(f"expected {expected} embeddings, got {type(data).__name__}")
    ordered = sorted(data, key=lambda item: int(item.get("index", 0)))
    return [[float(x) for x in item["embedding"]] for item in ordered]
