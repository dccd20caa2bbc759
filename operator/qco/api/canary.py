"""The CanaryRollout kind: a staged traffic shift between two collections behind an alias,
judged by analysis, ending with one alias switch (or an A/B experiment that never switches).

Data and schema only; the step machine lives in `qco.plan.canary`, I/O in `qco.reconcile.canary`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from qco.api.canary_status import CanaryRolloutStatus
from qco.api.common import (
    QDRANT_NAME_PATTERN,
    ConnectionSpec,
    CrdKind,
    PrinterColumn,
    QcoModel,
    ready_condition_column,
)
from qco.api.durations import DURATION_PATTERN

QdrantName = Annotated[str, Field(min_length=1, max_length=255, pattern=QDRANT_NAME_PATTERN)]
Duration = Annotated[str, Field(pattern=DURATION_PATTERN, max_length=32)]
MetricName = Annotated[str, Field(min_length=1, max_length=63, pattern=r"^[a-z0-9]([-a-z0-9_]*[a-z0-9])?$")]


class RoutingSpec(QcoModel):
    """Where the split is published for applications using `qco.routing`."""

    config_map: str = Field(
        description="ConfigMap (same namespace) holding `routing.json`; created and owned by qco.",
        min_length=1,
        max_length=253,
        pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$",
    )
    min_confirmations: int = Field(
        default=0,
        ge=0,
        le=10000,
        description=(
            "Clients that must confirm a weight (annotation qco.dev/applied.<client-id>) before a step's"
            " timer starts. 0: weights are published, not awaited."
        ),
    )


class PauseStep(QcoModel):
    """Wait: for `duration`, or (without it) until promoted."""

    duration: Duration | None = Field(default=None, description="How long, e.g. 5m; absent: until promoted.")


class StepAnalysis(QcoModel):
    """Run these metrics (by name, from spec.analysis.metrics) to completion before the next step."""

    metrics: list[MetricName] = Field(min_length=1, max_length=16, description="Metric names.")


class CanaryStep(QcoModel):
    """Exactly one of setWeight, pause, analysis."""

    set_weight: int | None = Field(default=None, ge=0, le=100, description="Canary percentage to publish.")
    pause: PauseStep | None = Field(default=None, description="Pause for a duration or until promoted.")
    analysis: StepAnalysis | None = Field(default=None, description="Analysis that must succeed.")

    @model_validator(mode="after")
    def _one_kind(self) -> CanaryStep:
        if sum(x is not None for x in (self.set_weight, self.pause, self.analysis)) != 1:
            raise ValueError("a step has exactly one of setWeight, pause, analysis")
        return self


class PrometheusSource(QcoModel):
    """A PromQL instant query; its first sample's value is the measurement."""

    address: str = Field(description="Prometheus base URL.", pattern=r"^https?://[^\s@]+$", max_length=2048)
    query: str = Field(min_length=1, max_length=8192, description="PromQL, evaluated with /api/v1/query.")


class ProbeQuery(QcoModel):
    """One probe query: a stored point's id, a raw vector, or a Query API request (prefetch/fusion)."""

    point_id: str | None = Field(
        default=None,
        max_length=64,
        description="Search with this stored point's vector (a number or a UUID).",
    )
    vector: list[float] | None = Field(default=None, max_length=65536, description="A raw dense vector.")
    query: dict[str, Any] | None = Field(
        default=None,
        description="A Query API request body (query, prefetch, using, filter), sent to both collections.",
        json_schema_extra={"x-kubernetes-preserve-unknown-fields": True},
    )
    using: str | None = Field(default=None, max_length=255, description="Named vector to search.")

    @model_validator(mode="after")
    def _one_kind(self) -> ProbeQuery:
        if sum(x is not None for x in (self.point_id, self.vector, self.query)) != 1:
            raise ValueError("a probe query has exactly one of pointId, vector, query")
        return self


class ProbeSource(QcoModel):
    """qco queries the stable and the canary collection itself and compares them."""

    queries: list[ProbeQuery] = Field(default_factory=list, max_length=100, description="Fixed queries.")
    sample: int = Field(
        default=0, ge=0, le=1000, description="Plus this many random stored points as queries."
    )
    limit: int = Field(default=10, ge=1, le=1000, description="Results per query (overlap@limit).")
    measure: Literal["overlap", "latencyRatio", "errorRate"] = Field(
        default="overlap",
        description=(
            "overlap: mean share of canary hits among stable's top `limit`; latencyRatio: canary/stable"
            " mean latency; errorRate: share of canary queries that failed."
        ),
    )


class MetricSpec(QcoModel):
    """One metric, judged as Argo Rollouts does: measurements, then limits."""

    name: MetricName = Field(description="Name steps and postPromotion refer to.")
    interval: Duration = Field(default="1m", description="Time between measurements.")
    count: int | None = Field(
        default=None,
        ge=1,
        le=10000,
        description="Measurements in a run. Default: 1 in a step, unbounded in background analysis.",
    )
    failure_limit: int = Field(default=0, ge=0, description="Failed measurements tolerated.")
    inconclusive_limit: int = Field(default=0, ge=0, description="Inconclusive measurements tolerated.")
    consecutive_error_limit: int = Field(default=4, ge=0, description="Consecutive errors tolerated.")
    min_samples: int = Field(
        default=1, ge=0, description="Measurements with data a run needs to succeed (fewer: Inconclusive)."
    )
    no_data: Literal["Inconclusive", "Fail", "Pass"] = Field(
        default="Inconclusive",
        description="A query with no data: Inconclusive (pause for a human), Fail, or Pass.",
    )
    success_condition: str | None = Field(
        default=None, max_length=1024, description="CEL over `result`, e.g. `result < 0.05`."
    )
    failure_condition: str | None = Field(
        default=None,
        max_length=1024,
        description="CEL over `result`; when both are set, neither holding is Inconclusive.",
    )
    prometheus: PrometheusSource | None = Field(default=None, description="Measure with a PromQL query.")
    probe: ProbeSource | None = Field(default=None, description="Measure by querying both collections.")

    @model_validator(mode="after")
    def _one_source(self) -> MetricSpec:
        if (self.prometheus is None) == (self.probe is None):
            raise ValueError(f"metric {self.name}: exactly one of prometheus, probe")
        if self.success_condition is None and self.failure_condition is None:
            raise ValueError(f"metric {self.name}: set successCondition or failureCondition")
        return self


class AnalysisSpec(QcoModel):
    """The metrics, and background analysis while the canary takes traffic."""

    starting_step: int | None = Field(
        default=None, ge=0, description="Run every metric in the background from this step on; absent: never."
    )
    metrics: list[MetricSpec] = Field(default_factory=list, max_length=16, description="Metric definitions.")


class PostPromotionSpec(QcoModel):
    """After the alias switch: keep judging, and switch back on failure within the window."""

    window: Duration = Field(description="How long, e.g. 10m.")
    metrics: list[MetricName] = Field(min_length=1, max_length=16, description="Metric names.")


class ExperimentSpec(QcoModel):
    """A/B mode instead of steps: a fixed split for `duration`; never switches the alias."""

    weights: dict[str, int] = Field(description="Collection -> percentage; they sum to 100.")
    duration: Duration = Field(description="How long, e.g. 24h.")
    prometheus: PrometheusSource | None = Field(
        default=None,
        description=(
            "Where the clients' qco_routing_* metrics are scraped; the end-of-experiment summary is"
            " read from it (the query field is unused)."
        ),
    )


class CanaryFrom(QcoModel):
    """Take the canary from a CollectionDeployment's revision; the deployment hands its alias switch
    to this rollout (its revision waits in phase AwaitingRollout until the rollout ends)."""

    collection_deployment: str = Field(
        description="CollectionDeployment (same namespace) whose revision is the canary.",
        min_length=1,
        max_length=253,
        pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$",
    )
    revision: int | None = Field(
        default=None, ge=1, description="Revision number (status.revisions); absent: the newest."
    )


class CanaryRolloutSpec(QcoModel):
    """Shift traffic from `stable` to `canary` step by step; switch `alias` at the end."""

    alias: QdrantName = Field(description="The alias applications use; qco switches it at the end.")
    stable: QdrantName | None = Field(default=None, description="Default: the alias's target at the start.")
    canary: QdrantName | None = Field(
        default=None, description="The new collection (or experiment variants)."
    )
    canary_from: CanaryFrom | None = Field(
        default=None,
        description=(
            "Instead of canary: a CollectionDeployment's revision; the deployment hands its alias switch"
            " to this rollout."
        ),
    )
    connection: ConnectionSpec | None = Field(
        default=None, description="Qdrant endpoint; default: the operator's."
    )
    routing: RoutingSpec = Field(description="Where the split is published.")
    steps: list[CanaryStep] = Field(default_factory=list, max_length=64, description="The steps, in order.")
    analysis: AnalysisSpec | None = Field(default=None, description="Metrics and background analysis.")
    post_promotion: PostPromotionSpec | None = Field(default=None, description="Analysis after the switch.")
    progress_deadline_seconds: int = Field(
        default=600,
        ge=1,
        description="A weight not confirmed by minConfirmations clients within this aborts.",
    )
    experiment: ExperimentSpec | None = Field(default=None, description="A/B mode instead of steps.")

    @model_validator(mode="after")
    def _check(self) -> CanaryRolloutSpec:
        names = {m.name for m in (self.analysis.metrics if self.analysis else [])}
        used = [n for s in self.steps if s.analysis for n in s.analysis.metrics]
        used += self.post_promotion.metrics if self.post_promotion else []
        unknown = sorted(set(used) - names)
        if unknown:
            raise ValueError(f"metrics {unknown} are not defined in spec.analysis.metrics")
        if self.experiment is not None:
            if sum(self.experiment.weights.values()) != 100 or len(self.experiment.weights) < 2:
                raise ValueError("experiment.weights: two or more collections whose weights sum to 100")
        elif (self.canary is None) == (self.canary_from is None):
            raise ValueError(
                "set exactly one of canary (the collection to roll out) and canaryFrom"
                " (a CollectionDeployment's revision), or experiment"
            )
        return self


CANARY_ROLLOUT = CrdKind(
    kind="CanaryRollout",
    plural="canaryrollouts",
    short_names=("qcr",),
    spec_model=CanaryRolloutSpec,
    status_model=CanaryRolloutStatus,
    description="A staged traffic shift between two collections with analysis, rollback and an alias switch.",
    printer_columns=(
        PrinterColumn("Phase", "string", ".status.phase", "Where the rollout is."),
        PrinterColumn("Step", "integer", ".status.currentStepIndex", "Index of the current step."),
        PrinterColumn("Canary %", "integer", ".status.weights.canary", "Canary weight published."),
        PrinterColumn("Verified", "integer", ".status.weights.verified", "Clients that confirmed it."),
        PrinterColumn("Ready", "string", ready_condition_column("status"), "Rollout finished well."),
        PrinterColumn("Age", "date", ".metadata.creationTimestamp"),
    ),
)
