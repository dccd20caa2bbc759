"""Analysis judged as Argo Rollouts does it: each measurement is Successful, Failed, Inconclusive or
Error; a run of measurements ends by its limits. Pure: no I/O; conditions are CEL, never `eval`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import celpy

from qco.api.canary import MetricSpec

#: Measurements kept per run in status (the counts keep every one).
KEPT_MEASUREMENTS = 10
#: A bare integer literal (not part of a name or a decimal), made a double so `result >= 1` compares.
_INT_LITERAL = re.compile(r"(?<![\w.\"'])(\d+)(?![\w.\"'])")


class ConditionError(ValueError):
    """A successCondition or failureCondition that does not compile or evaluate to a boolean."""


@lru_cache(maxsize=256)
def _program(expression: str) -> Any:
    # CEL does not compare int with double; a measurement is always a double, so literals are too.
    source = _INT_LITERAL.sub(r"\1.0", expression)
    env = celpy.Environment()
    try:
        return env.program(env.compile(source))
    except Exception as exc:
        raise ConditionError(f"condition {expression!r} is not valid CEL: {exc}") from None


def evaluate(expression: str, result: float) -> bool:
    """Evaluate a CEL condition over `result` (a double)."""
    try:
        value = _program(expression).evaluate({"result": celpy.celtypes.DoubleType(result)})
    except ConditionError:
        raise
    except Exception as exc:
        raise ConditionError(f"condition {expression!r} failed: {exc}") from None
    if not isinstance(value, celpy.celtypes.BoolType | bool):
        raise ConditionError(f"condition {expression!r} gave {value!r}, not a boolean")
    return bool(value)


@dataclass(frozen=True)
class Judged:
    """One measurement's verdict."""

    phase: str  # Successful, Failed, Inconclusive, Error
    value: float | None
    message: str | None = None


def judge_measurement(metric: MetricSpec, value: float | None, error: str | None = None) -> Judged:
    """A measurement's phase: Error when it could not be taken, the noData policy when empty, else
    the conditions (failure first; with both set, neither holding is Inconclusive)."""
    if error is not None:
        return Judged("Error", None, error)
    if value is None:
        policy = {"Inconclusive": "Inconclusive", "Fail": "Failed", "Pass": "Successful"}[metric.no_data]
        return Judged(policy, None, f"no data (noData: {metric.no_data})")
    try:
        if metric.failure_condition is not None and evaluate(metric.failure_condition, value):
            return Judged("Failed", value, f"{metric.failure_condition} holds for {value:g}")
        if metric.success_condition is not None:
            if evaluate(metric.success_condition, value):
                return Judged("Successful", value)
            if metric.failure_condition is None:
                return Judged("Failed", value, f"{metric.success_condition} does not hold for {value:g}")
            return Judged("Inconclusive", value, f"neither condition holds for {value:g}")
    except ConditionError as exc:
        return Judged("Error", value, str(exc))
    return Judged("Successful", value)


@dataclass
class Run:
    """One metric's measurements in one run (`background`, `step-<i>` or `postPromotion`)."""

    run: str
    metric: str
    phase: str = "Running"
    measurements: list[dict[str, Any]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    message: str | None = None

    @classmethod
    def from_status(cls, data: Mapping[str, Any]) -> Run:
        """From its status form."""
        return cls(
            str(data["run"]),
            str(data["metric"]),
            str(data.get("phase", "Running")),
            [dict(m) for m in data.get("measurements") or ()],
            {str(k): int(v) for k, v in (data.get("counts") or {}).items()},
            data.get("message"),
        )

    def to_status(self) -> dict[str, Any]:
        """Its status form."""
        out: dict[str, Any] = {
            "run": self.run,
            "metric": self.metric,
            "phase": self.phase,
            "measurements": self.measurements,
            "counts": self.counts,
        }
        if self.message:
            out["message"] = self.message
        return out

    @property
    def taken(self) -> int:
        """Measurements taken so far."""
        return sum(v for k, v in self.counts.items() if k in MEASUREMENT_PHASES)

    def last_at(self) -> str | None:
        """When the latest measurement was taken."""
        return str(self.measurements[-1]["at"]) if self.measurements else None


MEASUREMENT_PHASES = ("Successful", "Failed", "Inconclusive", "Error")


def record(run: Run, metric: MetricSpec, judged: Judged, at: str, limit: int | None) -> None:
    """Add one measurement to a running run and judge the run again."""
    if run.phase != "Running":
        return
    entry: dict[str, Any] = {"phase": judged.phase, "at": at}
    if judged.value is not None:
        entry["value"] = judged.value
    if judged.message:
        entry["message"] = judged.message[:1024]
    run.measurements = [*run.measurements, entry][-KEPT_MEASUREMENTS:]
    run.counts[judged.phase] = run.counts.get(judged.phase, 0) + 1
    run.counts["ConsecutiveErrors"] = (
        run.counts.get("ConsecutiveErrors", 0) + 1 if judged.phase == "Error" else 0
    )
    run.phase, run.message = judge_run(metric, run.counts, limit, judged)


def judge_run(
    metric: MetricSpec, counts: Mapping[str, int], limit: int | None, last: Judged | None = None
) -> tuple[str, str | None]:
    """The run's phase from its counts: limits first, then (once `limit` measurements are in) minSamples."""
    why = f" (last: {last.message})" if last and last.message else ""
    name = metric.name
    if counts.get("Failed", 0) > metric.failure_limit:
        return (
            "Failed",
            f"{name}: {counts['Failed']} failed measurements > failureLimit {metric.failure_limit}{why}",
        )
    if counts.get("ConsecutiveErrors", 0) > metric.consecutive_error_limit:
        return "Error", (
            f"{name}: {counts['ConsecutiveErrors']} consecutive errors > consecutiveErrorLimit"
            f" {metric.consecutive_error_limit}{why}"
        )
    if counts.get("Inconclusive", 0) > metric.inconclusive_limit:
        return "Inconclusive", (
            f"{name}: {counts['Inconclusive']} inconclusive measurements > inconclusiveLimit"
            f" {metric.inconclusive_limit}{why}"
        )
    taken = sum(counts.get(p, 0) for p in MEASUREMENT_PHASES)
    if limit is not None and taken >= limit:
        samples = counts.get("Successful", 0) + counts.get("Failed", 0)
        if samples < metric.min_samples:
            return "Inconclusive", f"{name}: {samples} samples < minSamples {metric.min_samples}"
        return "Successful", None
    return "Running", None


def verdict(runs: Sequence[Run]) -> tuple[str, Run | None]:
    """What a group of runs says together: Failed (or Error) beats Inconclusive beats Running."""
    for phase in ("Failed", "Error", "Inconclusive", "Running"):
        for run in runs:
            if run.phase == phase:
                return phase, run
    return "Successful", None
