"""The CanaryRollout status: the rollout's whole state, so a restarted operator resumes it."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from qco.api.common import Condition, QcoModel

CanaryPhase = Literal["Pending", "Progressing", "Paused", "Promoting", "Succeeded", "Aborted", "Failed"]
MeasurementPhase = Literal["Successful", "Failed", "Inconclusive", "Error"]
RunPhase = Literal["Running", "Successful", "Failed", "Inconclusive", "Error"]


class Weights(QcoModel):
    """The split last published and how many clients confirmed it."""

    stable: int = Field(default=100, ge=0, le=100, description="Stable percentage.")
    canary: int = Field(default=0, ge=0, le=100, description="Canary percentage.")
    verified: int = Field(default=0, ge=0, description="Clients that confirmed the published generation.")


class Measurement(QcoModel):
    """One measurement of one metric."""

    phase: MeasurementPhase = Field(description="Successful, Failed, Inconclusive or Error.")
    value: float | None = Field(default=None, description="The measured value; absent when there was none.")
    at: str = Field(description="When it was taken (RFC 3339).")
    message: str | None = Field(default=None, max_length=1024, description="Why, when not Successful.")


class AnalysisRun(QcoModel):
    """The measurements of one metric in one run (a step, the background, or post-promotion)."""

    run: str = Field(description="background, step-<index> or postPromotion.")
    metric: str = Field(description="The metric's name.")
    phase: RunPhase = Field(description="Running, Successful, Failed, Inconclusive or Error.")
    measurements: list[Measurement] = Field(default_factory=list, description="The latest measurements.")
    counts: dict[str, int] = Field(default_factory=dict, description="Measurements per phase, all so far.")
    message: str | None = Field(default=None, max_length=2048, description="Why the run ended this way.")


class VariantSummary(QcoModel):
    """An experiment's result for one collection, from the clients' metrics."""

    requests: float | None = Field(default=None, description="Requests served.")
    p50_seconds: float | None = Field(default=None, description="Median latency.")
    p95_seconds: float | None = Field(default=None, description="95th percentile latency.")
    error_rate: float | None = Field(default=None, description="Share of failed requests.")


class CanaryRolloutStatus(QcoModel):
    """Observed state, written by qco only; also the rollout's memory across operator restarts."""

    observed_generation: int | None = Field(default=None, ge=0, description="Generation last reconciled.")
    conditions: list[Condition] | None = Field(
        default=None,
        description="Ready, Reconciling, Stalled.",
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"]},
    )
    phase: CanaryPhase | None = Field(default=None, description="Where the rollout is.")
    message: str | None = Field(default=None, max_length=4096, description="Why the phase is what it is.")
    current_step_index: int | None = Field(default=None, ge=0, description="The step being run.")
    step_started_at: str | None = Field(default=None, description="When the current step's timer started.")
    paused_for_step: bool | None = Field(
        default=None, description="Paused by a pause step (not by analysis)."
    )
    stable: str | None = Field(default=None, description="The stable collection, fixed at the start.")
    canary: str | None = Field(default=None, description="The canary collection.")
    salt: str | None = Field(default=None, description="Hash salt published to clients.")
    routing_generation: int | None = Field(default=None, ge=0, description="Generation of routing.json.")
    weights: Weights | None = Field(default=None, description="The split published and its confirmations.")
    published_at: str | None = Field(default=None, description="When the current generation was published.")
    alias_switched_at: str | None = Field(default=None, description="When the alias moved to the canary.")
    promoted_at: str | None = Field(default=None, description="When the last step completed.")
    analysis_runs: list[AnalysisRun] | None = Field(
        default=None, description="Analysis runs of this attempt."
    )
    commands: dict[str, str] | None = Field(
        default=None, description="Steering annotation values already acted upon (promote, abort, ...)."
    )
    experiment_started_at: str | None = Field(default=None, description="When the experiment's split began.")
    summary: dict[str, VariantSummary] | None = Field(
        default=None, description="Per-variant experiment results (requests, p50/p95, error rate)."
    )
