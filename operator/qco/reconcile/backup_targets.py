"""What a BackupSchedule run works on: its QdrantCollections (by name or label) with their Qdrant
endpoints, and its bucket (credentials from Secrets labelled qco.dev/credentials)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from qco.api.backup import BackupScheduleSpec, S3Destination
from qco.api.collection import QDRANT_COLLECTION
from qco.api.common import GROUP, VERSION, ConnectionSpec
from qco.clients.kube import SecretError
from qco.clients.qdrant import Endpoint
from qco.clients.s3 import S3Location, S3Store
from qco.reconcile.context import ConnectionProblem, Context, resolve_endpoint


@dataclass(frozen=True)
class Target:
    """One collection to back up: its QdrantCollection name, Qdrant name and endpoint."""

    name: str
    collection: str
    endpoint: Endpoint | None
    error: str | None = None  # why it cannot be backed up (missing object, bad connection)


async def resolve_targets(ctx: Context, namespace: str, spec: BackupScheduleSpec) -> list[Target]:
    """The QdrantCollections the schedule names or selects, in name order."""
    items = await ctx.kube.list_custom_objects(GROUP, VERSION, QDRANT_COLLECTION.plural, [namespace])
    by_name = {str(item["metadata"]["name"]): item for item in items}
    choice = spec.collections
    if choice.names is not None:
        wanted = sorted(set(choice.names))
    else:
        labels = choice.selector.match_labels if choice.selector else {}
        wanted = sorted(
            name
            for name, item in by_name.items()
            if all((item["metadata"].get("labels") or {}).get(k) == v for k, v in labels.items())
        )
    targets = []
    for name in wanted:
        item = by_name.get(name)
        if item is None:
            targets.append(Target(name, name, None, f"QdrantCollection {namespace}/{name} not found"))
            continue
        targets.append(await _target(ctx, namespace, name, item, spec.connection))
    return targets


async def node_targets(
    ctx: Context, namespace: str, spec: BackupScheduleSpec, names: list[str]
) -> dict[str, Target]:
    """Where earlier runs' snapshots of these QdrantCollections live (destination.qdrant retention),
    whether or not the schedule still selects them: the schedule's connection, else the
    QdrantCollection's own. A QdrantCollection that is gone, without a schedule connection, leaves
    its Qdrant unknown (an error, never a guess: a wrong node would answer 404 for a snapshot that
    still exists elsewhere)."""
    items = await ctx.kube.list_custom_objects(GROUP, VERSION, QDRANT_COLLECTION.plural, [namespace])
    by_name = {str(item["metadata"]["name"]): item for item in items}
    targets: dict[str, Target] = {}
    for name in names:
        item = by_name.get(name)
        if item is not None:
            targets[name] = await _target(ctx, namespace, name, item, spec.connection)
        elif spec.connection is not None:
            targets[name] = await _target(ctx, namespace, name, {}, spec.connection)
        else:
            problem = (
                f"QdrantCollection {namespace}/{name} not found: which Qdrant holds its snapshots is unknown"
            )
            targets[name] = Target(name, name, None, problem)
    return targets


async def _target(
    ctx: Context, namespace: str, name: str, item: dict[str, Any], connection: ConnectionSpec | None
) -> Target:
    collection_spec = item.get("spec") or {}
    collection = str(collection_spec.get("collectionName") or name)
    if connection is None and collection_spec.get("connection"):
        connection = ConnectionSpec.model_validate(collection_spec["connection"])
    try:
        endpoint = await resolve_endpoint(ctx, namespace, connection)
    except ConnectionProblem as exc:
        return Target(name, collection, None, str(exc))
    return Target(name, collection, endpoint)


async def open_bucket(ctx: Context, namespace: str, s3: S3Destination) -> S3Store:
    """The destination bucket with its credentials; ConnectionProblem says which Secret to fix."""
    try:
        access = await ctx.kube.secret_value(namespace, s3.access_key_id.name, s3.access_key_id.key)
        secret = await ctx.kube.secret_value(namespace, s3.secret_access_key.name, s3.secret_access_key.key)
    except SecretError as exc:
        raise ConnectionProblem(exc.reason, f"destination.s3 credentials: {exc}") from None
    return S3Store(S3Location(s3.bucket, s3.endpoint, s3.region, s3.force_path_style, access, secret))


def run_prefix(s3: S3Destination, schedule: str, run: str) -> str:
    """Where one run's objects live: `<prefix>/<schedule>/<run>/`."""
    return f"{schedule_prefix(s3, schedule)}{run}/"


def schedule_prefix(s3: S3Destination, schedule: str) -> str:
    """Where a schedule's runs live: `<prefix>/<schedule>/`."""
    base = s3.prefix.strip("/")
    return f"{base}/{schedule}/" if base else f"{schedule}/"
