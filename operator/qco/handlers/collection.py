"""kopf handlers for QdrantCollection: thin; each turns an event into a call of the reconciler.

One daemon per object is the only writer: it reconciles, then sleeps until its jittered
drift interval ends or a watch event wakes it (spec change, annotation, pause). Being
level-based, it never chains work through status flips, and a no-op pass writes nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from typing import Any

import kopf

from qco.api.common import GROUP, VERSION
from qco.handlers.runtime import Runtime
from qco.reconcile.collection import (
    KIND,
    PAUSED_ANNOTATION,
    PLURAL,
    REQUESTED_ANNOTATION,
    PassResult,
    finalize_collection,
    reconcile_collection,
)

WAKE_ANNOTATIONS = (REQUESTED_ANNOTATION, PAUSED_ANNOTATION)
MAX_RETRY_SECONDS = 600.0  # what a human must fix (Stalled): at least every 10 minutes
MAX_TRANSIENT_RETRY_SECONDS = 30.0  # Qdrant down or busy: notice its return within 30 s


def register(registry: kopf.OperatorRegistry) -> None:
    """Register the QdrantCollection handlers on a registry."""

    @kopf.on.event(GROUP, VERSION, PLURAL, registry=registry)
    async def collection_event(body: kopf.Body, memo: kopf.Memo, **_: Any) -> None:
        runtime: Runtime = memo.runtime
        uid = str(body.metadata.uid)
        if _needs_pass(body, runtime.seen.get(uid)):
            runtime.wakeup(uid).set()

    @kopf.daemon(GROUP, VERSION, PLURAL, registry=registry, cancellation_timeout=5.0)
    async def collection_loop(
        body: kopf.Body, memo: kopf.Memo, stopped: kopf.DaemonStopped, logger: kopf.Logger, **_: Any
    ) -> None:
        runtime: Runtime = memo.runtime
        uid = str(body.metadata.uid)
        wakeup = runtime.wakeup(uid)
        try:
            failures = 0
            while not stopped:
                wakeup.clear()
                runtime.seen[uid] = _seen(body)
                result = await reconcile_collection(runtime.ctx, body, logger)
                runtime.ctx.metrics.states.set(KIND, uid, result.condition, result.colour)
                failures = failures + 1 if result.failed else 0
                await _sleep_until_due(wakeup, stopped, _next_delay(result, failures))
        finally:
            runtime.wakeups.pop(uid, None)
            runtime.seen.pop(uid, None)

    @kopf.on.delete(GROUP, VERSION, PLURAL, registry=registry)
    async def collection_delete(body: kopf.Body, memo: kopf.Memo, logger: kopf.Logger, **_: Any) -> None:
        runtime: Runtime = memo.runtime
        await finalize_collection(runtime.ctx, body, logger)
        runtime.ctx.metrics.states.forget(KIND, str(body.metadata.uid))


def _seen(body: kopf.Body) -> tuple[object, dict[str, str | None]]:
    """What a pass works from: the generation and the annotations that steer it."""
    annotations = body.metadata.annotations
    return body.metadata.get("generation"), {key: annotations.get(key) for key in WAKE_ANNOTATIONS}


def _needs_pass(body: kopf.Body, seen: tuple[object, dict[str, str | None]] | None) -> bool:
    # Wake the loop only for what a user changed since the last pass began: our own status
    # patches and kopf's finalizer patch change neither the generation nor these annotations.
    if seen is None:
        return True
    return _seen(body) != seen


def _next_delay(result: PassResult, failures: int) -> float:
    if result.retry_after is not None:
        # Repeated failures back off exponentially (no retry storm against a broken Qdrant),
        # but never stop: a stalled object recovers on its own once the world is fixed.
        cap = MAX_RETRY_SECONDS if result.condition == "Stalled" else MAX_TRANSIENT_RETRY_SECONDS
        return min(result.retry_after * 2.0 ** max(0, failures - 1), max(cap, result.retry_after))
    # Jitter spreads the drift checks of many objects so they do not hit Qdrant in bursts.
    return result.drift_interval * random.uniform(0.9, 1.1)


async def _sleep_until_due(wakeup: asyncio.Event, stopped: kopf.DaemonStopped, delay: float) -> None:
    waiter = asyncio.ensure_future(wakeup.wait())
    stopper = asyncio.ensure_future(stopped.wait())
    try:
        await asyncio.wait({waiter, stopper}, timeout=delay, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (waiter, stopper):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
