"""Scoped access keys of a QdrantCollection: observe the Secrets, plan, mint with PyJWT, write.

Runs at the end of a collection's pass (`with_access_keys`). A token is signed with the API key of
the endpoint the collection lives on; it goes only into Secrets qco created for this object (owner
reference, so Kubernetes deletes them with it). Tokens never reach logs, Events or status.
"""

from __future__ import annotations

import uuid
import warnings
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import jwt

from qco.api.collection import QdrantCollectionSpec
from qco.api.common import API_VERSION, GROUP
from qco.api.durations import parse_duration
from qco.clients.kube_secrets import KubeSecrets, SecretMeta, SecretWriteRefused
from qco.clients.qdrant import Endpoint
from qco.plan.access_keys import AccessKeyPlan, KeyState, Mint, ObservedSecret, plan_access_keys
from qco.reconcile.context import Context
from qco.reconcile.machinery import Logger, post_event
from qco.reconcile.outcome import PassOutcome, StatusFields, stalled_outcome
from qco.reconcile.snapshot import PassSnapshot

ROTATE_KEYS_ANNOTATION = f"{GROUP}/rotate-keys"
KEY_LABEL = f"{GROUP}/access-key"
COLLECTION_LABEL = f"{GROUP}/collection"
EXPIRES_ANNOTATION = f"{GROUP}/expires-at"
ISSUED_ANNOTATION = f"{GROUP}/issued-at"
CLAIMS_ANNOTATION = f"{GROUP}/claims-sha256"
#: Wake a little after a rotation is due, so the pass finds it due (timers are not exact).
WAKE_MARGIN_SECONDS = 0.5


async def with_access_keys(
    ctx: Context,
    snapshot: PassSnapshot,
    spec: QdrantCollectionSpec,
    endpoint: Endpoint,
    collection: str,
    outcome: PassOutcome,
    log: Logger,
) -> PassOutcome:
    """The collection's outcome with its access keys issued: Stalled when they cannot be, the
    status.accessKeys field, and a wake-up no later than the next rotation."""
    keys = spec.access_keys or []
    previous = _previous(snapshot.status)
    if (not keys and not previous) or outcome.stalled.status == "True" or outcome.ready.reason == "Paused":
        return outcome
    if keys and not ctx.settings.access_keys_enabled:
        return _stalled(
            outcome,
            "AccessKeysDisabled",
            "spec.accessKeys needs the operator setting QCO_ACCESS_KEYS_ENABLED=true (chart value"
            " accessKeys.enabled, which grants qco Secret writes); ask the operator's administrator,"
            " or remove spec.accessKeys",
        )
    if keys and not endpoint.api_key:
        return _stalled(
            outcome,
            "NoSigningKey",
            "access keys are signed with the Qdrant API key, and this endpoint has none: set"
            " spec.connection.apiKeySecretRef (or the operator's QCO_QDRANT_API_KEY_FILE)",
        )
    secrets = ctx.secrets if ctx.secrets is not None else KubeSecrets(ctx.kube.api_client)
    namespace = snapshot.identity.namespace
    names = {k.secret_name for k in keys} | {str(e.get("secretName")) for e in previous.values()}
    metas = {name: await secrets.read_meta(namespace, name) for name in sorted(names)}
    observed = {name: _observed(meta, snapshot.identity.uid) for name, meta in metas.items()}
    now = datetime.now(UTC).replace(microsecond=0)
    rotation = snapshot.annotation(ROTATE_KEYS_ANNOTATION)
    aliases = spec.aliases or []
    plan = plan_access_keys(keys, collection, aliases, endpoint.url, observed, previous, rotation, now)
    try:
        for mint in plan.mints:
            body = _secret_body(snapshot, mint, collection, endpoint, rotation)
            meta = metas.get(mint.key.secret_name)
            await _write(secrets, namespace, body, meta, mint, snapshot, ctx, log)
        for name in plan.stale:
            stale = metas[name]
            await secrets.delete(namespace, name, stale.resource_version if stale else None)
            post_event(ctx, snapshot.object_ref(), "Normal", "AccessKeyRemoved", f"deleted Secret {name}")
    except SecretWriteRefused as exc:
        return _stalled(outcome, exc.reason, str(exc), plan)
    if plan.conflicts:
        names_text = ", ".join(plan.conflicts)
        return _stalled(
            outcome,
            "SecretConflict",
            f"Secret {names_text} exists and was not created by qco for this object; qco never"
            " overwrites it: delete it or choose another accessKeys[].secretName",
            plan,
        )
    return _with_keys(outcome, plan, _wake_after(plan, spec, ctx, now))


async def _write(
    secrets: KubeSecrets,
    namespace: str,
    body: dict[str, Any],
    meta: SecretMeta | None,
    mint: Mint,
    snapshot: PassSnapshot,
    ctx: Context,
    log: Logger,
) -> None:
    if meta is None:
        await secrets.create(namespace, body)
    else:
        body["metadata"]["resourceVersion"] = meta.resource_version
        await secrets.replace(namespace, body)
    key = mint.key
    granted = ", ".join(a["collection"] for a in mint.access)
    message = (
        f"minted token for access key {key.name} ({key.access} on {granted}) into Secret"
        f" {key.secret_name}, expires {_rfc3339(mint.expires_at)} ({mint.reason})"
    )
    log.info("%s/%s: %s", namespace, snapshot.identity.name, message)
    post_event(ctx, snapshot.object_ref(), "Normal", "AccessKeyIssued", message)


def mint_token(mint: Mint, signing_key: str) -> str:
    """The JWT for `mint`: HS256 with the Qdrant API key, as Qdrant verifies it."""
    with warnings.catch_warnings():
        # Qdrant's API key is what it is; a short one weakens tokens (docs/access-keys.md says so).
        warnings.simplefilter("ignore", jwt.warnings.InsecureKeyLengthWarning)
        # A random jti: HS256 is deterministic, so a rotation within the same second as the last
        # mint (same exp, same claims) would otherwise hand out the very same token again.
        return jwt.encode({**mint.claims(), "jti": uuid.uuid4().hex}, signing_key, algorithm="HS256")


def _secret_body(
    snapshot: PassSnapshot, mint: Mint, collection: str, endpoint: Endpoint, rotation: str | None
) -> dict[str, Any]:
    identity = snapshot.identity
    assert endpoint.api_key is not None  # checked before planning
    annotations = {
        EXPIRES_ANNOTATION: _rfc3339(mint.expires_at),
        ISSUED_ANNOTATION: _rfc3339(mint.issued_at),
        CLAIMS_ANNOTATION: mint.fingerprint,
    }
    if rotation is not None:
        annotations[ROTATE_KEYS_ANNOTATION] = rotation
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": {
            "name": mint.key.secret_name,
            "namespace": identity.namespace,
            "labels": {
                "app.kubernetes.io/managed-by": "qco",
                KEY_LABEL: mint.key.name,
                COLLECTION_LABEL: identity.name,
            },
            "annotations": annotations,
            "ownerReferences": [
                {
                    "apiVersion": API_VERSION,
                    "kind": identity.kind,
                    "name": identity.name,
                    "uid": identity.uid,
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "stringData": {
            "token": mint_token(mint, endpoint.api_key),
            "url": endpoint.url,
            "collection": collection,
            "expiresAt": _rfc3339(mint.expires_at),
        },
    }


def _observed(meta: SecretMeta | None, uid: str) -> ObservedSecret | None:
    if meta is None:
        return None
    if uid not in meta.owner_uids:
        return ObservedSecret(owned=False)
    notes = meta.annotations
    return ObservedSecret(
        owned=True,
        expires_at=_parse_time(notes.get(EXPIRES_ANNOTATION)),
        fingerprint=notes.get(CLAIMS_ANNOTATION),
        rotation=notes.get(ROTATE_KEYS_ANNOTATION),
        issued_at=_parse_time(notes.get(ISSUED_ANNOTATION)),
    )


def _previous(status: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    entries = status.get("accessKeys") or []
    return {str(e["name"]): e for e in entries if isinstance(e, Mapping) and e.get("name")}


def _wake_after(plan: AccessKeyPlan, spec: QdrantCollectionSpec, ctx: Context, now: datetime) -> float | None:
    """Seconds until the next rotation when it comes before the (jittered) drift check."""
    until = plan.seconds_until_next(now)
    if until is None:
        return None
    interval = (parse_duration(spec.drift_interval) if spec.drift_interval else None) or (
        ctx.settings.drift_interval_seconds
    )
    return until + WAKE_MARGIN_SECONDS if until < interval * 1.1 else None


def _status_entries(keys: list[KeyState]) -> list[dict[str, Any]] | None:
    entries = []
    for state in keys:
        entry: dict[str, Any] = {"name": state.name, "secretName": state.secret_name, "access": state.access}
        if state.expires_at is not None:
            entry["expiresAt"] = _rfc3339(state.expires_at)
        if state.last_rotation is not None:
            entry["lastRotation"] = _rfc3339(state.last_rotation)
        entries.append(entry)
    return entries or None


def _merged_fields(base: StatusFields | None, entries: list[dict[str, Any]] | None) -> StatusFields:
    def fields(current: Mapping[str, Any], now: str) -> Mapping[str, Any]:
        return {**(base(current, now) if base is not None else {}), "accessKeys": entries}

    return fields


def _with_keys(outcome: PassOutcome, plan: AccessKeyPlan, wake: float | None) -> PassOutcome:
    retry = outcome.retry_after
    if wake is not None:
        retry = wake if retry is None else min(retry, wake)
    fields = _merged_fields(outcome.fields, _status_entries(plan.keys))
    return PassOutcome(**{**outcome.__dict__, "fields": fields, "retry_after": retry})


def _stalled(
    outcome: PassOutcome, reason: str, message: str, plan: AccessKeyPlan | None = None
) -> PassOutcome:
    fields = outcome.fields if plan is None else _merged_fields(outcome.fields, _status_entries(plan.keys))
    return stalled_outcome(
        reason, message, extra=outcome.extra, drop=outcome.drop, fields=fields, colour=outcome.colour
    )


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
