"""Reconcile one QdrantCollection: observe -> plan -> act -> report. Level-based and idempotent:
every pass reads the world afresh, so it is safe to run at any time and as often as needed."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

import kopf
from pydantic import ValidationError
from qdrant_client.http import models

from qco.api.collection import QDRANT_COLLECTION, QdrantCollectionSpec
from qco.api.common import GROUP, VERSION
from qco.clients.errors import INVALID_DELAY, FailureKind, classify
from qco.clients.qdrant import Endpoint, QdrantGateway
from qco.plan.actions import Action, CollectionPlan
from qco.plan.collection import plan_collection_changes
from qco.plan.inputs import DesiredCollection, ResourceIdentity
from qco.plan.ownership import parse_owner_stamp, removed_stamp_metadata
from qco.reconcile.collection_act import perform
from qco.reconcile.collection_observe import observe_collection
from qco.reconcile.collection_report import PassOutcome, build_status, outcome_for_failure, outcome_for_plan
from qco.reconcile.conditions import now_rfc3339
from qco.reconcile.context import ConnectionProblem, Context, resolve_endpoint
from qco.reconcile.durations import parse_duration
from qco.reconcile.status_patch import status_merge_patch

KIND = QDRANT_COLLECTION.kind
PLURAL = QDRANT_COLLECTION.plural
PAUSED_ANNOTATION = f"{GROUP}/paused"
REQUESTED_ANNOTATION = f"{GROUP}/reconcile-requested-at"
ORPHAN_ANNOTATION = f"{GROUP}/orphan"
OPTIMIZING_POLL_SECONDS = 5.0

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PassResult:
    """When the next pass is due: after the drift interval, or sooner after a failure."""

    drift_interval: float
    retry_after: float | None = None
    condition: str = "Reconciling"  # Ready, Reconciling, Stalled or Paused: for the objects gauge
    colour: str | None = None  # what Qdrant last reported, for the collection status gauge
    failed: bool = False  # the pass could not finish: the caller backs off on repeats


async def reconcile_collection(
    ctx: Context, body: Mapping[str, Any], log: logging.Logger | Any
) -> PassResult:
    """One full pass for one object; returns when the next one is due. Never raises for Qdrant errors."""
    started = time.monotonic()
    identity = _identity(body)
    default_interval = ctx.settings.drift_interval_seconds
    try:
        spec = QdrantCollectionSpec.model_validate(body.get("spec") or {})
    except ValidationError as exc:
        await _report(ctx, body, outcome_for_failure("InvalidSpec", _validation_message(exc), stalled=True))
        _count(ctx, "stalled", started)
        return PassResult(default_interval, condition="Stalled")
    interval = parse_duration(spec.drift_interval) or default_interval
    annotations = body.get("metadata", {}).get("annotations") or {}
    desired = DesiredCollection(spec, identity, annotations.get(PAUSED_ANNOTATION) == "true")
    try:
        gateway = ctx.qdrant.gateway(await _endpoint(ctx, identity.namespace, spec))
        observed = await observe_collection(gateway, ctx.kube, desired)
        plan = plan_collection_changes(desired, observed)
        applied = await _act(gateway, plan, body)
        info = await gateway.get_collection(plan.collection_name) if applied else observed.info
        aliases = await gateway.list_aliases() if (applied or observed.aliases) else {}
        mine = sorted(a for a, c in aliases.items() if c == plan.collection_name)
        outcome = outcome_for_plan(plan, info, bool(applied), mine)
        if applied and _was_synced(body):
            outcome = _with_drift(outcome, plan, applied)
            ctx.metrics.drift_corrections.labels(KIND).inc()
            log.info("corrected drift in %s: %s", plan.collection_name, ", ".join(outcome.drift_fields))
    except ConnectionProblem as exc:
        await _report(ctx, body, outcome_for_failure(exc.reason, str(exc), stalled=True))
        _count(ctx, "stalled", started)
        return PassResult(interval, retry_after=INVALID_DELAY, condition="Stalled", failed=True)
    except Exception as exc:
        failure = classify(exc)
        if failure.kind is FailureKind.UNKNOWN:
            log.exception("reconcile of %s/%s failed", identity.namespace, identity.name)
        else:
            log.warning("reconcile of %s/%s: %s", identity.namespace, identity.name, failure.message)
        stalled = failure.kind is FailureKind.INVALID
        await _report(ctx, body, outcome_for_failure(failure.reason, failure.message, stalled))
        _count(ctx, "stalled" if stalled else "retry", started)
        condition = "Stalled" if stalled else "Reconciling"
        return PassResult(interval, retry_after=failure.retry_after, condition=condition, failed=True)
    await _report(ctx, body, outcome)
    result = "stalled" if outcome.stalled.status == "True" else "ok"
    _count(ctx, result, started)
    optimizing = outcome.reconciling.status == "True"
    return PassResult(
        interval,
        retry_after=OPTIMIZING_POLL_SECONDS if optimizing else None,
        condition=_gauge_condition(outcome),
        colour=str(outcome.info.status.value) if outcome.info is not None else "missing",
    )


def _gauge_condition(outcome: PassOutcome) -> str:
    if outcome.stalled.status == "True":
        return "Stalled"
    if outcome.ready.status == "True":
        return "Ready"
    return "Paused" if outcome.ready.reason == "Paused" else "Reconciling"


async def finalize_collection(ctx: Context, body: Mapping[str, Any], log: logging.Logger | Any) -> None:
    """Deletion: Retain drops qco's stamp, Delete deletes the collection; only if qco owns it.

    Raises kopf.TemporaryError while Qdrant cannot be reached, so the finalizer stays and kopf
    retries with backoff. `qco.dev/orphan: "true"` releases it without touching Qdrant.
    """
    identity = _identity(body)
    annotations = body.get("metadata", {}).get("annotations") or {}
    if annotations.get(ORPHAN_ANNOTATION) == "true":
        log.warning("released without touching Qdrant (annotation %s)", ORPHAN_ANNOTATION)
        return
    try:
        spec = QdrantCollectionSpec.model_validate(body.get("spec") or {})
    except ValidationError:
        return  # it never managed anything: nothing to clean up
    name = spec.collection_name or identity.name
    try:
        gateway = ctx.qdrant.gateway(await _endpoint(ctx, identity.namespace, spec))
        info = await gateway.get_collection(name)
        stamp = parse_owner_stamp(info.config.metadata) if info is not None else None
        if info is None or stamp is None or stamp.uid != identity.uid:
            return  # not ours (any more): leave it alone
        if spec.deletion_policy == "Delete":
            await gateway.delete_collection(name)
            _event(body, "Normal", "Deleted", f"deleted collection {name} (deletionPolicy Delete)")
        else:
            await gateway.update_collection(name, _metadata_update(removed_stamp_metadata()))
            _event(
                body, "Normal", "Released", f"left collection {name} in Qdrant without qco's stamp (Retain)"
            )
    except Exception as exc:
        failure = classify(exc) if not isinstance(exc, ConnectionProblem) else None
        message = str(exc) if failure is None else failure.message
        if await _may_give_up(ctx, body):
            log.warning("namespace is being deleted and Qdrant stays unreachable; releasing: %s", message)
            _event(body, "Warning", "ReleasedUnclean", f"released without cleaning up Qdrant: {message}")
            return
        hint = f'deletion waits for Qdrant: {message}; set annotation {ORPHAN_ANNOTATION}="true" to release'
        await _report(ctx, body, outcome_for_failure("DeletionBlocked", hint, stalled=False))
        raise kopf.TemporaryError(hint, delay=failure.retry_after if failure else 30.0) from None


async def _may_give_up(ctx: Context, body: Mapping[str, Any]) -> bool:
    deleted_at = body.get("metadata", {}).get("deletionTimestamp")
    if not deleted_at:
        return False
    age = (datetime.now(UTC) - datetime.fromisoformat(str(deleted_at).replace("Z", "+00:00"))).total_seconds()
    if age < ctx.settings.namespace_deletion_grace_seconds:
        return False
    try:
        return await ctx.kube.namespace_terminating(body["metadata"]["namespace"])
    except Exception:
        return False


async def _endpoint(ctx: Context, namespace: str, spec: QdrantCollectionSpec) -> Endpoint:
    connection = spec.connection
    secret_ref = connection.api_key_secret_ref if connection else None
    return await resolve_endpoint(
        ctx,
        namespace,
        connection.url if connection else None,
        (secret_ref.name, secret_ref.key) if secret_ref else None,
        connection.timeout_seconds if connection else None,
    )


async def _act(gateway: QdrantGateway, plan: CollectionPlan, body: Mapping[str, Any]) -> list[Action]:
    applied: list[Action] = []
    if plan.paused:
        return applied
    for action in plan.actions:
        await perform(gateway, action)
        applied.append(action)
        _event(body, "Normal", type(action).__name__, action.describe())
    return applied


def _with_drift(outcome: PassOutcome, plan: CollectionPlan, applied: list[Action]) -> PassOutcome:
    fields = plan.changed_fields or tuple(sorted({type(a).__name__ for a in applied}))
    return PassOutcome(**{**outcome.__dict__, "drift_fields": fields})


def _was_synced(body: Mapping[str, Any]) -> bool:
    # A change needed although this generation was already in sync means Qdrant drifted.
    status = body.get("status") or {}
    if status.get("observedGeneration") != body.get("metadata", {}).get("generation"):
        return False
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or ())


async def _report(ctx: Context, body: Mapping[str, Any], outcome: PassOutcome) -> None:
    current = body.get("status") or {}
    generation = body.get("metadata", {}).get("generation")
    status = build_status(current, outcome, generation, now_rfc3339())
    patch = status_merge_patch(current, status)
    if patch is None:
        return
    meta = body["metadata"]
    try:
        await ctx.kube.patch_status(GROUP, VERSION, PLURAL, meta["namespace"], meta["name"], patch)
    except Exception as exc:  # the next pass writes it again
        logger.warning("status of %s/%s not written: %s", meta["namespace"], meta["name"], exc)


def _event(body: Mapping[str, Any], type_: str, reason: str, message: str) -> None:
    kopf.event(cast(kopf.Body, body), type=type_, reason=reason, message=message)


def _count(ctx: Context, result: str, started: float) -> None:
    ctx.metrics.reconciles.labels(KIND, result).inc()
    ctx.metrics.reconcile_duration.labels(KIND, result).observe(time.monotonic() - started)


def _identity(body: Mapping[str, Any]) -> ResourceIdentity:
    return ResourceIdentity.from_metadata(body.get("metadata") or {})


def _metadata_update(metadata: dict[str, Any]) -> models.UpdateCollection:
    return models.UpdateCollection(metadata=metadata)


def _validation_message(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors()[:5]:
        location = ".".join(str(p) for p in error["loc"]) or "spec"
        parts.append(f"spec.{location}: {error['msg']}")
    return "invalid spec: " + "; ".join(parts)
