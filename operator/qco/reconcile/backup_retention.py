"""Retention against the bucket: the manifests there are the list of runs; the planner picks what
goes; every object of a run that goes is deleted, its manifest first. With destination.qdrant the
same planner picks runs from status.runs, and their snapshots are deleted from the Qdrant node."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from qco.api.backup import BackupScheduleSpec
from qco.api.backup_cron import parse_long_duration
from qco.clients.s3 import S3Store
from qco.clients.snapshot_stream import SnapshotClient, SnapshotError
from qco.plan.backup_retention import (
    RetentionPolicy,
    RunRecord,
    node_snapshots,
    select_retention,
    status_records,
)
from qco.plan.backup_schedule import Schedule
from qco.reconcile.backup_run import MANIFEST
from qco.reconcile.backup_targets import node_targets, schedule_prefix
from qco.reconcile.context import Context


def policy_of(spec: BackupScheduleSpec) -> RetentionPolicy:
    """spec.retention as the planner's policy."""
    r = spec.retention
    if r is None:
        return RetentionPolicy()
    max_age = parse_long_duration(r.max_age) if r.max_age else None
    return RetentionPolicy(r.keep_last, r.keep_daily, r.keep_weekly, r.keep_monthly, max_age)


async def apply_retention(
    store: S3Store, spec: BackupScheduleSpec, schedule_name: str, schedule: Schedule, now: datetime
) -> list[str]:
    """Delete the runs retention lets go, and objects of runs that never wrote a manifest; returns
    the names of the runs deleted."""
    assert spec.destination.s3 is not None
    base = schedule_prefix(spec.destination.s3, schedule_name)
    by_run: dict[str, list[str]] = defaultdict(list)
    for key in await store.list_keys(base):
        run, _, rest = key[len(base) :].partition("/")
        if rest:
            by_run[run].append(key)
    records: list[RunRecord] = []
    orphans: list[str] = []
    for run, keys in by_run.items():
        manifest_key = f"{base}{run}/{MANIFEST}"
        if manifest_key not in keys:
            orphans.append(run)  # an interrupted run's leftovers: never a good backup
            continue
        manifest = await store.get_json(manifest_key)
        moment = datetime.fromisoformat(str(manifest["scheduledTime"]).replace("Z", "+00:00"))
        records.append(RunRecord(run, moment, str(manifest.get("phase"))))
    result = select_retention(records, policy_of(spec), now, schedule.zone)
    for run in [*result.delete, *orphans]:
        keys = by_run[run]
        manifest_key = f"{base}{run}/{MANIFEST}"
        # The manifest goes first: a run half-deleted is then an orphan, never a listed backup.
        if manifest_key in keys:
            await store.delete_keys([manifest_key])
        await store.delete_keys([k for k in keys if k != manifest_key])
    return list(result.delete)


@dataclass
class NodeRetention:
    """What a destination.qdrant retention pass did: runs whose snapshots are all gone from the
    node (drop them from status), and runs that stay listed because a deletion failed (and why)."""

    deleted: list[str] = field(default_factory=list)
    kept: dict[str, str] = field(default_factory=dict)


async def apply_node_retention(
    ctx: Context,
    namespace: str,
    spec: BackupScheduleSpec,
    schedule: Schedule,
    runs: Sequence[Mapping[str, Any]],
    now: datetime,
) -> NodeRetention:
    """destination.qdrant: delete from the Qdrant node the snapshots of the runs retention lets go.

    The node keeps no manifest, so status.runs is the record of which snapshots exist there: the
    runs are selected from it by the same planner as the bucket's, and the caller drops a run from
    status only after every snapshot it recorded is gone (deleted now, or already gone: 404). A
    Qdrant error leaves the run listed; the next pass selects it again and retries.
    """
    result = select_retention(status_records(runs), policy_of(spec), now, schedule.zone)
    done = NodeRetention()
    if not result.delete:
        return done  # nothing to expire: no request to Kubernetes or Qdrant
    by_name = {str(run["name"]): run for run in runs}
    names = sorted({s.name for run in result.delete for s in node_snapshots(by_name[run])})
    targets = await node_targets(ctx, namespace, spec, names) if names else {}
    clients: dict[str, SnapshotClient] = {}
    try:
        for run in result.delete:
            try:
                for snap in node_snapshots(by_name[run]):
                    target = targets[snap.name]
                    if target.endpoint is None:
                        raise SnapshotError(f"snapshot {snap.snapshot}: {target.error}")
                    url = target.endpoint.url
                    client = clients.get(url) or clients.setdefault(url, SnapshotClient(target.endpoint))
                    await _delete_snapshot(client, snap.collection, snap.snapshot)
            except SnapshotError as exc:
                done.kept[run] = str(exc)
                continue
            done.deleted.append(run)
    finally:
        for client in clients.values():
            await client.__aexit__(None, None, None)
    return done


async def _delete_snapshot(client: SnapshotClient, collection: str, snapshot: str) -> None:
    try:
        await client.delete(collection, snapshot)
    except SnapshotError as exc:
        if exc.status != 404:  # already gone (by hand, or with its collection) counts as deleted
            raise
