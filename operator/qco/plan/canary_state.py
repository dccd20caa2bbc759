"""The CanaryRollout's state as the planner sees it (kept in status) and what a pass observed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from qco.api.canary import CanaryRolloutSpec
from qco.plan.canary_analysis import Run


def rfc3339(seconds: float) -> str:
    """Epoch seconds as Kubernetes writes times (UTC, `Z`, milliseconds kept for short pauses)."""
    text = datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")


def at(text: str | None) -> float | None:
    """An RFC 3339 time as epoch seconds."""
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


@dataclass(frozen=True)
class Observed:
    """What a pass read: the time, the object's annotations, the alias, Qdrant's collections, the
    published table and its confirmations, a QdrantCollection or CollectionDeployment claiming the
    alias, and (canaryFrom) the deployment revision's collection."""

    now: float
    annotations: Mapping[str, str] = field(default_factory=dict)
    alias_target: str | None = None
    collections: frozenset[str] = frozenset()
    weights: Mapping[str, int] | None = None  # as published (ordered), None when nothing is
    generation: int = 0
    confirmations: int = 0
    alias_owner: str | None = None
    alias_deployment: str | None = None  # a CollectionDeployment switching the alias (not canaryFrom's)
    canary_source: str | None = None  # canaryFrom: the revision's collection
    canary_problem: str | None = None  # canaryFrom: why there is none


@dataclass
class CanaryState:
    """Everything the rollout remembers between passes (and across operator restarts)."""

    phase: str | None = None
    message: str | None = None
    step: int = 0
    step_started_at: str | None = None
    paused_for_step: bool = False
    stable: str | None = None
    canary: str | None = None
    salt: str | None = None
    published_at: str | None = None
    alias_switched_at: str | None = None
    promoted_at: str | None = None
    experiment_started_at: str | None = None
    runs: list[Run] = field(default_factory=list)
    commands: dict[str, str] = field(default_factory=dict)

    def reset(self, now: float) -> None:
        """A fresh attempt from step 0 (start and retry)."""
        self.step, self.step_started_at, self.paused_for_step = 0, None, False
        self.alias_switched_at = self.promoted_at = self.message = None
        self.runs = []
        del now

    def collections(self, spec: CanaryRolloutSpec) -> list[str]:
        """The collections routed to."""
        if spec.experiment is not None:
            return list(spec.experiment.weights)
        return [c for c in (self.stable, self.canary) if c]

    def desired_weights(self, spec: CanaryRolloutSpec) -> dict[str, int]:
        """The split this state calls for, stable first and canary last."""
        stable, canary = self.stable or "", self.canary or ""
        if spec.experiment is not None:
            if self.phase == "Progressing":
                names = sorted(spec.experiment.weights, key=lambda n: n != stable)
                return {n: spec.experiment.weights[n] for n in names}
            return {
                n: (100 if n == stable else 0)
                for n in sorted(spec.experiment.weights, key=lambda n: n != stable)
            }
        if stable == canary:
            return {stable: 100}
        if self.phase in ("Aborted", "Failed"):
            weight = 0
        elif self.phase in ("Promoting", "Succeeded"):
            weight = 100
        else:
            weight = 0
            for step in spec.steps[: self.step + 1]:
                if step.set_weight is not None:
                    weight = step.set_weight
        return {stable: 100 - weight, canary: weight}

    def run(self, name: str, metric: str) -> Run:
        """The run of `metric` in `name`, created when missing."""
        for run in self.runs:
            if run.run == name and run.metric == metric:
                return run
        created = Run(name, metric)
        self.runs.append(created)
        return created

    # -- status ----------------------------------------------------------------------------
    def to_status(self) -> dict[str, Any]:
        """The state as camelCase status fields (None removes a field)."""
        return {
            "phase": self.phase,
            "message": self.message,
            "currentStepIndex": self.step,
            "stepStartedAt": self.step_started_at,
            "pausedForStep": self.paused_for_step or None,
            "stable": self.stable,
            "canary": self.canary,
            "salt": self.salt,
            "publishedAt": self.published_at,
            "aliasSwitchedAt": self.alias_switched_at,
            "promotedAt": self.promoted_at,
            "experimentStartedAt": self.experiment_started_at,
            "analysisRuns": [r.to_status() for r in self.runs] or None,
            "commands": dict(self.commands) or None,
        }

    @classmethod
    def from_status(cls, status: Mapping[str, Any]) -> CanaryState:
        """The state a previous pass left in status."""
        return cls(
            phase=status.get("phase"),
            message=status.get("message"),
            step=int(status.get("currentStepIndex") or 0),
            step_started_at=status.get("stepStartedAt"),
            paused_for_step=bool(status.get("pausedForStep")),
            stable=status.get("stable"),
            canary=status.get("canary"),
            salt=status.get("salt"),
            published_at=status.get("publishedAt"),
            alias_switched_at=status.get("aliasSwitchedAt"),
            promoted_at=status.get("promotedAt"),
            experiment_started_at=status.get("experimentStartedAt"),
            runs=[Run.from_status(r) for r in status.get("analysisRuns") or ()],
            commands={str(k): str(v) for k, v in (status.get("commands") or {}).items()},
        )
