"""A fake world for the CanaryRollout planner: a clock, a routing ConfigMap, clients that confirm,
an alias, and a measurer; each `step()` is one pass as the reconciler runs it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from qco.api.canary import CanaryRolloutSpec
from qco.plan.canary import Decision, due_measurements, plan_canary, run_limit
from qco.plan.canary_analysis import judge_measurement, record
from qco.plan.canary_state import CanaryState, Observed, rfc3339

Measurer = Callable[[str, str, float], float | None]  # (run, metric, now) -> value


def spec_of(**fields: Any) -> CanaryRolloutSpec:
    base: dict[str, Any] = {"alias": "docs", "canary": "docs_v2", "routing": {"configMap": "docs-routing"}}
    return CanaryRolloutSpec.model_validate({**base, **fields})


@dataclass
class World:
    spec: CanaryRolloutSpec
    now: float = 1_700_000_000.0
    alias: str | None = "docs_v1"
    collections: frozenset[str] = frozenset({"docs_v1", "docs_v2", "docs_v3"})
    weights: dict[str, int] | None = None
    generation: int = 0
    clients: int = 0  # clients that confirm every generation at once
    annotations: dict[str, str] = field(default_factory=dict)
    alias_owner: str | None = None
    alias_deployment: str | None = None
    canary_source: str | None = None
    canary_problem: str | None = None
    measure: Measurer = lambda run, metric, now: 0.01
    state: CanaryState = field(default_factory=CanaryState)
    switches: list[str] = field(default_factory=list)
    publishes: list[dict[str, int]] = field(default_factory=list)
    events: list[str] = field(default_factory=list)
    last: Decision | None = None

    def step(self) -> Decision:
        """One pass: measurements due, plan, act."""
        for run, metric in due_measurements(self.spec, self.state, self.now):
            value = self.measure(run.run, metric.name, self.now)
            record(run, metric, judge_measurement(metric, value), rfc3339(self.now), run_limit(run, metric))
        observed = Observed(
            now=self.now,
            annotations=dict(self.annotations),
            alias_target=self.alias,
            collections=self.collections,
            weights=self.weights,
            generation=self.generation,
            confirmations=self.clients,
            alias_owner=self.alias_owner,
            alias_deployment=self.alias_deployment,
            canary_source=self.canary_source,
            canary_problem=self.canary_problem,
        )
        decision = plan_canary(self.spec, self.state, observed)
        if decision.publish is not None:
            self.weights, self.generation = dict(decision.publish), self.generation + 1
            self.publishes.append(dict(decision.publish))
        if decision.switch_alias is not None:
            self.alias = decision.switch_alias
            self.switches.append(decision.switch_alias)
        self.events += [reason for _, reason, _ in decision.events]
        # What a restarted operator would read back: the state goes through status.
        self.state = CanaryState.from_status(
            {k: v for k, v in self.state.to_status().items() if v is not None}
        )
        self.last = decision
        return decision

    def run_for(self, seconds: float, tick: float = 1.0) -> None:
        end = self.now + seconds
        while self.now < end:
            self.step()
            self.now += tick

    def command(self, name: str, value: str = "1") -> None:
        self.annotations[f"qco.dev/{name}"] = value

    @property
    def canary_weight(self) -> int | None:
        return None if self.weights is None else self.weights.get("docs_v2")
