"""Shared helpers of the sandbox contract tests: clients of the stand-in."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from qdrant_client import AsyncQdrantClient, QdrantClient

from tests.plugins.qdrant_server import QdrantServerProcess


@pytest.fixture
def client(qdrant_server: QdrantServerProcess) -> Iterator[QdrantClient]:
    """The unmodified qdrant-client over REST against a fresh server."""
    qdrant = QdrantClient(url=qdrant_server.url, prefer_grpc=False, check_compatibility=False, timeout=60)
    yield qdrant
    qdrant.close()


@pytest.fixture
async def aclient(qdrant_server: QdrantServerProcess) -> AsyncIterator[AsyncQdrantClient]:
    """The unmodified async qdrant-client over REST."""
    qdrant = AsyncQdrantClient(
        url=qdrant_server.url, prefer_grpc=False, check_compatibility=False, timeout=60
    )
    yield qdrant
    await qdrant.close()
