"""BackupSchedule's handlers: the generic loop with the backup schedule reconciler."""

from __future__ import annotations

import kopf

from qco.api.backup import BACKUP_SCHEDULE
from qco.handlers.loop import register_kind
from qco.reconcile.backup import BACKUP_RECONCILER


def register(registry: kopf.OperatorRegistry) -> None:
    """Register the BackupSchedule handlers on a registry."""
    register_kind(registry, BACKUP_SCHEDULE, BACKUP_RECONCILER)
