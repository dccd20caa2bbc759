"""Reconcile one CollectionDeployment: pick the revision the alias should serve, move its rollout
on, prune history, and report. Validation, errors, status and metrics are the machinery's.

The deployment orchestrates; each revision is a child QdrantCollection that the collection
machinery creates, keeps in sync and deletes (as a Deployment owns ReplicaSets).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

from qco.api.deployment import COLLECTION_DEPLOYMENT, CollectionDeploymentSpec
from qco.clients.embeddings import EmbeddingsClient
from qco.clients.kube import SecretError
from qco.clients.kube_objects import KubeObjects
from qco.clients.qdrant import Endpoint
from qco.clients.qdrant_points import PointsClient
from qco.plan.deployment import (
    ROLLBACK_ANNOTATION,
    choose_target,
    new_record,
    revision_hash,
    revisions_to_prune,
)
from qco.reconcile.conditions import ConditionUpdate, now_rfc3339
from qco.reconcile.context import ConnectionProblem, Context, resolve_endpoint, url_allowed
from qco.reconcile.deployment_fill import Filler, SourceMissing
from qco.reconcile.deployment_finalize import finalize_deployment
from qco.reconcile.deployment_rollout import CHILDREN, Rollout
from qco.reconcile.deployment_rotation import reconcile_rotation
from qco.reconcile.deployment_state import DeploymentState
from qco.reconcile.machinery import (
    PAUSED_ANNOTATION,
    REQUESTED_ANNOTATION,
    KindReconciler,
    Logger,
    post_event,
)
from qco.reconcile.outcome import PassOutcome, stalled_outcome, waiting_outcome
from qco.reconcile.snapshot import PassSnapshot
from qco.settings import OperatorSettings

PAUSED = ConditionUpdate(
    "Paused", "True", "PausedBySpec", "spec.paused or qco.dev/paused: qco changes nothing"
)
#: A deployment with nothing to do is checked this often (its children watch their own drift).
STEADY_INTERVAL = 30.0


def _kube_objects(ctx: Context) -> KubeObjects:
    return KubeObjects(ctx.kube.api_client)


@dataclass(frozen=True)
class DeploymentClients:
    """How a pass reaches Kubernetes objects, Qdrant points and an embeddings endpoint; tests
    hand in fakes."""

    objects: Callable[[Context], KubeObjects] = _kube_objects
    points: Callable[[Endpoint], PointsClient] = PointsClient
    embeddings: Callable[[str, str, str | None], EmbeddingsClient] = EmbeddingsClient


async def reconcile_deployment(
    ctx: Context,
    snapshot: PassSnapshot,
    spec: CollectionDeploymentSpec,
    log: Logger,
    clients: DeploymentClients = DeploymentClients(),
) -> PassOutcome:
    """One pass; raises for Qdrant, Kubernetes and connection errors (the machinery reports them)."""
    objects = clients.objects(ctx)
    identity = snapshot.identity
    live = await objects.get(COLLECTION_DEPLOYMENT.plural, identity.namespace, identity.name)
    status: Mapping[str, Any] = snapshot.status
    if live is not None and (live.get("status") or {}) != dict(snapshot.status):
        status = live.get("status") or {}  # our last status write has not reached this pass's copy yet
    state = DeploymentState.from_status(status)
    if spec.paused or snapshot.annotation(PAUSED_ANNOTATION) == "true":
        return waiting_outcome(
            "Paused", "paused: qco changes nothing", extra=(PAUSED,), fields=_fields(state)
        )
    check_embeddings_url(spec, ctx.settings)  # first: a refused endpoint begins no revision
    if spec.rotation is not None:
        endpoint = await resolve_endpoint(ctx, identity.namespace, spec.connection)
        gateway = ctx.qdrant.gateway(endpoint)
        outcome = await reconcile_rotation(ctx, snapshot, spec, status, objects, gateway, log)
        return PassOutcome(**{**outcome.__dict__, "drop": ("Paused",)})
    spec_hash = revision_hash(snapshot.spec)
    target = choose_target(spec_hash, state.records, snapshot.annotation(ROLLBACK_ANNOTATION), state.rollback)
    if target.problem is not None:
        return stalled_outcome("InvalidRollback", target.problem, drop=("Paused",), fields=_fields(state))
    if target.rollback is not None:
        if (state.rollback or {}).get("revision") != target.rollback:
            state.rollback = {"revision": target.rollback, "specHash": spec_hash}
    elif state.rollback is not None:
        state.rollback = None  # the spec changed: the spec's revision is served again
        if snapshot.annotation(ROLLBACK_ANNOTATION) is not None:
            patch = {"metadata": {"annotations": {ROLLBACK_ANNOTATION: None}}}
            await objects.patch(COLLECTION_DEPLOYMENT.plural, identity.namespace, identity.name, patch)

    record = state.record(target.hash)
    if record is None:
        record = new_record(spec, identity.name, target.hash, state.records, state.active(), now_rfc3339())
        state.replace(record)
        post_event(
            ctx,
            snapshot.object_ref(),
            "Normal",
            "NewRevision",
            f"revision {record.number}: {record.collection}",
        )
    state.revision = record.number

    endpoint = await resolve_endpoint(ctx, identity.namespace, spec.connection)
    gateway = ctx.qdrant.gateway(endpoint)
    async with AsyncExitStack() as stack:
        target_points = await stack.enter_async_context(clients.points(endpoint))
        source_points = target_points
        source = spec.source.collection if spec.source is not None else None
        if source is not None and source.connection is not None:
            source_endpoint = await resolve_endpoint(ctx, identity.namespace, source.connection)
            source_points = await stack.enter_async_context(clients.points(source_endpoint))
        embedder = await _embedder(ctx, identity.namespace, spec, clients)
        if embedder is not None:
            await stack.enter_async_context(embedder)
        filler = Filler(spec, state, target_points, source_points, embedder, ctx.metrics.deployments)
        rollout = Rollout(ctx, snapshot, spec, state, record, gateway, objects, filler, log, endpoint.url)
        try:
            outcome = await rollout.advance()
        except SourceMissing as exc:
            outcome = stalled_outcome("SourceNotFound", str(exc))
    if outcome.ready.status == "True":
        await _prune_history(ctx, snapshot, spec, state, objects, {target.hash, spec_hash})
        outcome = PassOutcome(**{**outcome.__dict__, "retry_after": None})
    return PassOutcome(**{**outcome.__dict__, "drop": ("Paused",), "fields": _fields(state)})


def _fields(state: DeploymentState) -> Any:
    """The kind's status fields as the reporter wants them: a function of (current, now)."""
    fields = state.fields()
    return lambda current, now: fields


async def _embedder(
    ctx: Context, namespace: str, spec: CollectionDeploymentSpec, clients: DeploymentClients
) -> EmbeddingsClient | None:
    embed = spec.transform.embeddings if spec.transform else None
    if embed is None:
        return None
    api_key = None
    if embed.api_key_secret_ref is not None:
        ref = embed.api_key_secret_ref
        try:
            api_key = await ctx.kube.secret_value(namespace, ref.name, ref.key)
        except SecretError as exc:
            raise ConnectionProblem(exc.reason, f"transform.embeddings.apiKeySecretRef: {exc}") from None
    return clients.embeddings(embed.url, embed.model, api_key)


def check_embeddings_url(spec: CollectionDeploymentSpec, settings: OperatorSettings) -> None:
    """Refuse `spec.transform.embeddings.url` off QCO_ALLOWED_EMBEDDINGS_URLS (ConnectionNotAllowed).

    Called before the apiKeySecretRef is read or any request sent: otherwise anyone who may create a
    CollectionDeployment could have qco send a namespace's labelled Secret to a server they run.
    """
    embed = spec.transform.embeddings if spec.transform else None
    if embed is not None and not url_allowed(embed.url, settings.allowed_embeddings_urls):
        raise ConnectionProblem(
            "ConnectionNotAllowed",
            f"spec.transform.embeddings.url {embed.url} is not allowed by the operator"
            " (QCO_ALLOWED_EMBEDDINGS_URLS, chart value config.allowedEmbeddingsUrls); use an allowed"
            " embeddings endpoint or ask the operator's administrator to allow this one",
        )


async def _prune_history(
    ctx: Context,
    snapshot: PassSnapshot,
    spec: CollectionDeploymentSpec,
    state: DeploymentState,
    objects: KubeObjects,
    keep: set[str],
) -> None:
    """Delete revisions beyond revisionHistoryLimit through their children (which delete only the
    collections they own); never the active revision or the spec's."""
    active = state.active()
    if active is not None:
        keep = keep | {active.hash}
    for old in revisions_to_prune(state.records, keep, spec.revision_history_limit):
        await objects.delete(CHILDREN, snapshot.identity.namespace, old.child)
        state.records = [r for r in state.records if r.hash != old.hash]
        post_event(
            ctx,
            snapshot.object_ref(),
            "Normal",
            "PruneRevision",
            f"revision {old.number} ({old.collection}) deleted",
        )


def deployment_interval(spec: CollectionDeploymentSpec, settings: OperatorSettings) -> float:
    """How often a settled deployment is checked."""
    del spec
    return min(STEADY_INTERVAL, settings.drift_interval_seconds)


def deployment_reconciler(
    clients: DeploymentClients = DeploymentClients(),
) -> KindReconciler[CollectionDeploymentSpec]:
    """CollectionDeployment's reconciler on these clients."""

    async def reconcile(
        ctx: Context, snapshot: PassSnapshot, spec: CollectionDeploymentSpec, log: Logger
    ) -> PassOutcome:
        return await reconcile_deployment(ctx, snapshot, spec, log, clients)

    async def finalize(
        ctx: Context, snapshot: PassSnapshot, spec: CollectionDeploymentSpec, log: Logger
    ) -> None:
        await finalize_deployment(ctx, snapshot, spec, log, clients.objects(ctx))

    return KindReconciler(
        spec_type=CollectionDeploymentSpec,
        reconcile=reconcile,
        finalize=finalize,
        interval=deployment_interval,
        wake_annotations=(REQUESTED_ANNOTATION, PAUSED_ANNOTATION, ROLLBACK_ANNOTATION),
    )


DEPLOYMENT_RECONCILER = deployment_reconciler()
