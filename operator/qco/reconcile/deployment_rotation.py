"""One pass of a rotating CollectionDeployment: create the windows the plan wants, keep each
window's child in its tier, move the aliases at a boundary, delete expired windows.

Each window is a child QdrantCollection like any revision (the collection machinery creates,
corrects and deletes its collection; the finalizer of the deployment handles them all). The pass
observes first (children, aliases) so a restart repeats nothing that took effect.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from qco.api.backup import BACKUP_NOW_ANNOTATION
from qco.api.deployment import CollectionDeploymentSpec
from qco.api.deployment_status import WindowRecord
from qco.clients.kube_objects import AlreadyExists, KubeObjects
from qco.clients.qdrant import QdrantGateway
from qco.plan.deployment import DEPLOYMENT_LABEL, alias_conflict, alias_switch, owned_child
from qco.plan.rotation import (
    WINDOW_LABEL,
    RotationPlan,
    Window,
    backup_holds,
    plan_rotation,
    window_child,
    window_label,
)
from qco.plan.window_spec import same_spec, window_spec
from qco.reconcile.context import Context
from qco.reconcile.deployment_rollout import CHILDREN, child_waiting
from qco.reconcile.machinery import Logger, post_event
from qco.reconcile.outcome import PassOutcome, progressing_outcome, ready_outcome, stalled_outcome
from qco.reconcile.snapshot import PassSnapshot
from qco.reconcile.status_patch import status_merge_patch

WAIT_SECONDS = 1.0  # poll interval while a window's child or its demotion catches up
#: At least this long past a boundary before the pass looks again (the clock may be a hair early).
BOUNDARY_MARGIN = 0.2


@dataclass
class Rotation:
    """A rotating deployment in one pass."""

    ctx: Context
    snapshot: PassSnapshot
    spec: CollectionDeploymentSpec
    objects: KubeObjects
    gateway: QdrantGateway
    log: Logger
    windows: dict[str, WindowRecord]
    current_window: str | None
    active_collection: str | None = None  # what status says the alias served (a revision, before rotation)
    ready: dict[str, bool] = field(default_factory=dict)  # window -> its child is Ready at its generation

    async def advance(self, now: datetime) -> PassOutcome:
        rotation = self.spec.rotation
        assert rotation is not None
        plan = plan_rotation(rotation, now, list(self.windows.values()), self.current_window)
        if plan.problem is not None:
            return stalled_outcome("WindowNamesCollide", plan.problem, fields=self._fields(plan, None))
        children = await self._children()
        await self._create(plan, children)
        waiting = await self._tiers(plan, children)
        aliases = await self.gateway.list_aliases(fresh=True)
        served = aliases.get(self.spec.alias)
        current_child = children.get(self.windows[plan.current.name].child)
        current_wait = child_waiting(current_child) if current_child is not None else None
        if served != plan.current.name:
            if current_child is None or current_wait is not None:
                message = f"waiting for window {plan.current.name} before moving alias {self.spec.alias}"
                if current_wait is not None and current_wait.stalled.status == "True":
                    return PassOutcome(**{**current_wait.__dict__, "fields": self._fields(plan, served)})
                return progressing_outcome(
                    "Rotating", message, retry_after=WAIT_SECONDS, fields=self._fields(plan, served)
                )
            recorded = self.current_window or self.active_collection
            conflict = alias_conflict(self.spec.alias, served, set(self.windows), recorded)
            if conflict is not None:
                return stalled_outcome("AliasConflict", conflict, fields=self._fields(plan, served))
            await self.gateway.update_aliases(alias_switch(self.spec.alias, served, plan.current.name))
            self._rotated(plan, served)
            served = plan.current.name
        self.current_window = plan.current.name
        await self._read_alias(plan, aliases)
        waiting += await self._expire(plan, children)
        return self._outcome(plan, served, waiting, now)

    # -- steps ---------------------------------------------------------------------------------

    async def _children(self) -> dict[str, dict[str, Any]]:
        identity = self.snapshot.identity
        listed = await self.objects.list(CHILDREN, identity.namespace, f"{DEPLOYMENT_LABEL}={identity.name}")
        mine = [
            c
            for c in listed
            if any(
                ref.get("uid") == identity.uid
                for ref in (c.get("metadata") or {}).get("ownerReferences") or ()
            )
        ]
        return {str(c["metadata"]["name"]): c for c in mine}

    async def _create(self, plan: RotationPlan, children: dict[str, dict[str, Any]]) -> None:
        identity = self.snapshot.identity
        for window in plan.wanted:
            record = self.windows.get(window.name) or _new_record(identity.name, window)
            self.windows[window.name] = record
            if record.child in children:
                continue
            owner = {"namespace": identity.namespace, "name": identity.name, "uid": identity.uid}
            spec = {k: v for k, v in (self.snapshot.spec.get("template") or {}).items() if k != "aliases"}
            spec.update(collectionName=window.name, deletionPolicy="Delete", adoptionPolicy="Never")
            if self.spec.connection is not None:
                spec["connection"] = self.spec.connection.to_manifest()
            labels = {DEPLOYMENT_LABEL: identity.name, WINDOW_LABEL: window_label(record.child)}
            try:
                children[record.child] = await self.objects.create(
                    CHILDREN, identity.namespace, owned_child(owner, record.child, labels, spec)
                )
                self._event("CreateWindow", f"window {window.name} ({_span(window)}) created")
            except AlreadyExists:
                pass

    async def _tiers(self, plan: RotationPlan, children: dict[str, dict[str, Any]]) -> int:
        """Keep every window's child on the template (mutable fields) and its tier; count waits."""
        rotation = self.spec.rotation
        assert rotation is not None
        template = self.snapshot.spec.get("template") or {}
        raw_rotation = self.snapshot.spec.get("rotation") or {}
        overrides = (raw_rotation.get("cold") or {}).get("overrides")
        waiting = 0
        for name, record in list(self.windows.items()):
            child = children.get(record.child)
            if child is None or name in plan.expired:
                continue
            cold = name in plan.cold
            live = child.get("spec") or {}
            desired = window_spec(live, template, overrides if cold else None)
            mirror = (child.get("status") or {}).get("collection") or {}
            settled = child_waiting(child) is None
            self.ready[name] = settled
            tier = record.tier
            if not same_spec(live, desired):
                patch = {"spec": status_merge_patch(live, desired) or {}}
                await self.objects.patch(CHILDREN, self.snapshot.identity.namespace, record.child, patch)
                if cold and tier == "hot":
                    self._event("DemoteWindow", f"window {name}: cold tier applied in place")
                tier = "demoting" if cold else "hot"
                self.ready[name] = False  # its child has a new generation to apply
            elif not cold:
                tier = "hot"
            elif tier != "cold" and settled and mirror.get("status") == "green":
                tier = "cold"
                self._event("WindowCold", f"window {name} is cold (green)")
            elif tier != "cold":
                tier = "demoting"
            waiting += tier == "demoting"
            self._set(name, tier=tier, points=mirror.get("pointsCount"))
        return waiting

    async def _read_alias(self, plan: RotationPlan, aliases: Mapping[str, str]) -> None:
        rotation = self.spec.rotation
        if rotation is None or rotation.read_alias is None or plan.read_alias_target is None:
            return
        served = aliases.get(rotation.read_alias)
        if served == plan.read_alias_target:
            return
        if served is not None and served not in self.windows:
            self._event(
                "AliasConflict",
                f"alias {rotation.read_alias} points at {served}, which is not a window of this deployment",
                "Warning",
            )
            return
        await self.gateway.update_aliases(alias_switch(rotation.read_alias, served, plan.read_alias_target))

    async def _expire(self, plan: RotationPlan, children: dict[str, dict[str, Any]]) -> int:
        """Delete expired windows (after their backup, when asked); count the ones still waiting."""
        rotation = self.spec.rotation
        assert rotation is not None
        namespace = self.snapshot.identity.namespace
        waiting, requested = 0, False
        for name in plan.expired:
            record = self.windows[name]
            child = children.get(record.child)
            if child is None:
                del self.windows[name]  # its child is gone, and with it the collection (or its claim)
                continue
            if record.phase != "Deleting" and rotation.backup_before_delete is not None:
                schedule_name = rotation.backup_before_delete.backup_schedule
                schedule = await self.objects.get("backupschedules", namespace, schedule_name)
                held, why = backup_holds(schedule, schedule_name, record)
                if not held:
                    waiting += 1
                    if schedule is not None and not requested:
                        requested = await self._request_backup(schedule, schedule_name, name)
                    self._set(name, phase="AwaitingBackup", message=why)
                    continue
            if (child.get("spec") or {}).get("deletionPolicy") != self.spec.deletion_policy:
                patch = {"spec": {"deletionPolicy": self.spec.deletion_policy}}
                await self.objects.patch(CHILDREN, namespace, record.child, patch)
            if record.phase != "Deleting":
                self._event(
                    "ExpireWindow",
                    f"window {name} expired; its collection is {self.spec.deletion_policy.lower()}ed",
                )
            await self.objects.delete(CHILDREN, namespace, record.child)
            self._set(name, phase="Deleting", message=None)
            waiting += 1
        return waiting

    async def _request_backup(self, schedule: Mapping[str, Any], name: str, window: str) -> bool:
        """Ask the BackupSchedule for a run now (once per window); True when a request is pending."""
        token = f"before-delete-{window}"[:63]
        annotations = (schedule.get("metadata") or {}).get("annotations") or {}
        if (schedule.get("status") or {}).get("backupNow") == token:
            return False  # that run happened and did not hold the window: the message says why
        if annotations.get(BACKUP_NOW_ANNOTATION) != token:
            patch = {"metadata": {"annotations": {BACKUP_NOW_ANNOTATION: token}}}
            await self.objects.patch("backupschedules", self.snapshot.identity.namespace, name, patch)
            self._event("RequestBackup", f"asked BackupSchedule {name} for a run holding {window}")
        return True

    # -- reporting -----------------------------------------------------------------------------

    def _rotated(self, plan: RotationPlan, served: str | None) -> None:
        message = f"alias {self.spec.alias}: {served or '(none)'} -> {plan.current.name}"
        if plan.missed_count:
            made = [n for n in plan.missed if n in self.windows]
            message += (
                f"; late: {plan.missed_count} window(s) passed while qco was away"
                f" ({', '.join(plan.missed)}{', ...' if plan.missed_count > len(plan.missed) else ''});"
                f" of those, created ahead: {', '.join(made) or 'none'}"
            )
            self._event("MissedWindows", message, "Warning")
        self._event("Rotate", message)
        self.log.info(
            "rotated %s/%s: %s", self.snapshot.identity.namespace, self.snapshot.identity.name, message
        )

    def _outcome(self, plan: RotationPlan, served: str | None, waiting: int, now: datetime) -> PassOutcome:
        fields = self._fields(plan, served)
        until = (plan.next_rotation - now).total_seconds() + BOUNDARY_MARGIN
        if plan.clock_behind:
            message = (
                f"the clock ({now:%Y-%m-%dT%H:%M:%SZ}) is behind window {plan.current.name}: the alias"
                " stays and nothing is deleted until it catches up"
            )
            return progressing_outcome("ClockBehind", message, retry_after=WAIT_SECONDS * 5, fields=fields)
        ahead = [w for w in plan.wanted[1:] if not self.ready.get(w.name, False)]
        message = (
            f"alias {self.spec.alias} -> {plan.current.name};"
            f" next window at {plan.next_rotation:%Y-%m-%dT%H:%M:%SZ}"
        )
        if waiting or ahead:
            pending = waiting + len(ahead)
            return progressing_outcome(
                "Rotating",
                f"{message}; {pending} window change(s) in progress",
                retry_after=WAIT_SECONDS,
                fields=fields,
            )
        return ready_outcome("WindowCurrent", message, retry_after=max(WAIT_SECONDS, until), fields=fields)

    def _fields(self, plan: RotationPlan, served: str | None) -> Any:
        current = plan.current.name if served == plan.current.name else self.current_window
        for name, record in list(self.windows.items()):
            if record.phase in ("AwaitingBackup", "Deleting") and name in plan.expired:
                continue
            if name == current:
                phase = "Current"
            elif not self.ready.get(name, False) and record.start >= plan.current.start:
                phase = "Creating"
            else:
                phase = "Ahead" if record.start > plan.current.start else "Past"
            self._set(name, phase=phase, message=None)
        windows = sorted(self.windows.values(), key=lambda w: w.start)
        fields = {
            "windows": [w.model_dump(mode="json", by_alias=True, exclude_none=True) for w in windows] or None,
            "currentWindow": current,
            # Only a window of ours is recorded: a stranger's collection must never become "ours".
            "activeCollection": served if served in self.windows else self.active_collection,
            "nextRotationTime": f"{plan.next_rotation:%Y-%m-%dT%H:%M:%SZ}",
            "missedWindows": list(plan.missed) or None,
        }
        return lambda _current, _now: fields

    def _set(self, name: str, **changes: Any) -> None:
        record = self.windows[name]
        self.windows[name] = WindowRecord.model_validate({**record.model_dump(), **changes})

    def _event(self, reason: str, message: str, type_: str = "Normal") -> None:
        post_event(self.ctx, self.snapshot.object_ref(), type_, reason, message)


def _new_record(deployment: str, window: Window) -> WindowRecord:
    return WindowRecord(
        name=window.name,
        child=window_child(deployment, window.name),
        start=window.start,
        end=window.end,
    )


def _span(window: Window) -> str:
    return f"{window.start:%Y-%m-%dT%H:%M:%SZ} .. {window.end:%Y-%m-%dT%H:%M:%SZ}"


def windows_from_status(status: Mapping[str, Any]) -> dict[str, WindowRecord]:
    """The windows a status records (unreadable entries are dropped)."""
    out: dict[str, WindowRecord] = {}
    for item in status.get("windows") or ():
        try:
            record = WindowRecord.model_validate(item)
        except ValueError:
            continue
        out[record.name] = record
    return out


async def reconcile_rotation(
    ctx: Context,
    snapshot: PassSnapshot,
    spec: CollectionDeploymentSpec,
    status: Mapping[str, Any],
    objects: KubeObjects,
    gateway: QdrantGateway,
    log: Logger,
    now: datetime | None = None,
) -> PassOutcome:
    """One pass of a rotating deployment; raises for Qdrant and Kubernetes errors (the machinery
    reports them)."""
    rotation = Rotation(
        ctx,
        snapshot,
        spec,
        objects,
        gateway,
        log,
        windows_from_status(status),
        status.get("currentWindow"),
        status.get("activeCollection"),
    )
    return await rotation.advance(now or datetime.now(UTC))
