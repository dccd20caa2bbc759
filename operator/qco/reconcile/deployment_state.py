"""A deployment's bookkeeping during one pass: read from status at the start, changed by the
rollout's steps, written back as the kind's status fields by the reporter."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from qco.api.deployment_status import RevisionRecord


@dataclass
class DeploymentState:
    """Revisions, the active revision, the rollout's phase, progress and checks."""

    records: list[RevisionRecord] = field(default_factory=list)
    active_revision: int | None = None
    active_collection: str | None = None
    phase: str | None = None
    revision: int | None = None
    progress: dict[str, Any] | None = None
    validation: dict[str, Any] | None = None
    rollback: dict[str, Any] | None = None

    @classmethod
    def from_status(cls, status: Mapping[str, Any]) -> DeploymentState:
        """The state a status records (unreadable revision entries are dropped)."""
        records = []
        for item in status.get("revisions") or ():
            try:
                records.append(RevisionRecord.model_validate(item))
            except ValueError:
                continue
        return cls(
            records=records,
            active_revision=status.get("activeRevision"),
            active_collection=status.get("activeCollection"),
            phase=status.get("phase"),
            revision=status.get("revision"),
            progress=dict(status["progress"]) if isinstance(status.get("progress"), dict) else None,
            validation=dict(status["validation"]) if isinstance(status.get("validation"), dict) else None,
            rollback=dict(status["rollback"]) if isinstance(status.get("rollback"), dict) else None,
        )

    def record(self, full_hash: str) -> RevisionRecord | None:
        """The record of a revision, if kept."""
        return next((r for r in self.records if r.hash == full_hash), None)

    def active(self) -> RevisionRecord | None:
        """The revision the alias serves, as recorded."""
        return next((r for r in self.records if r.number == self.active_revision), None)

    def replace(self, record: RevisionRecord) -> None:
        """Store a changed record (or add a new one), ordered by number."""
        self.records = sorted(
            [r for r in self.records if r.hash != record.hash] + [record], key=lambda r: r.number
        )

    def progress_for(self, number: int) -> dict[str, Any]:
        """The progress of revision `number` (empty when the stored progress is another revision's)."""
        if self.progress and self.progress.get("revision") == number:
            return self.progress
        self.progress = {"revision": number}
        return self.progress

    def fields(self) -> dict[str, Any]:
        """The status fields to write (None removes one)."""
        return {
            "revisions": [r.to_manifest() for r in self.records] or None,
            "activeRevision": self.active_revision,
            "activeCollection": self.active_collection,
            "phase": self.phase,
            "revision": self.revision,
            "progress": _clean(self.progress),
            "validation": _clean(self.validation),
            "rollback": _clean(self.rollback),
        }


def _clean(value: dict[str, Any] | None) -> dict[str, Any] | None:
    if not value:
        return None
    cleaned = {k: v for k, v in value.items() if v is not None}
    return cleaned or None
