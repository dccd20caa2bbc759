"""Reconcile one QdrantCollection: observe -> plan -> act, returning the outcome to report.

Level-based and idempotent: every pass reads the world afresh, so it is safe to run at any time
and as often as needed. Validation, errors, status and metrics are the machinery's
(`reconcile.machinery`); this module holds only what is specific to collections.
"""

from __future__ import annotations

from typing import Any

from qdrant_client.http import models

from qco.api.collection import QDRANT_COLLECTION, QdrantCollectionSpec
from qco.api.durations import parse_duration
from qco.clients.qdrant import Endpoint, QdrantGateway
from qco.plan.actions import Action, CollectionPlan
from qco.plan.change_values import describe_with_values
from qco.plan.collection import plan_collection_changes
from qco.plan.inputs import DesiredCollection
from qco.reconcile.access_keys import ROTATE_KEYS_ANNOTATION, with_access_keys
from qco.reconcile.collection_act import perform
from qco.reconcile.collection_finalize import finalize_collection, release_previous_endpoint
from qco.reconcile.collection_intelligence import with_intelligence
from qco.reconcile.collection_observe import observe_collection
from qco.reconcile.collection_report import KEEP, outcome_for_plan
from qco.reconcile.collection_shard_keys import with_shard_keys
from qco.reconcile.context import Context, resolve_endpoint
from qco.reconcile.machinery import (
    PAUSED_ANNOTATION,
    REQUESTED_ANNOTATION,
    KindReconciler,
    Logger,
    announce_change,
)
from qco.reconcile.outcome import PassOutcome
from qco.reconcile.restore import restore_if_absent
from qco.reconcile.snapshot import PassSnapshot
from qco.settings import OperatorSettings

KIND = QDRANT_COLLECTION.kind
OPTIMIZING_POLL_SECONDS = 5.0


async def reconcile_collection(
    ctx: Context, snapshot: PassSnapshot, spec: QdrantCollectionSpec, log: Logger
) -> PassOutcome:
    """One pass for one collection; raises for Qdrant and connection errors (the machinery reports them)."""
    paused = snapshot.annotation(PAUSED_ANNOTATION) == "true"
    desired = DesiredCollection(spec, snapshot.identity, paused)
    endpoint = await resolve_endpoint(ctx, snapshot.identity.namespace, spec.connection)
    moved = _moved_from(snapshot, endpoint)
    if moved is not None and not paused:
        await release_previous_endpoint(ctx, snapshot, spec, moved, log)
    gateway = ctx.qdrant.gateway(endpoint)
    restored = None
    if spec.restore_from is not None and not paused:
        name = spec.collection_name or snapshot.identity.name
        restored = await restore_if_absent(ctx, snapshot, spec.restore_from, name, endpoint, gateway, log)
    observed = await observe_collection(gateway, ctx.kube, desired, log)
    plan = plan_collection_changes(desired, observed)
    applied = await _act(ctx, gateway, plan, snapshot, observed.info, log)
    info = await gateway.get_collection(plan.collection_name) if applied else observed.info
    aliases = await gateway.list_aliases() if (applied or observed.aliases) else {}
    mine = sorted(a for a, c in aliases.items() if c == plan.collection_name)
    drift: tuple[str, ...] = ()
    if applied and _was_synced(snapshot):
        # A change needed although this generation was already in sync means Qdrant drifted.
        drift = plan.changed_fields or tuple(sorted({type(a).__name__ for a in applied}))
        ctx.metrics.drift_corrections.labels(KIND).inc()
    outcome = outcome_for_plan(
        plan, info, bool(applied), mine, drift, _endpoint_field(spec, endpoint, plan, paused, moved)
    )
    if restored is not None:
        outcome = PassOutcome(**{**outcome.__dict__, "extra": (*outcome.extra, restored)})
    if outcome.reconciling.status == "True":
        outcome = PassOutcome(**{**outcome.__dict__, "retry_after": OPTIMIZING_POLL_SECONDS})
    act = plan.owned and not plan.paused and not plan.blockers and info is not None
    outcome = await with_shard_keys(
        ctx, snapshot, spec, endpoint, plan.collection_name, info, outcome, act, log
    )
    outcome = await with_intelligence(ctx, snapshot, spec, endpoint, plan.collection_name, info, outcome, log)
    return await with_access_keys(ctx, snapshot, spec, endpoint, plan.collection_name, outcome, log)


def _moved_from(snapshot: PassSnapshot, endpoint: Endpoint) -> dict[str, Any] | None:
    """The endpoint qco managed the collection on before, when the spec now points elsewhere."""
    previous = snapshot.status.get("endpoint")
    if not isinstance(previous, dict) or not previous.get("url"):
        return None
    return None if _same_url(str(previous["url"]), endpoint.url) else previous


def _same_url(a: str, b: str) -> bool:
    return a.rstrip("/") == b.rstrip("/")


def _endpoint_field(
    spec: QdrantCollectionSpec,
    endpoint: Endpoint,
    plan: CollectionPlan,
    paused: bool,
    moved: dict[str, Any] | None,
) -> Any:
    """`status.endpoint`: where qco manages the collection (and must release it when the URL changes)."""
    if paused:
        return KEEP
    if plan.owned:
        ref = spec.connection.api_key_secret_ref if spec.connection else None
        return {"url": endpoint.url, **({"apiKeySecretRef": ref.to_manifest()} if ref else {})}
    return None if moved is not None else KEEP


async def _act(
    ctx: Context,
    gateway: QdrantGateway,
    plan: CollectionPlan,
    snapshot: PassSnapshot,
    info: models.CollectionInfo | None,
    log: Logger,
) -> list[Action]:
    """Perform the plan; each change is one INFO line and one Normal Event with old -> new values
    (reason `DriftCorrected` when Qdrant drifted from a generation already in sync)."""
    applied: list[Action] = []
    if plan.paused:
        return applied
    drift = _was_synced(snapshot)
    for action in plan.actions:
        await perform(gateway, action)
        applied.append(action)
        reason = "DriftCorrected" if drift else type(action).__name__
        announce_change(ctx, snapshot, reason, describe_with_values(action, info), log)
    return applied


def _was_synced(snapshot: PassSnapshot) -> bool:
    status = snapshot.status
    if status.get("observedGeneration") != snapshot.generation:
        return False
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or ())


def drift_interval(spec: QdrantCollectionSpec, settings: OperatorSettings) -> float:
    """spec.driftInterval, else the operator's default."""
    parsed = parse_duration(spec.drift_interval) if spec.drift_interval else None
    return parsed or settings.drift_interval_seconds


def _forget_metrics(ctx: Context, namespace: str, name: str) -> None:
    """The object's loop ended: its qco_collection_* series (health, memory, search tuning) go."""
    ctx.metrics.collections.forget(namespace, name)


COLLECTION_RECONCILER = KindReconciler(
    spec_type=QdrantCollectionSpec,
    reconcile=reconcile_collection,
    finalize=finalize_collection,
    interval=drift_interval,
    wake_annotations=(REQUESTED_ANNOTATION, PAUSED_ANNOTATION, ROTATE_KEYS_ANNOTATION),
    forget=_forget_metrics,
)
