"""QdrantCollection.spec.restoreFrom: fill a collection that does not exist yet from a backup."""

from __future__ import annotations

from pydantic import ConfigDict, Field, model_validator

from qco.api.common import QcoModel


class RestoreFrom(QcoModel):
    """A BackupSchedule's run, or a snapshot URL with its SHA-256. Ignored once the collection exists."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "has(self.backupSchedule) != has(self.url)",
                    "message": "set exactly one of backupSchedule or url",
                }
            ]
        }
    )

    backup_schedule: str | None = Field(
        default=None, min_length=1, max_length=253, description="A BackupSchedule in this namespace."
    )
    run: str = Field(
        default="latest",
        min_length=1,
        max_length=253,
        description="With backupSchedule: `latest` (the newest successful run) or a run name.",
    )
    collection: str | None = Field(
        default=None,
        max_length=253,
        description=(
            "With backupSchedule: which QdrantCollection of the run to restore."
            " Default: the run's only collection, else this object's name."
        ),
    )
    url: str | None = Field(
        default=None,
        pattern=r"^https?://[^\s]+$",
        max_length=4096,
        description="A snapshot's URL Qdrant can download (e.g. presigned).",
    )
    checksum: str | None = Field(
        default=None, pattern=r"^[0-9a-f]{64}$", description="With url: the snapshot's SHA-256 (hex)."
    )

    @model_validator(mode="after")
    def _one(self) -> RestoreFrom:
        if (self.backup_schedule is None) == (self.url is None):
            raise ValueError("set exactly one of restoreFrom.backupSchedule or restoreFrom.url")
        if self.checksum is not None and self.url is None:
            raise ValueError("restoreFrom.checksum goes with restoreFrom.url")
        return self
