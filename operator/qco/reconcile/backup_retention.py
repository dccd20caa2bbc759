"""Retention against the bucket: the manifests there are the list of runs; the planner picks what
goes; every object of a run that goes is deleted, its manifest first."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from qco.api.backup import BackupScheduleSpec
from qco.api.backup_cron import parse_long_duration
from qco.clients.s3 import S3Store
from qco.plan.backup_retention import RetentionPolicy, RunRecord, select_retention
from qco.plan.backup_schedule import Schedule
from qco.reconcile.backup_run import MANIFEST
from qco.reconcile.backup_targets import schedule_prefix


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
