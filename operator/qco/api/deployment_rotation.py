"""CollectionDeployment's `rotation`: one collection per time window, made by the clock.

A window is a revision created by the schedule instead of by a spec change: the alias moves to
the current window at each boundary, windows are created ahead, old ones are demoted to a cold
tier (mutable settings only) and deleted after retention. Data plus schema only; when windows
fall is `qco.plan.rotation`'s job.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, ConfigDict, Field, model_validator

from qco.api.backup_cron import LONG_DURATION_PATTERN, LongDuration, TimeZoneName, parse_schedule
from qco.api.collection_config import HnswSpec, OptimizersSpec, QuantizationSpec
from qco.api.common import QDRANT_NAME_PATTERN, QcoModel

#: Windows as short as this serve demos and tests; a window per few seconds would be a hot loop.
MIN_ROTATION_SECONDS = 15
#: Tokens of `nameFormat`, in the schedule's time zone (`ww` is the ISO week; with it, `yyyy` is
#: the ISO week's year, so the last days of December never reuse week 1's name).
NAME_TOKENS = ("yyyy", "mm", "dd", "hh", "mi", "ss", "ww")
_TOKEN = "|".join(NAME_TOKENS)
#: A Qdrant name with at least one token (braces as classes: CEL string literals need no escapes).
_PART = rf"[{{]({_TOKEN})[}}]"
NAME_FORMAT_PATTERN = rf"^([A-Za-z0-9_.-]|{_PART})*{_PART}([A-Za-z0-9_.-]|{_PART})*$"
NAME_FORMAT_MESSAGE = (
    "nameFormat: use letters, digits, '_', '-', '.' and at least one token of {yyyy} {mm} {dd} {hh}"
    " {mi} {ss} {ww}, e.g. events-{yyyy}-{mm}"
)


def _rotation_schedule(text: str) -> str:
    parse_schedule(text, min_every=MIN_ROTATION_SECONDS)
    return text


def _name_format(text: str) -> str:
    if not re.fullmatch(NAME_FORMAT_PATTERN, text):
        raise ValueError(f"{text!r}: {NAME_FORMAT_MESSAGE}")
    sample = re.sub(r"\{(\w+)\}", "0", text)
    if not re.fullmatch(QDRANT_NAME_PATTERN, sample):
        raise ValueError(f"{text!r}: a collection name must start with a letter or digit")
    return text


class ColdVectorOverrides(QcoModel):
    """A vector's mutable settings in the cold tier (size, distance and datatype stay)."""

    on_disk: bool | None = Field(default=None, description="Serve the original vectors from disk.")
    hnsw: HnswSpec | None = Field(default=None, description="HNSW overrides for this vector.")
    quantization: QuantizationSpec | None = Field(default=None, description="Quantization for this vector.")


class ColdOverrides(QcoModel):
    """Settings a window takes when it turns cold: only what Qdrant changes in place (PATCH)."""

    vectors: dict[str, ColdVectorOverrides] | None = Field(
        default=None, description='Per vector ("" = unnamed): onDisk, hnsw, quantization.'
    )
    quantization: QuantizationSpec | None = Field(default=None, description="Collection-wide quantization.")
    hnsw: HnswSpec | None = Field(default=None, description="Collection-wide HNSW parameters.")
    on_disk_payload: bool | None = Field(default=None, description="Keep payload on disk.")
    optimizers: OptimizersSpec | None = Field(default=None, description="Optimizer parameters.")


class ColdTier(QcoModel):
    """Windows at least `after` windows behind the current one take `overrides` in place."""

    after: int = Field(
        ge=1, le=1000, description="Windows behind the current one before a window turns cold."
    )
    overrides: ColdOverrides = Field(description="Mutable settings of the cold tier.")


class BackupBeforeDelete(QcoModel):
    """A window is deleted only once a run of this BackupSchedule holds it."""

    backup_schedule: str = Field(
        min_length=1,
        max_length=253,
        description="BackupSchedule (same namespace) whose successful run, started after the window"
        " ended, must hold the window's collection; qco asks it for a run (backup-now) when none does.",
    )


class RotationSpec(QcoModel):
    """A new window (collection) at every slot of `schedule`; the alias follows the current one."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "!(has(self.retain) && has(self.retainFor))",
                    "message": "set at most one of retain or retainFor",
                }
            ]
        }
    )

    schedule: Annotated[str, AfterValidator(_rotation_schedule)] = Field(
        min_length=1,
        max_length=128,
        description="When windows start: 5-field cron, @hourly, @daily, @weekly, @monthly, or '@every 1h'.",
    )
    time_zone: TimeZoneName = Field(
        default="UTC", max_length=64, description="IANA time zone of the schedule and of the names."
    )
    name_format: Annotated[str, AfterValidator(_name_format)] = Field(
        min_length=1,
        max_length=200,
        json_schema_extra={
            "x-kubernetes-validations": [
                {"rule": f"self.matches('{NAME_FORMAT_PATTERN}')", "message": NAME_FORMAT_MESSAGE}
            ]
        },
        description="Window collection names from the window's start: tokens {yyyy} {mm} {dd} {hh} {mi}"
        " {ss} {ww} (ISO week; {yyyy} is then the ISO year). Must differ between windows.",
    )
    precreate: int = Field(default=1, ge=0, le=24, description="Windows created ahead of time, empty.")
    retain: int | None = Field(
        default=None, ge=1, le=10000, description="Windows kept, the current one included; older are deleted."
    )
    retain_for: LongDuration | None = Field(
        default=None,
        pattern=LONG_DURATION_PATTERN,
        max_length=32,
        description="Delete windows that ended longer ago than this (e.g. 180d).",
    )
    read_alias: str | None = Field(
        default=None,
        min_length=1,
        max_length=255,
        pattern=QDRANT_NAME_PATTERN,
        description="An alias on the previous window.",
    )
    cold: ColdTier | None = Field(default=None, description="Demotion of older windows.")
    backup_before_delete: BackupBeforeDelete | None = Field(
        default=None, description="A backup must hold a window before it is deleted."
    )

    @model_validator(mode="after")
    def _one_retention(self) -> RotationSpec:
        if self.retain is not None and self.retain_for is not None:
            raise ValueError("rotation: set at most one of retain or retainFor")
        return self
