"""Reconcile one CanaryRollout: observe (its status afresh, the alias, the collections, the routing
ConfigMap and its confirmations, QdrantCollections claiming the alias), take due measurements,
plan with `qco.plan.canary`, act (publish the split, switch the alias in one request), report.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

from qdrant_client.http import models

from qco.api.canary import CANARY_ROLLOUT, CanaryRolloutSpec
from qco.api.common import API_VERSION, GROUP, VERSION
from qco.clients.configmaps import ConfigMaps, ConfigMapView
from qco.clients.qdrant import QdrantGateway
from qco.plan.canary import COMMANDS, TERMINAL, Decision, due_measurements, plan_canary, run_limit
from qco.plan.canary_analysis import MEASUREMENT_PHASES, judge_measurement, record
from qco.plan.canary_from import CanarySource, canary_from_revision, deployment_owner
from qco.plan.canary_state import CanaryState, Observed, rfc3339
from qco.reconcile.canary_measure import measure, summarize
from qco.reconcile.conditions import truncate
from qco.reconcile.context import Context, resolve_endpoint
from qco.reconcile.machinery import KindReconciler, Logger, post_event
from qco.reconcile.outcome import (
    PassOutcome,
    progressing_outcome,
    ready_outcome,
    stalled_outcome,
    waiting_outcome,
)
from qco.reconcile.snapshot import PassSnapshot
from qco.rollout_metrics import RolloutReading
from qco.routing.table import ROUTING_KEY, RoutingError, RoutingTable, confirmations
from qco.settings import OperatorSettings

PLURAL = CANARY_ROLLOUT.plural
#: Wait before trying a failed alias switch again.
SWITCH_RETRY_SECONDS = 5.0
#: Poll interval while canaryFrom's revision is not ready for the rollout yet.
CANARY_FROM_WAIT_SECONDS = 2.0
#: Revision phases a canaryFrom rollout may start on.
READY_REVISION_PHASES = frozenset({"AwaitingRollout", "Active", "Inactive"})


async def reconcile_canary(
    ctx: Context, snapshot: PassSnapshot, spec: CanaryRolloutSpec, log: Logger
) -> PassOutcome:
    """One pass; raises for Kubernetes, Qdrant and connection errors (the machinery reports them)."""
    identity = snapshot.identity
    configmaps = ctx.configmaps if ctx.configmaps is not None else ConfigMaps(ctx.kube.api_client)
    # The daemon's body can lag our own last status write; a command acted upon twice would skip
    # two steps, so the state is read afresh.
    live = await configmaps.read_custom_object(GROUP, VERSION, PLURAL, identity.namespace, identity.name)
    state = CanaryState.from_status((live or {}).get("status") or snapshot.status)
    annotations = ((live or {}).get("metadata") or {}).get("annotations") or dict(snapshot.annotations)
    endpoint = await resolve_endpoint(ctx, identity.namespace, spec.connection)
    gateway = ctx.qdrant.gateway(endpoint)
    aliases = await gateway.list_aliases(fresh=True)
    configmap = await configmaps.read(identity.namespace, spec.routing.config_map)
    if configmap is not None and identity.uid not in configmap.owner_uids:
        return stalled_outcome(
            "ConfigMapOwnedElsewhere",
            f"ConfigMap {spec.routing.config_map} exists and is not owned by this rollout; qco will not"
            " overwrite it: delete it or name another in spec.routing.configMap",
        )
    table = _table(configmap)
    state.salt = state.salt or (table.salt if table else secrets.token_urlsafe(9))
    now = time.time()
    for run, metric in due_measurements(spec, state, now):
        value, error = await measure(metric, endpoint, state.stable or "", state.canary or "")
        record(run, metric, judge_measurement(metric, value, error), rfc3339(now), run_limit(run, metric))
    deployments = await _deployments(ctx, identity.namespace, spec, state)
    source = _canary_source(spec, deployments)
    wanted = list(spec.experiment.weights) if spec.experiment else [spec.stable, spec.canary]
    wanted += [aliases.get(spec.alias), state.stable, state.canary, source.collection]
    observed = Observed(
        now=now,
        annotations={k: v for k, v in annotations.items() if k.removeprefix("qco.dev/") in COMMANDS},
        alias_target=aliases.get(spec.alias),
        collections=frozenset([c for c in set(wanted) if c and await gateway.get_collection(c) is not None]),
        weights=dict(table.weights) if table else None,
        generation=table.generation if table else 0,
        confirmations=confirmations(configmap.annotations, table.generation) if configmap and table else 0,
        alias_owner=await _alias_owner(ctx, spec.alias) if state.phase not in TERMINAL else None,
        alias_deployment=deployment_owner(
            deployments, spec.alias, spec.canary_from.collection_deployment if spec.canary_from else None
        ),
        canary_source=source.collection,
        canary_problem=source.problem,
    )
    decision = plan_canary(spec, state, observed)
    if decision.stalled is not None:
        # Waiting for the deployment's revision is no human's job: look again soon.
        reason, message = decision.stalled
        retry = CANARY_FROM_WAIT_SECONDS if reason == "CanaryNotFound" else None
        return stalled_outcome(reason, message, retry_after=retry)
    generation, verified = observed.generation, observed.confirmations
    if decision.publish is not None:
        generation, verified = generation + 1, 0
        published = RoutingTable(spec.alias, generation, state.salt, decision.publish)
        await configmaps.publish(
            identity.namespace,
            spec.routing.config_map,
            ROUTING_KEY,
            published.to_json(),
            _owner(snapshot),
            exists=configmap is not None,
        )
        log.info("published %s generation %d: %s", spec.routing.config_map, generation, decision.publish)
    if decision.switch_alias is not None:
        try:
            await _switch(gateway, spec.alias, decision.switch_alias, observed.alias_target)
        except Exception as exc:
            # The split is already published: keep the state that led here (a failed pass would
            # lose it and start over) and try the switch again on the next pass.
            if decision.switch_alias == state.canary:
                state.phase, state.alias_switched_at = "Promoting", None
            state.message = truncate(f"alias switch failed, retrying: {type(exc).__name__}: {exc}", 1000)
            decision.events = [e for e in decision.events if e[1] not in ("AliasSwitched", "Succeeded")]
            decision.events.append(("Warning", "AliasSwitchFailed", state.message))
            decision.wake_in = SWITCH_RETRY_SECONDS
    summary = None
    if decision.summarize and spec.experiment is not None and spec.experiment.prometheus is not None:
        summary = await summarize(
            spec.experiment.prometheus.address,
            spec.routing.config_map,
            list(spec.experiment.weights),
            spec.experiment.duration,
        )
    for type_, reason, message in decision.events:
        post_event(ctx, snapshot.object_ref(), type_, reason, message)
    weights = decision.publish or observed.weights or {}
    fields: dict[str, Any] = {
        **state.to_status(),
        "routingGeneration": generation or None,
        "weights": {
            "stable": weights.get(state.stable or "", 0 if weights else 100),
            "canary": weights.get(state.canary or "", 0),
            "verified": verified,
        },
    }
    if summary is not None:
        fields["summary"] = summary
    ctx.metrics.rollouts.set(identity.namespace, identity.name, _reading(state, fields["weights"]))
    return _outcome(state, decision, fields)


def _reading(state: CanaryState, weights: dict[str, int]) -> RolloutReading:
    """What this pass reports to the operator's metrics."""
    measurements: dict[tuple[str, str, str], int] = {}
    for run in state.runs:
        for result in MEASUREMENT_PHASES:
            measurements[(run.run, run.metric, result)] = run.counts.get(result, 0)
    return RolloutReading(
        state.phase or "Pending", state.step, weights["canary"], weights["verified"], measurements
    )


def _table(configmap: ConfigMapView | None) -> RoutingTable | None:
    text = configmap.data.get(ROUTING_KEY) if configmap else None
    if text is None:
        return None
    try:
        return RoutingTable.from_json(text)
    except RoutingError:
        return None  # republished from the state


def _owner(snapshot: PassSnapshot) -> dict[str, Any]:
    identity = snapshot.identity
    return {
        "apiVersion": API_VERSION,
        "kind": CANARY_ROLLOUT.kind,
        "name": identity.name,
        "uid": identity.uid,
    }


async def _alias_owner(ctx: Context, alias: str) -> str | None:
    """The QdrantCollection (namespace/name) declaring `alias` in spec.aliases, if any."""
    for item in await ctx.kube.list_custom_objects(GROUP, VERSION, "qdrantcollections", []):
        if alias in ((item.get("spec") or {}).get("aliases") or ()):
            meta = item.get("metadata") or {}
            return f"{meta.get('namespace')}/{meta.get('name')}"
    return None


async def _deployments(
    ctx: Context, namespace: str, spec: CanaryRolloutSpec, state: CanaryState
) -> list[dict[str, Any]]:
    """The namespace's CollectionDeployments, while they matter: before the end, and when one may
    own the alias or (canaryFrom) supply the canary."""
    if state.phase in TERMINAL or spec.experiment is not None:
        return []
    return await ctx.kube.list_custom_objects(GROUP, VERSION, "collectiondeployments", [namespace])


def _canary_source(spec: CanaryRolloutSpec, deployments: list[dict[str, Any]]) -> CanarySource:
    """canaryFrom's collection: a revision ready for the rollout (it waits in AwaitingRollout, or
    already served); a revision still being built is not one yet."""
    if spec.canary_from is None:
        return CanarySource(None)
    name = spec.canary_from.collection_deployment
    found = next((d for d in deployments if (d.get("metadata") or {}).get("name") == name), None)
    if found is None:
        return CanarySource(None, f"CollectionDeployment {name} not found in this namespace")
    revisions = (found.get("status") or {}).get("revisions") or []
    source = canary_from_revision(name, revisions, spec.canary_from.revision)
    phase = next((r.get("phase") for r in revisions if r.get("collection") == source.collection), None)
    # The newest revision only once it waits for a rollout: an active one is no canary.
    ready = READY_REVISION_PHASES if spec.canary_from.revision is not None else {"AwaitingRollout"}
    if source.collection is not None and phase not in ready:
        return CanarySource(None, f"CollectionDeployment {name}'s revision {source.collection} is {phase}")
    return source


async def _switch(gateway: QdrantGateway, alias: str, target: str, current: str | None) -> None:
    """Point `alias` at `target` in one request (delete and create together, atomically in Qdrant)."""
    operations: list[models.AliasOperations] = []
    if current is not None:
        operations.append(models.DeleteAliasOperation(delete_alias=models.DeleteAlias(alias_name=alias)))
    operations.append(
        models.CreateAliasOperation(create_alias=models.CreateAlias(collection_name=target, alias_name=alias))
    )
    await gateway.update_aliases(operations)


def _outcome(state: CanaryState, decision: Decision, fields: dict[str, Any]) -> PassOutcome:
    message = state.message or state.phase or ""
    fresh_run = any(r.phase == "Running" and not r.measurements for r in state.runs)
    wake = 0.5 if fresh_run else decision.wake_in
    kwargs: dict[str, Any] = {"fields": lambda current, now: fields, "retry_after": wake}
    if state.phase == "Succeeded":
        return ready_outcome("Succeeded", message, **kwargs)
    if state.phase in ("Aborted", "Failed"):
        return stalled_outcome(state.phase, message, **kwargs)
    if state.phase == "Paused":
        reason = "AnalysisInconclusive" if message.startswith("AnalysisInconclusive") else "Paused"
        return waiting_outcome(reason, message, **kwargs)
    return progressing_outcome(state.phase or "Progressing", message, **kwargs)


async def finalize_canary(ctx: Context, snapshot: PassSnapshot, spec: CanaryRolloutSpec, log: Logger) -> None:
    """Nothing to undo in Qdrant: the alias stays where the rollout left it; the ConfigMap goes with
    its ownerReference."""
    del spec, log
    ctx.metrics.rollouts.forget(snapshot.identity.namespace, snapshot.identity.name)


def canary_interval(spec: CanaryRolloutSpec, settings: OperatorSettings) -> float:
    """Between timed wakes (the plan's), check at the operator's drift interval."""
    del spec
    return settings.drift_interval_seconds


CANARY_RECONCILER = KindReconciler(
    spec_type=CanaryRolloutSpec,
    reconcile=reconcile_canary,
    finalize=finalize_canary,
    interval=canary_interval,
    wake_annotations=(
        "qco.dev/reconcile-requested-at",
        "qco.dev/paused",
        *(f"qco.dev/{c}" for c in COMMANDS),
    ),
)
