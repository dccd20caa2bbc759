"""The per-kind machinery: what every kind's pass and finalizer share.

A kind supplies a `KindReconciler` (its spec model, a reconcile function that observes, plans and
acts and returns a PassOutcome, and a finalize function). This module does the rest the same way
for every kind: spec validation, the one error classifier, status reporting from the pass
snapshot, metrics, the orphan annotation and deletion that waits for Qdrant.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

import kopf
from pydantic import ValidationError

from qco.api.common import GROUP, QcoModel
from qco.clients.errors import INVALID_DELAY, FailureKind, classify
from qco.reconcile.conditions import condition, truncate
from qco.reconcile.context import ConnectionProblem, Context
from qco.reconcile.outcome import PassOutcome, PassResult, failure_outcome, stalled_outcome
from qco.reconcile.snapshot import PassSnapshot
from qco.reconcile.status_report import write_status
from qco.settings import OperatorSettings

PAUSED_ANNOTATION = f"{GROUP}/paused"
REQUESTED_ANNOTATION = f"{GROUP}/reconcile-requested-at"
ORPHAN_ANNOTATION = f"{GROUP}/orphan"

#: Events and log lines carry at most this much of a message (status keeps up to the CRD's bound).
MAX_LOG_MESSAGE = 2000

SpecT = TypeVar("SpecT", bound=QcoModel)
Logger = logging.Logger | logging.LoggerAdapter[logging.Logger] | Any


@dataclass(frozen=True)
class KindReconciler(Generic[SpecT]):
    """What one kind plugs into the machinery."""

    spec_type: type[SpecT]
    reconcile: Callable[[Context, PassSnapshot, SpecT, Logger], Awaitable[PassOutcome]]
    finalize: Callable[[Context, PassSnapshot, SpecT, Logger], Awaitable[None]]
    interval: Callable[[SpecT, OperatorSettings], float]
    #: Annotations whose change wakes the object's loop (besides a new generation).
    wake_annotations: tuple[str, ...] = (REQUESTED_ANNOTATION, PAUSED_ANNOTATION)
    #: Drops the kind's per-object metrics (context, namespace, name) when the object's loop ends.
    forget: Callable[[Context, str, str], None] | None = None


async def reconcile_object(
    ctx: Context, reconciler: KindReconciler[SpecT], snapshot: PassSnapshot, log: Logger
) -> PassResult:
    """One pass for one object: validate, run the kind's reconcile, report. Never raises."""
    started = time.monotonic()
    kind, identity = snapshot.kind.kind, snapshot.identity
    try:
        spec = reconciler.spec_type.model_validate(snapshot.spec)
    except ValidationError as exc:
        await report(ctx, snapshot, stalled_outcome("InvalidSpec", validation_message(exc)), log)
        _count(ctx, kind, "stalled", started)
        return PassResult(ctx.settings.drift_interval_seconds, condition="Stalled", reason="InvalidSpec")
    interval = reconciler.interval(spec, ctx.settings)
    try:
        outcome = await reconciler.reconcile(ctx, snapshot, spec, log)
    except ConnectionProblem as exc:
        await report(ctx, snapshot, stalled_outcome(exc.reason, str(exc)), log)
        _count(ctx, kind, "stalled", started)
        return PassResult(
            interval, retry_after=INVALID_DELAY, condition="Stalled", failed=True, reason=exc.reason
        )
    except Exception as exc:
        failure = classify(exc)
        stalled = failure.kind is FailureKind.INVALID
        outcome = failure_outcome(failure.reason, failure.message, stalled)
        if failure.kind is FailureKind.UNKNOWN:
            log.exception("reconcile of %s %s/%s failed", kind, identity.namespace, identity.name)
        elif not stalled:
            # A retry: WARNING when this failure begins, INFO while it repeats.
            level = logging.INFO if _failing_already(snapshot, outcome) else logging.WARNING
            log.log(
                level, "reconcile of %s %s/%s: %s", kind, identity.namespace, identity.name, failure.message
            )
        await report(ctx, snapshot, outcome, log, failed=True)
        # result "error": a bug or an answer qco does not understand; "retry": Qdrant down or busy.
        unknown = failure.kind is FailureKind.UNKNOWN
        _count(ctx, kind, "stalled" if stalled else "error" if unknown else "retry", started)
        condition = "Stalled" if stalled else "Reconciling"
        return PassResult(
            interval, retry_after=failure.retry_after, condition=condition, failed=True, reason=failure.reason
        )
    await report(ctx, snapshot, outcome, log)
    _count(ctx, kind, "stalled" if outcome.stalled.status == "True" else "ok", started)
    return PassResult(
        interval,
        retry_after=outcome.retry_after,
        condition=outcome.gauge_condition,
        colour=outcome.colour,
        reason=outcome.ready.reason,
    )


async def finalize_object(
    ctx: Context, reconciler: KindReconciler[SpecT], snapshot: PassSnapshot, log: Logger
) -> None:
    """Deletion: the kind's finalize, unless orphaned. Raises kopf.TemporaryError while it must wait."""
    if snapshot.annotation(ORPHAN_ANNOTATION) == "true":
        log.warning("released without touching Qdrant (annotation %s)", ORPHAN_ANNOTATION)
        post_event(
            ctx,
            snapshot.object_ref(),
            "Normal",
            "Orphaned",
            f"released without touching Qdrant ({ORPHAN_ANNOTATION})",
        )
        return
    try:
        spec = reconciler.spec_type.model_validate(snapshot.spec)
    except ValidationError:
        return  # it never managed anything: nothing to clean up
    try:
        await reconciler.finalize(ctx, snapshot, spec, log)
    except Exception as exc:
        if isinstance(exc, ConnectionProblem):
            message, delay = str(exc), INVALID_DELAY
        else:
            failure = classify(exc)
            message, delay = failure.message, failure.retry_after
        if await _may_give_up(ctx, snapshot):
            log.warning("namespace is being deleted and Qdrant stays unreachable; releasing: %s", message)
            post_event(
                ctx,
                snapshot.object_ref(),
                "Warning",
                "ReleasedUnclean",
                f"released without cleaning up Qdrant: {message}",
            )
            return
        hint = f'deletion waits for Qdrant: {message}; set annotation {ORPHAN_ANNOTATION}="true" to release'
        await write_status(ctx, snapshot, failure_outcome("DeletionBlocked", hint, stalled=False))
        raise kopf.TemporaryError(truncate(hint, MAX_LOG_MESSAGE), delay=delay) from None


async def _may_give_up(ctx: Context, snapshot: PassSnapshot) -> bool:
    deleted_at = snapshot.deletion_timestamp
    if not deleted_at:
        return False
    age = (datetime.now(UTC) - datetime.fromisoformat(str(deleted_at).replace("Z", "+00:00"))).total_seconds()
    if age < ctx.settings.namespace_deletion_grace_seconds:
        return False
    try:
        return await ctx.kube.namespace_terminating(snapshot.identity.namespace)
    except Exception:
        return False


async def report(
    ctx: Context, snapshot: PassSnapshot, outcome: PassOutcome, log: Logger, failed: bool = False
) -> None:
    """Write the status, and announce a transition into Stalled or into a failure once: a WARNING
    line and a Warning Event the first time, nothing while the same condition repeats."""
    await write_status(ctx, snapshot, outcome)
    identity = snapshot.identity
    where = f"{snapshot.kind.kind} {identity.namespace}/{identity.name}"
    if outcome.stalled.status == "True":
        if _stalled_already(snapshot, outcome):
            return
        message = truncate(outcome.stalled.message, MAX_LOG_MESSAGE)
        log.warning("%s stalled: %s: %s", where, outcome.stalled.reason, message)
        post_event(ctx, snapshot.object_ref(), "Warning", outcome.stalled.reason, message)
    elif failed and not _failing_already(snapshot, outcome):
        post_event(ctx, snapshot.object_ref(), "Warning", outcome.ready.reason, outcome.ready.message)


def _stalled_already(snapshot: PassSnapshot, outcome: PassOutcome) -> bool:
    was = condition(snapshot.status.get("conditions"), "Stalled") or {}
    return was.get("status") == "True" and was.get("reason") == outcome.stalled.reason


def _failing_already(snapshot: PassSnapshot, outcome: PassOutcome) -> bool:
    was = condition(snapshot.status.get("conditions"), "Ready") or {}
    return was.get("status") == "False" and was.get("reason") == outcome.ready.reason


def announce_change(ctx: Context, snapshot: PassSnapshot, reason: str, description: str, log: Logger) -> None:
    """A change made in Qdrant: one INFO line naming the object, and a Normal Event."""
    identity = snapshot.identity
    message = truncate(description, MAX_LOG_MESSAGE)
    log.info("%s %s/%s: %s", snapshot.kind.kind, identity.namespace, identity.name, message)
    post_event(ctx, snapshot.object_ref(), "Normal", reason, message)


def post_event(ctx: Context, ref: Mapping[str, Any], type_: str, reason: str, message: str) -> None:
    """A Kubernetes Event about the object `ref` (apiVersion, kind, metadata name/namespace/uid)."""
    ctx.events(ref, type_, reason, truncate(message, MAX_LOG_MESSAGE))


def validation_message(exc: ValidationError) -> str:
    """pydantic's errors as `spec.<path>: <what is wrong>`, five at most."""
    parts = []
    for error in exc.errors()[:5]:
        location = ".".join(str(p) for p in error["loc"])
        parts.append(f"spec.{location}: {error['msg']}" if location else f"spec: {error['msg']}")
    return "invalid spec: " + "; ".join(parts)


def _count(ctx: Context, kind: str, result: str, started: float) -> None:
    ctx.metrics.reconciles.labels(kind, result).inc()
    ctx.metrics.reconcile_duration.labels(kind, result).observe(time.monotonic() - started)
