"""The copy engine: a streaming scroll -> (re-embed) -> upsert pipeline with bounded memory.

One producer scrolls pages in order; up to `concurrency` pages are re-embedded and upserted in
parallel; at most `concurrency` pages are held at once, whatever the collection's size. The
checkpoint is the offset after the last page of the longest run of finished pages, so a copy
resumed from it (after a deadline, a failure or an operator restart) skips nothing; pages after
it may be written twice, which an upsert by point id makes harmless.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass

from qdrant_client.http import models

from qco.clients.embeddings import EmbeddingsClient
from qco.clients.qdrant_points import Offset, PointsClient
from qco.plan.deployment_copy import CopyPlan, target_points, texts_for


@dataclass(frozen=True)
class CopyRequest:
    """What one slice copies, from where to where."""

    source: PointsClient
    source_collection: str
    target: PointsClient
    target_collection: str
    plan: CopyPlan
    with_vectors: bool | list[str]
    batch_size: int = 256
    concurrency: int = 4
    scroll_filter: models.Filter | None = None
    embedder: EmbeddingsClient | None = None


@dataclass(frozen=True)
class SliceResult:
    """Where a slice stopped."""

    copied: int  # points written by this slice whose page is behind the checkpoint
    checkpoint: Offset  # resume here
    done: bool  # the scroll reached the end
    seconds: float


@dataclass
class _Committed:
    """The run of finished pages from the slice's start."""

    offset: Offset
    next_index: int = 0
    copied: int = 0
    end_reached: bool = False


@dataclass
class _Page:
    index: int
    records: list[models.Record]
    next_offset: Offset


async def copy_slice(request: CopyRequest, start: Offset, deadline: float) -> SliceResult:
    """Copy from `start` until the source ends or `deadline` (time.monotonic()) passes."""
    started = time.monotonic()
    queue: asyncio.Queue[_Page | None] = asyncio.Queue(maxsize=request.concurrency)
    finished: dict[int, _Page] = {}
    state = _Committed(offset=start)

    def commit(page: _Page) -> None:
        finished[page.index] = page
        while state.next_index in finished:
            done = finished.pop(state.next_index)
            state.offset = done.next_offset
            state.copied += len(done.records)
            state.next_index += 1

    async def produce() -> None:
        offset, index = start, 0
        try:
            while time.monotonic() < deadline:
                records, next_offset = await request.source.scroll(
                    request.source_collection,
                    offset,
                    request.batch_size,
                    request.with_vectors,
                    request.scroll_filter,
                )
                await queue.put(_Page(index, records, next_offset))
                index += 1
                if next_offset is None:
                    state.end_reached = True
                    return
                offset = next_offset
        finally:
            for _ in range(request.concurrency):
                await queue.put(None)

    async def consume() -> None:
        while (page := await queue.get()) is not None:
            await _write_page(request, page)
            commit(page)

    workers = [asyncio.create_task(consume()) for _ in range(request.concurrency)]
    producer = asyncio.create_task(produce())
    try:
        await asyncio.gather(producer, *workers)
    except BaseException:
        for task in (producer, *workers):
            task.cancel()
        for task in (producer, *workers):
            with contextlib.suppress(BaseException):
                await task
        raise
    done = state.end_reached and not finished
    return SliceResult(
        copied=state.copied,
        checkpoint=None if done else state.offset,
        done=done,
        seconds=time.monotonic() - started,
    )


async def _write_page(request: CopyRequest, page: _Page) -> None:
    if not page.records:
        return
    embeddings = None
    if request.plan.embed is not None and request.embedder is not None:
        embeddings = await embed_all(
            request.embedder, texts_for(page.records, request.plan.embed), request.plan
        )
    points = target_points(page.records, request.plan, embeddings)
    await request.target.upsert(request.target_collection, points)


async def embed_all(embedder: EmbeddingsClient, texts: list[str], plan: CopyPlan) -> list[list[float]]:
    """Embeddings of `texts` in batches of the transform's batch size, `concurrency` at a time."""
    assert plan.embed is not None
    size, limit = plan.embed.batch_size, asyncio.Semaphore(plan.embed.concurrency)

    async def batch(chunk: list[str]) -> list[list[float]]:
        async with limit:
            return await embedder.embed(chunk)

    chunks = [texts[i : i + size] for i in range(0, len(texts), size)]
    results = await asyncio.gather(*(batch(chunk) for chunk in chunks))
    return [vector for result in results for vector in result]
