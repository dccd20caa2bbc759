"""The one reconcile loop every kind uses: thin kopf handlers around `reconcile.machinery`.

Per object, a kopf daemon is the only writer: it reconciles, then sleeps until its jittered
interval ends or a watch event wakes it (a new generation or a steering annotation). The
finalizer takes the same per-object lock, so it never acts beside an in-flight pass, and marks
the object so no pass starts after it. Being level-based, the loop never chains work through
status flips, and a no-op pass writes nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Mapping
from typing import Any

import kopf

from qco.api.common import GROUP, VERSION, CrdKind
from qco.handlers.runtime import ObjectSlot, Runtime, Seen
from qco.reconcile.machinery import KindReconciler, finalize_object, reconcile_object
from qco.reconcile.outcome import PassResult
from qco.reconcile.snapshot import PassSnapshot

MAX_RETRY_SECONDS = 600.0  # what a human must fix (Stalled): at least every 10 minutes
MAX_TRANSIENT_RETRY_SECONDS = 30.0  # Qdrant down or busy: notice its return within 30 s


def register_kind(registry: kopf.OperatorRegistry, kind: CrdKind, reconciler: KindReconciler[Any]) -> None:
    """Register the event filter, the daemon and the finalizer of one kind on a registry."""

    async def on_event(body: kopf.Body, memo: kopf.Memo, type: str | None, **_: Any) -> None:
        runtime: Runtime = memo.runtime
        runtime.watch_health.saw(kind.kind, body, type)
        slot = runtime.slots.get(str(body.metadata.uid))
        # Only a running loop is woken (a new one starts with a pass anyway): no per-object
        # state is created here, so deleted objects leave nothing behind.
        if slot is not None and _needs_pass(body, slot.seen, reconciler.wake_annotations):
            slot.wakeup.set()

    async def loop(
        body: kopf.Body, memo: kopf.Memo, stopped: kopf.DaemonStopped, logger: kopf.Logger, **_: Any
    ) -> None:
        runtime: Runtime = memo.runtime
        uid = str(body.metadata.uid)
        slot = runtime.slots.setdefault(uid, ObjectSlot())
        try:
            failures = 0
            while not stopped:
                result = await run_pass(runtime, kind, reconciler, slot, body, logger)
                if result is None:
                    break
                failures = failures + 1 if result.failed else 0
                await _sleep_until_due(slot.wakeup, stopped, next_delay(result, failures))
        finally:
            meta = body.metadata
            release_slot(runtime, kind, uid, slot, reconciler, (meta.namespace or "", meta.name or ""))

    async def on_delete(body: kopf.Body, memo: kopf.Memo, logger: kopf.Logger, **_: Any) -> None:
        await run_finalizer(memo.runtime, kind, reconciler, body, logger)

    plural = kind.plural
    kopf.on.event(GROUP, VERSION, plural, registry=registry, id=f"{plural}-event")(on_event)
    kopf.daemon(GROUP, VERSION, plural, registry=registry, id=f"{plural}-loop", cancellation_timeout=5.0)(
        loop
    )
    kopf.on.delete(GROUP, VERSION, plural, registry=registry, id=f"{plural}-delete")(on_delete)


async def run_pass(
    runtime: Runtime,
    kind: CrdKind,
    reconciler: KindReconciler[Any],
    slot: ObjectSlot,
    body: Mapping[str, Any],
    logger: Any,
) -> PassResult | None:
    """One pass under the object's lock, from a snapshot of `body`; None once deletion has begun."""
    async with slot.lock:
        if slot.finalizing:
            return None
        slot.wakeup.clear()
        snapshot = PassSnapshot.take(kind, body)
        slot.seen = _seen(snapshot.generation, snapshot.annotations, reconciler.wake_annotations)
        result = await reconcile_object(runtime.ctx, reconciler, snapshot, logger)
        identity = snapshot.identity
        runtime.ctx.metrics.states.set(
            kind.kind,
            identity.uid,
            result.condition,
            result.colour,
            namespace=identity.namespace,
            name=identity.name,
            reason=result.reason,
        )
        return result


async def run_finalizer(
    runtime: Runtime, kind: CrdKind, reconciler: KindReconciler[Any], body: Mapping[str, Any], logger: Any
) -> None:
    """Finalize under the object's lock: waits for an in-flight pass; no pass starts after this."""
    uid = str((body.get("metadata") or {}).get("uid"))
    slot = runtime.slots.get(uid) or ObjectSlot()
    async with slot.lock:
        slot.finalizing = True
        slot.wakeup.set()
        await finalize_object(runtime.ctx, reconciler, PassSnapshot.take(kind, body), logger)


def release_slot(
    runtime: Runtime,
    kind: CrdKind,
    uid: str,
    slot: ObjectSlot,
    reconciler: KindReconciler[Any] | None = None,
    object_name: tuple[str, str] = ("", ""),
) -> None:
    """The loop has ended: its slot and its gauges go, exactly once, after its last `set`.

    Every way out of the loop (deletion, operator shutdown, a crash) passes here, and no pass
    runs after it, so this is where the kind's per-object series (`reconciler.forget`, by
    `object_name` = namespace, name) are dropped too: a finalizer is skipped when someone removes
    it by hand, the loop's end is not.
    """
    if runtime.slots.get(uid) is slot:
        del runtime.slots[uid]
    runtime.ctx.metrics.states.forget(kind.kind, uid)
    if reconciler is not None and reconciler.forget is not None and object_name[1]:
        reconciler.forget(runtime.ctx, *object_name)


def _seen(generation: object, annotations: Any, wake_annotations: tuple[str, ...]) -> Seen:
    """What a pass works from: the generation and the annotations that steer it."""
    return generation, {key: annotations.get(key) for key in wake_annotations}


def _needs_pass(body: kopf.Body, seen: Seen | None, wake_annotations: tuple[str, ...]) -> bool:
    # Wake the loop only for what a user changed since the last pass began: our own status
    # patches and kopf's finalizer patch change neither the generation nor these annotations.
    if seen is None:
        return True
    return _seen(body.metadata.get("generation"), body.metadata.annotations, wake_annotations) != seen


def next_delay(result: PassResult, failures: int) -> float:
    """Seconds until the next pass: backoff after failures, else the jittered interval."""
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
