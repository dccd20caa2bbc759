"""Index rebuilds in a worker process.

Every EdgeShard call holds the GIL, and `optimize()` takes seconds to minutes, so running
it in the server process would freeze the event loop. The worker loads a *copy* of the
shard, optimizes it and exits; the collection swaps the copy in afterwards.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from pathlib import Path

# spawn, not fork: the parent runs an event loop and Rust threads that a fork would copy half-way.
_CONTEXT = multiprocessing.get_context("spawn")


def optimize_shard_dir(shard_dir: str, error_file: str) -> None:
    """Worker entry point: load the shard, optimize until nothing is planned, flush, close."""
    try:
        import qdrant_edge

        shard = qdrant_edge.EdgeShard.load(shard_dir)
        try:
            shard.optimize()
            shard.flush()
        finally:
            shard.close()
    except BaseException as exc:
        Path(error_file).write_text(f"{type(exc).__name__}: {exc}")
        raise SystemExit(1) from exc


async def optimize_in_worker(shard_dir: Path) -> str | None:
    """Optimize the shard at `shard_dir` in a worker process; return an error message or None.

    Cancelling the awaiting task terminates the worker.
    """
    error_file = shard_dir.parent / (shard_dir.name + ".error")
    error_file.unlink(missing_ok=True)
    process = _CONTEXT.Process(target=optimize_shard_dir, args=(str(shard_dir), str(error_file)), daemon=True)
    process.start()
    try:
        # Process.join blocks; a thread keeps the event loop answering requests meanwhile.
        await asyncio.to_thread(process.join)
    except asyncio.CancelledError:
        process.terminate()
        await asyncio.to_thread(process.join, 10)
        raise
    process.join()
    if process.exitcode == 0:
        return None
    message = error_file.read_text() if error_file.exists() else f"optimizer exited with {process.exitcode}"
    error_file.unlink(missing_ok=True)
    return message
