"""Shared helpers of the sandbox contract tests: clients of the stand-in, the OpenAPI guard."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from qdrant_client import AsyncQdrantClient, QdrantClient

from tests.plugins.qdrant_server import QdrantServerProcess
from tests.sandbox_qdrant.openapi_contract import Contract, recorded


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


@pytest.fixture(scope="session")
def openapi_contract() -> Contract:
    """Qdrant's OpenAPI document, ready to validate responses."""
    return Contract()


@pytest.fixture
def qdrant_server_factory(
    qdrant_server_factory: Callable[..., QdrantServerProcess],
    openapi_contract: Contract,
    tmp_path: Path,
) -> Iterator[Callable[..., QdrantServerProcess]]:
    """The plugin's factory, with every response recorded and checked against Qdrant's OpenAPI.

    A test whose server sent a response that does not match Qdrant's schema errors at teardown.
    """
    record_files: list[Path] = []

    def start(**kwargs: Any) -> QdrantServerProcess:
        record_file = tmp_path / f"responses-{len(record_files)}.jsonl"
        record_files.append(record_file)
        return qdrant_server_factory(record_file=record_file, **kwargs)

    yield start
    problems = [p for f in record_files for entry in recorded(f) for p in openapi_contract.problems(entry)]
    if problems:
        pytest.fail("responses differ from Qdrant's OpenAPI document:\n" + "\n".join(problems[:30]))
