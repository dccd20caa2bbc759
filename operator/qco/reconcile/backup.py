"""Reconcile one BackupSchedule: decide from status and the clock whether a run is due, run it,
apply retention, and report; the loop sleeps until the next slot (or retry) is due.

Runs execute inside the pass (the object's loop is busy meanwhile, nothing else is); a run found
in `status.active` when a pass starts was interrupted (the operator stopped mid-run): it is
recorded Failed, its unfinished upload aborted, and its slot retried like any failed run.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from qco.api.backup import BACKUP_NOW_ANNOTATION, BACKUP_SCHEDULE, BackupScheduleSpec
from qco.api.backup_status import MAX_LISTED_RUNS, MAX_STATUS_RUNS
from qco.api.common import GROUP, VERSION
from qco.clients.s3 import S3Error, S3Store
from qco.plan.backup_retention import node_snapshots, status_window
from qco.plan.backup_schedule import FailedRun, Schedule, ScheduleInputs, decide
from qco.reconcile.backup_retention import apply_node_retention, apply_retention
from qco.reconcile.backup_run import RunContext, execute_run, rfc3339
from qco.reconcile.backup_targets import open_bucket, resolve_targets, run_prefix
from qco.reconcile.conditions import now_rfc3339
from qco.reconcile.context import Context
from qco.reconcile.machinery import (
    PAUSED_ANNOTATION,
    REQUESTED_ANNOTATION,
    KindReconciler,
    Logger,
    post_event,
)
from qco.reconcile.outcome import PassOutcome, ready_outcome, stalled_outcome, waiting_outcome
from qco.reconcile.snapshot import PassSnapshot
from qco.reconcile.status_patch import status_merge_patch
from qco.reconcile.status_report import build_status
from qco.settings import OperatorSettings

#: The loop looks at least this often, so a clock jump never delays a run by more than this.
MAX_SLEEP_SECONDS = 3600.0
FINISHED = ("Succeeded", "Failed", "PartiallyFailed")


def parse_time(value: Any) -> datetime | None:
    """An RFC 3339 timestamp from status, as an aware datetime."""
    if not value:
        return None
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


async def reconcile_backup_schedule(
    ctx: Context, snapshot: PassSnapshot, spec: BackupScheduleSpec, log: Logger, now: datetime | None = None
) -> PassOutcome:
    """One pass; raises ConnectionProblem for unusable credentials (the machinery reports it)."""
    began = time.monotonic()
    now = now or datetime.now(UTC)
    status, identity = snapshot.status, snapshot.identity
    schedule = Schedule.parse(spec.schedule, spec.time_zone)
    if spec.format == "portable" and spec.destination.s3 is None:
        # The portable export is a set of objects: it needs a bucket, the node keeps none.
        return stalled_outcome(
            "FormatNeedsBucket",
            "spec.format: portable needs destination.s3 (destination.qdrant keeps snapshots)",
        )
    runs: list[dict[str, Any]] = [dict(r) for r in status.get("runs") or []]
    store = await open_bucket(ctx, identity.namespace, spec.destination.s3) if spec.destination.s3 else None
    await _close_interrupted(ctx, snapshot, spec, store, runs, status.get("active") or [], now)
    token = snapshot.annotation(BACKUP_NOW_ANNOTATION)
    paused = snapshot.annotation(PAUSED_ANNOTATION) == "true"
    inputs = ScheduleInputs(
        schedule_name=identity.name,
        schedule=schedule,
        now=now,
        anchor=parse_time(status.get("lastScheduleTime")) or parse_time(identity.creation_timestamp) or now,
        suspend=spec.suspend or paused,
        starting_deadline_seconds=spec.starting_deadline_seconds,
        concurrency=spec.concurrency_policy,
        backup_now=bool(token) and token != status.get("backupNow") and not paused,
        failed=_failed_run(runs, status.get("lastScheduleTime")),
    )
    decision = decide(inputs)
    for skip in decision.skipped:
        post_event(
            ctx, snapshot.object_ref(), "Normal", f"Run{skip.reason}", f"slot {rfc3339(skip.slot)} skipped"
        )
    answered: dict[str, Any] = {}  # what the runs finished so far answered, shown with them
    for plan in decision.start:
        targets = await resolve_targets(ctx, identity.namespace, spec)
        progress = _progress(ctx, snapshot, spec, runs, dict(answered))
        run = RunContext(identity.name, spec, store, targets, progress)
        try:
            record = await execute_run(run, plan, now)
        finally:
            await run.close()
        runs = [record, *[r for r in runs if r.get("name") != plan.name]]
        if plan.trigger == "Manual" and inputs.backup_now:
            answered["backupNow"] = token
        elif decision.last_schedule_time is not None:
            answered["lastScheduleTime"] = rfc3339(decision.last_schedule_time)
        _count_run(ctx, identity.namespace, identity.name, record)
        kind = "Normal" if record["phase"] == "Succeeded" else "Warning"
        post_event(
            ctx,
            snapshot.object_ref(),
            kind,
            f"Backup{record['phase']}",
            f"{plan.name}: {record.get('message')}",
        )
        log.info("backup run %s/%s: %s", identity.namespace, plan.name, record["phase"])
    if spec.destination.qdrant is not None:
        # Before any status write of this pass: a snapshot is deleted before status forgets its run.
        runs = await _expire_on_node(ctx, snapshot, spec, schedule, runs, now)
    if store is not None and spec.destination.s3 is not None:
        # Before the status write too: whoever sees the backup-now token answered sees retention done.
        runs = await _expire_in_bucket(ctx, snapshot, spec, store, schedule, runs, now)
    if decision.start:
        # The finished runs, what they answered (backup-now token, slot) and the conditions they
        # imply go together: a restart right after cannot run the same backup-now or slot again,
        # and a reader who sees the token answered sees Ready for that run, not the one before.
        fields = _fields(
            decision.last_schedule_time,
            decision.next_schedule_time,
            _listed(spec, runs),
            token,
            inputs.backup_now,
        )
        ran = build_status(
            snapshot.status, _outcome(spec, paused, runs, fields), snapshot.generation, now_rfc3339()
        )
        await _patch(ctx, snapshot, {**(status_merge_patch(snapshot.status, ran) or {}), "active": None})
    _gauges(ctx, identity.namespace, identity.name, schedule, now, paused or spec.suspend, runs)
    listed = _listed(spec, runs, report=lambda run: _untracked(ctx, snapshot, run))
    fields = _fields(
        decision.last_schedule_time, decision.next_schedule_time, listed, token, inputs.backup_now
    )
    outcome = _outcome(spec, paused, runs, fields)
    wake = decision.wake_at
    # Measured from the pass's clock, less what the pass itself took.
    delay = MAX_SLEEP_SECONDS if wake is None else (wake - now).total_seconds() - (time.monotonic() - began)
    return PassOutcome(**{**outcome.__dict__, "retry_after": max(1.0, min(delay, MAX_SLEEP_SECONDS))})


async def _expire_in_bucket(
    ctx: Context,
    snapshot: PassSnapshot,
    spec: BackupScheduleSpec,
    store: S3Store,
    schedule: Schedule,
    runs: list[dict[str, Any]],
    now: datetime,
) -> list[dict[str, Any]]:
    """Apply retention in the bucket; the runs still listed. An S3 error leaves them all listed (the
    next pass retries) and never stops this pass from recording the runs it made."""
    try:
        deleted = await apply_retention(store, spec, snapshot.identity.name, schedule, now)
    except S3Error as exc:
        post_event(ctx, snapshot.object_ref(), "Warning", "RetentionFailed", f"retention not applied: {exc}")
        return runs
    for name in deleted:
        post_event(ctx, snapshot.object_ref(), "Normal", "BackupExpired", f"{name} deleted by retention")
    return [r for r in runs if r.get("name") not in deleted]


def _failed_run(runs: list[dict[str, Any]], last_schedule_time: Any) -> FailedRun | None:
    """The last scheduled run of the current slot, when it failed."""
    slot = parse_time(last_schedule_time)
    for record in runs:
        if record.get("trigger") == "Manual":
            continue
        if parse_time(record.get("scheduledTime")) != slot or record.get("phase") not in (
            "Failed",
            "PartiallyFailed",
        ):
            return None
        ended = parse_time(record.get("completionTime")) or slot
        assert slot is not None and ended is not None
        return FailedRun(str(record["name"]), slot, int(record.get("attempt") or 1), ended)
    return None


async def _close_interrupted(
    ctx: Context,
    snapshot: PassSnapshot,
    spec: BackupScheduleSpec,
    store: S3Store | None,
    runs: list[dict[str, Any]],
    active: list[str],
    now: datetime,
) -> None:
    """Runs still marked active at the start of a pass were interrupted: record them Failed."""
    for name in active:
        if store is not None and spec.destination.s3 is not None:
            with contextlib.suppress(S3Error):
                await store.abort_open_uploads(run_prefix(spec.destination.s3, snapshot.identity.name, name))
        for record in runs:
            if record.get("name") == name and record.get("phase") not in FINISHED:
                record.update(
                    phase="Failed",
                    completionTime=rfc3339(now),
                    message="interrupted: the operator stopped mid-run (unfinished upload aborted)",
                )
        post_event(ctx, snapshot.object_ref(), "Warning", "BackupInterrupted", f"{name} was interrupted")


def _progress(
    ctx: Context,
    snapshot: PassSnapshot,
    spec: BackupScheduleSpec,
    runs: list[dict[str, Any]],
    answered: dict[str, Any],
) -> Any:
    # A run finished earlier in this pass is listed only with what it answered (token, slot): a
    # reader never sees a backup-now run done and its token unanswered.
    async def report(record: dict[str, Any]) -> None:
        others = [r for r in runs if r.get("name") != record["name"]]
        listed = _listed(spec, [dict(record), *others])
        await _patch(ctx, snapshot, {"active": [record["name"]], "runs": listed, **answered})

    return report


def _listed(
    spec: BackupScheduleSpec,
    runs: list[dict[str, Any]],
    report: Callable[[Mapping[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """The runs status lists: the newest MAX_STATUS_RUNS, plus (destination.qdrant) older runs
    whose snapshots are still on the node, which status alone records; `report` hears of each run
    with snapshots that no longer fits (retention can no longer delete those)."""
    on_node = spec.destination.qdrant is not None
    listed, untracked = status_window(runs, MAX_STATUS_RUNS, MAX_LISTED_RUNS, on_node)
    if report is not None:
        for run in untracked:
            report(run)
    return [dict(run) for run in listed]


async def _expire_on_node(
    ctx: Context,
    snapshot: PassSnapshot,
    spec: BackupScheduleSpec,
    schedule: Schedule,
    runs: list[dict[str, Any]],
    now: datetime,
) -> list[dict[str, Any]]:
    """destination.qdrant retention: runs whose snapshots are gone from the node leave status; a
    run whose deletion failed stays listed and is retried by the next pass."""
    done = await apply_node_retention(ctx, snapshot.identity.namespace, spec, schedule, runs, now)
    for name in done.deleted:
        post_event(ctx, snapshot.object_ref(), "Normal", "BackupExpired", f"{name} deleted by retention")
    for name, why in done.kept.items():
        message = f"{name} stays listed, its snapshots are retried next pass: {why}"
        post_event(ctx, snapshot.object_ref(), "Warning", "BackupExpireFailed", message[:1000])
    return [r for r in runs if r.get("name") not in done.deleted]


def _untracked(ctx: Context, snapshot: PassSnapshot, run: Mapping[str, Any]) -> None:
    held = ", ".join(f"{s.collection}/{s.snapshot}" for s in node_snapshots(run))
    message = (
        f"{run['name']} no longer fits in status ({MAX_LISTED_RUNS} runs): retention will not delete {held}"
    )
    post_event(ctx, snapshot.object_ref(), "Warning", "BackupUntracked", message[:1000])


async def _patch(ctx: Context, snapshot: PassSnapshot, status: dict[str, Any]) -> None:
    """A run's progress, written while it runs (the pass's report comes only at its end)."""
    identity = snapshot.identity
    with contextlib.suppress(Exception):  # progress is best effort; the report at the end is not
        await ctx.kube.patch_status(
            GROUP, VERSION, BACKUP_SCHEDULE.plural, identity.namespace, identity.name, status
        )


def _fields(
    last_schedule: datetime | None,
    next_schedule: datetime | None,
    runs: list[dict[str, Any]],
    token: str | None,
    took_token: bool,
) -> Any:
    def fields(current: Mapping[str, Any], now: str) -> Mapping[str, Any]:
        del now
        success = next((r for r in runs if r.get("phase") == "Succeeded"), None)
        out: dict[str, Any] = {
            "nextScheduleTime": rfc3339(next_schedule) if next_schedule else None,
            "active": None,
            "runs": runs or None,  # already bounded by _listed
            "lastSuccessfulTime": (success or {}).get("completionTime") or current.get("lastSuccessfulTime"),
        }
        if last_schedule is not None:
            out["lastScheduleTime"] = rfc3339(last_schedule)
        if took_token:
            out["backupNow"] = token
        return out

    return fields


def _outcome(spec: BackupScheduleSpec, paused: bool, runs: list[dict[str, Any]], fields: Any) -> PassOutcome:
    last = next((r for r in runs if r.get("phase") in FINISHED), None)
    if last is not None and last["phase"] != "Succeeded":
        message = f"run {last['name']} {last['phase']}: {last.get('message', '')}"
        return waiting_outcome("BackupFailed", message, fields=fields)
    if paused or spec.suspend:
        reason = "Paused" if paused else "Suspended"
        return ready_outcome(reason, "scheduled runs are suspended; backup-now still runs", fields=fields)
    if last is None:
        return ready_outcome("Scheduled", f"waiting for the first run ({spec.schedule})", fields=fields)
    return ready_outcome("BackupSucceeded", f"run {last['name']} succeeded", fields=fields)


def schedule_interval(spec: BackupScheduleSpec, settings: OperatorSettings) -> float:
    """The longest the loop sleeps (each pass asks for less: until the next slot or retry)."""
    del spec
    return min(MAX_SLEEP_SECONDS, max(settings.drift_interval_seconds, 60.0))


async def finalize_backup_schedule(
    ctx: Context, snapshot: PassSnapshot, spec: BackupScheduleSpec, log: Logger
) -> None:
    """Deleting a schedule keeps its backups (they outlive it on purpose, e.g. for a restore)."""
    del spec, log
    ctx.metrics.backups.forget(snapshot.identity.namespace, snapshot.identity.name)


def _count_run(ctx: Context, namespace: str, name: str, record: dict[str, Any]) -> None:
    metrics, phase = ctx.metrics.backups, str(record["phase"])
    metrics.runs.labels(namespace, name, phase).inc()
    metrics.bytes.labels(namespace, name).inc(sum(int(c.get("size") or 0) for c in record["collections"]))
    started, ended = parse_time(record.get("startTime")), parse_time(record.get("completionTime"))
    if started and ended:
        metrics.duration.labels(namespace, name, phase).observe((ended - started).total_seconds())


def _gauges(
    ctx: Context,
    namespace: str,
    name: str,
    schedule: Schedule,
    now: datetime,
    suspended: bool,
    runs: list[dict[str, Any]],
) -> None:
    """Gauges from status, so they are right after a restart too."""
    metrics = ctx.metrics.backups
    first = schedule.next_after(now)
    metrics.expected_interval.labels(namespace, name).set(
        (schedule.next_after(first) - first).total_seconds()
    )
    metrics.suspended.labels(namespace, name).set(1 if suspended else 0)
    last: dict[str, float] = {}
    for record in runs:  # newest first
        ended = parse_time(record.get("completionTime"))
        if record.get("phase") not in ("Succeeded", "PartiallyFailed") or ended is None:
            continue
        for entry in record.get("collections") or []:
            if not entry.get("error"):
                last.setdefault(str(entry["name"]), ended.timestamp())
    metrics.set_last_success(namespace, name, last)


BACKUP_RECONCILER = KindReconciler(
    spec_type=BackupScheduleSpec,
    reconcile=reconcile_backup_schedule,
    finalize=finalize_backup_schedule,
    interval=schedule_interval,
    wake_annotations=(REQUESTED_ANNOTATION, PAUSED_ANNOTATION, BACKUP_NOW_ANNOTATION),
)
