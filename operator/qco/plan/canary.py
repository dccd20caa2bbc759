"""The CanaryRollout step machine: (spec, state, what was observed, now) -> the next state and what
to do (publish a split, switch the alias). Pure and level-based: every pass recomputes from the
state kept in status, so a restarted operator resumes at the same step without repeating a switch.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from qco.api.canary import CanaryRolloutSpec, MetricSpec
from qco.api.durations import parse_duration
from qco.plan.canary_analysis import Run, verdict
from qco.plan.canary_state import CanaryState, Observed, at, rfc3339

#: Steering annotations (commands); a new value is a new command.
COMMANDS = ("promote", "promote-full", "abort", "retry")
#: Poll while clients confirm a weight: the bench measures propagation against this.
CONFIRM_POLL_SECONDS = 0.5
#: Longest sleep while something is timed (pauses, measurements, windows).
MAX_WAKE_SECONDS = 10.0
TERMINAL = ("Succeeded", "Aborted", "Failed")


@dataclass
class Decision:
    """What one pass does and reports."""

    state: CanaryState
    publish: dict[str, int] | None = None  # weights to publish (stable first, canary last)
    switch_alias: str | None = None  # point the alias at this collection, in one request
    events: list[tuple[str, str, str]] = field(default_factory=list)  # (type, reason, message)
    wake_in: float | None = None
    stalled: tuple[str, str] | None = None  # (reason, message): nothing is done
    summarize: bool = False  # the experiment ended: read its per-variant summary

    def soon(self, seconds: float) -> None:
        """Wake no later than `seconds` from now."""
        seconds = max(CONFIRM_POLL_SECONDS, min(seconds, MAX_WAKE_SECONDS))
        self.wake_in = seconds if self.wake_in is None else min(self.wake_in, seconds)


def metric_named(spec: CanaryRolloutSpec, name: str) -> MetricSpec:
    """A metric definition by name (the spec validator guarantees it exists)."""
    return next(m for m in (spec.analysis.metrics if spec.analysis else []) if m.name == name)


def new_commands(annotations: Mapping[str, str], seen: Mapping[str, str]) -> list[str]:
    """Commands whose annotation value differs from the one already acted upon, in a fixed order."""
    return [c for c in COMMANDS if annotations.get(f"qco.dev/{c}") not in (None, "", seen.get(c))]


def plan_canary(spec: CanaryRolloutSpec, state: CanaryState, observed: Observed) -> Decision:
    """The next state of the rollout and the actions that get there."""
    now = observed.now
    decision = Decision(state)
    if observed.alias_owner is not None:
        decision.stalled = (
            "AliasOwnedElsewhere",
            f"alias {spec.alias} is declared by QdrantCollection {observed.alias_owner} (spec.aliases);"
            " remove it there to let this rollout take it over",
        )
        return decision
    if observed.alias_deployment is not None:
        decision.stalled = (
            "AliasOwnedElsewhere",
            f"alias {spec.alias} is switched by CollectionDeployment {observed.alias_deployment};"
            f" roll its revision out with canaryFrom: {{collectionDeployment: {observed.alias_deployment}}}",
        )
        return decision
    if state.phase in (None, "Pending"):
        stable = spec.stable or observed.alias_target
        if stable is None:
            decision.stalled = ("NoStable", f"alias {spec.alias} points nowhere and spec.stable is not set")
            return decision
        canary = spec.canary or observed.canary_source
        if spec.canary_from is not None and canary is None:
            problem = observed.canary_problem or "the canary's deployment revision is not known yet"
            decision.stalled = ("CanaryNotFound", f"spec.canaryFrom: {problem}")
            return decision
        _start(state, spec, stable, canary, now)
        decision.events.append(("Normal", "Started", f"rollout of {state.canary} started (stable {stable})"))
    missing = [c for c in state.collections(spec) if c not in observed.collections]
    if missing:
        decision.stalled = ("CollectionNotFound", f"collections {missing} do not exist in Qdrant")
        return decision
    seen = dict(state.commands)
    for command in new_commands(observed.annotations, seen):
        state.commands[command] = observed.annotations[f"qco.dev/{command}"]
        _command(spec, state, observed, command, decision)
    if spec.experiment is not None:
        _experiment(spec, state, observed, decision)
    elif state.phase in ("Progressing", "Paused"):
        _progress(spec, state, observed, decision)
    if state.phase == "Promoting":
        _promote(spec, state, observed, decision)
    _settle(spec, state, observed, decision)
    return decision


def _start(state: CanaryState, spec: CanaryRolloutSpec, stable: str, canary: str | None, now: float) -> None:
    state.stable, state.canary = stable, canary
    state.reset(now)
    state.phase = "Progressing"
    if spec.experiment is not None:
        state.experiment_started_at = rfc3339(now)


def _command(
    spec: CanaryRolloutSpec, state: CanaryState, observed: Observed, command: str, decision: Decision
) -> None:
    if command == "abort" and state.phase not in TERMINAL:
        _abort(state, "Aborted", "aborted by annotation qco.dev/abort", decision)
    elif command == "retry" and state.phase in ("Aborted", "Failed"):
        state.reset(observed.now)
        state.phase = "Progressing"
        if spec.experiment is not None:
            state.experiment_started_at = rfc3339(observed.now)
        decision.events.append(("Normal", "Retried", "rollout restarted from step 0 (qco.dev/retry)"))
    elif command == "promote-full" and state.phase in ("Progressing", "Paused") and spec.experiment is None:
        state.phase, state.message = "Promoting", "promoted in full (qco.dev/promote-full)"
        state.promoted_at = rfc3339(observed.now)
        decision.events.append(("Normal", "PromotedFull", "skipping to 100% (qco.dev/promote-full)"))
    elif command == "promote" and state.phase in ("Progressing", "Paused") and spec.experiment is None:
        # Resume from an inconclusive pause: its runs start afresh; the current step is done.
        state.runs = [r for r in state.runs if r.phase != "Inconclusive"]
        decision.events.append(("Normal", "Promoted", f"step {state.step} completed by qco.dev/promote"))
        _next_step(spec, state, observed.now)


def _abort(state: CanaryState, phase: str, message: str, decision: Decision) -> None:
    state.phase, state.message = phase, message
    decision.events.append(("Warning", phase, message))


def _next_step(spec: CanaryRolloutSpec, state: CanaryState, now: float) -> None:
    state.step += 1
    state.step_started_at = None
    state.paused_for_step = False
    state.phase = "Progressing"
    state.message = None
    if state.step >= len(spec.steps):
        state.phase = "Promoting"
        state.promoted_at = rfc3339(now)


def _confirmed(spec: CanaryRolloutSpec, state: CanaryState, observed: Observed, decision: Decision) -> bool:
    """Whether the published split is the desired one and enough clients confirmed it."""
    desired = state.desired_weights(spec)
    # Several steps can pass in one pass: compare with what this pass already decided to publish.
    current = decision.publish if decision.publish is not None else observed.weights
    if current != desired:
        decision.publish = desired
        state.published_at = rfc3339(observed.now)
        if spec.routing.min_confirmations == 0:
            return True  # published, not awaited
        decision.soon(CONFIRM_POLL_SECONDS)
        return False
    if decision.publish is not None and spec.routing.min_confirmations > 0:
        decision.soon(CONFIRM_POLL_SECONDS)  # decided this pass: nobody confirmed it yet
        return False
    if decision.publish is not None or observed.confirmations >= spec.routing.min_confirmations:
        return True
    published = at(state.published_at) or observed.now
    if observed.now - published > spec.progress_deadline_seconds:
        _abort(
            state,
            "Aborted",
            f"ProgressDeadlineExceeded: {observed.confirmations} of {spec.routing.min_confirmations} clients"
            f" confirmed generation {observed.generation} within {spec.progress_deadline_seconds}s",
            decision,
        )
        return False
    decision.soon(CONFIRM_POLL_SECONDS)
    return False


def _progress(spec: CanaryRolloutSpec, state: CanaryState, observed: Observed, decision: Decision) -> None:
    now = observed.now
    for _ in range(len(spec.steps) + 1):
        if state.phase != "Progressing" and not (state.phase == "Paused" and state.paused_for_step):
            return
        if state.step >= len(spec.steps):
            state.phase, state.promoted_at = "Promoting", rfc3339(now)
            return
        if not _background_ok(spec, state, decision):
            return
        step = spec.steps[state.step]
        if step.set_weight is not None:
            if not _confirmed(spec, state, observed, decision):
                return
        elif step.pause is not None:
            state.step_started_at = state.step_started_at or rfc3339(now)
            seconds = parse_duration(step.pause.duration) if step.pause.duration else None
            if seconds is None:
                state.phase, state.message = "Paused", f"step {state.step}: paused until promoted"
                state.paused_for_step = True
                return
            left = (at(state.step_started_at) or now) + seconds - now
            if left > 0:
                state.message = f"step {state.step}: pausing {step.pause.duration}"
                decision.soon(left)
                return
        elif step.analysis is not None:
            state.step_started_at = state.step_started_at or rfc3339(now)
            runs = [state.run(f"step-{state.step}", name) for name in step.analysis.metrics]
            phase, worst = verdict(runs)
            if phase in ("Failed", "Error"):
                _abort(state, "Aborted", f"analysis failed: {worst.message if worst else ''}", decision)
                return
            if phase == "Inconclusive":
                state.phase = "Paused"
                state.message = f"AnalysisInconclusive: {worst.message if worst else ''}; promote or abort"
                return
            if phase == "Running":
                state.message = f"step {state.step}: analysis running"
                decision.soon(min(_interval(metric_named(spec, r.metric)) for r in runs))
                return
        decision.events.append(("Normal", "StepCompleted", f"step {state.step} completed"))
        _next_step(spec, state, now)


def _background_ok(spec: CanaryRolloutSpec, state: CanaryState, decision: Decision) -> bool:
    analysis = spec.analysis
    if analysis is None or analysis.starting_step is None or state.step < analysis.starting_step:
        return True
    runs = [state.run("background", m.name) for m in analysis.metrics]
    if not runs:
        return True
    phase, worst = verdict(runs)
    if phase in ("Failed", "Error"):
        _abort(state, "Aborted", f"background analysis failed: {worst.message if worst else ''}", decision)
        return False
    if phase == "Inconclusive":
        state.phase = "Paused"
        state.message = f"AnalysisInconclusive: {worst.message if worst else ''}; promote or abort"
        return False
    decision.soon(min(_interval(m) for m in analysis.metrics))
    return True


def _promote(spec: CanaryRolloutSpec, state: CanaryState, observed: Observed, decision: Decision) -> None:
    if state.alias_switched_at is None:
        if not _confirmed(spec, state, observed, decision):
            return
        if observed.alias_target != state.canary:
            decision.switch_alias = state.canary
            decision.events.append(("Normal", "AliasSwitched", f"alias {spec.alias} -> {state.canary}"))
        state.alias_switched_at = rfc3339(observed.now)
    post = spec.post_promotion
    if post is None:
        _succeed(state, decision)
        return
    runs = [state.run("postPromotion", name) for name in post.metrics]
    phase, worst = verdict(runs)
    if phase in ("Failed", "Error"):
        if observed.alias_target == state.canary or decision.switch_alias == state.canary:
            decision.switch_alias = state.stable
            decision.events.append(("Warning", "AliasRolledBack", f"alias {spec.alias} -> {state.stable}"))
        _abort(state, "Failed", f"post-promotion analysis failed: {worst.message if worst else ''}", decision)
        return
    end = (at(state.alias_switched_at) or observed.now) + (parse_duration(post.window) or 0)
    if observed.now >= end:
        _succeed(state, decision)
        return
    state.message = f"post-promotion analysis until {rfc3339(end)}"
    decision.soon(min(end - observed.now, *(_interval(metric_named(spec, n)) for n in post.metrics)))


def _succeed(state: CanaryState, decision: Decision) -> None:
    state.phase, state.message = "Succeeded", f"{state.canary} serves the alias"
    decision.events.append(("Normal", "Succeeded", state.message))


def _experiment(spec: CanaryRolloutSpec, state: CanaryState, observed: Observed, decision: Decision) -> None:
    assert spec.experiment is not None
    if state.phase != "Progressing":
        return
    if not _confirmed(spec, state, observed, decision):
        return
    started = at(state.experiment_started_at) or observed.now
    end = started + (parse_duration(spec.experiment.duration) or 0)
    if observed.now >= end:
        state.phase, state.message = "Succeeded", "experiment finished; summary in status.summary"
        decision.summarize = True
        decision.events.append(("Normal", "ExperimentFinished", state.message))
        return
    state.message = f"experiment until {rfc3339(end)}"
    decision.soon(end - observed.now)


def _settle(spec: CanaryRolloutSpec, state: CanaryState, observed: Observed, decision: Decision) -> None:
    """Terminal phases keep their split published; an abort keeps (or puts back) the alias on stable."""
    if state.phase in ("Aborted", "Failed"):
        if observed.alias_target == state.canary and decision.switch_alias is None and state.stable:
            decision.switch_alias = state.stable
            decision.events.append(("Warning", "AliasRolledBack", f"alias {spec.alias} -> {state.stable}"))
        state.alias_switched_at = None
    if state.phase in TERMINAL and decision.publish is None:
        desired = state.desired_weights(spec)
        if observed.weights != desired:
            decision.publish = desired
            state.published_at = rfc3339(observed.now)


def _interval(metric: MetricSpec) -> float:
    return parse_duration(metric.interval) or 60.0


def due_measurements(spec: CanaryRolloutSpec, state: CanaryState, now: float) -> list[tuple[Run, MetricSpec]]:
    """The running runs whose next measurement is due (first measurement at once)."""
    due = []
    for run in state.runs:
        if run.phase != "Running" or not _active(spec, state, run):
            continue
        metric = metric_named(spec, run.metric)
        last = at(run.last_at())
        if last is None or now - last >= _interval(metric) - 0.05:
            due.append((run, metric))
    return due


def _active(spec: CanaryRolloutSpec, state: CanaryState, run: Run) -> bool:
    if run.run == "postPromotion":
        return state.phase == "Promoting" and state.alias_switched_at is not None
    if run.run == "background":
        return state.phase in ("Progressing", "Paused")
    return state.phase in ("Progressing", "Paused") and run.run == f"step-{state.step}"


def run_limit(run: Run, metric: MetricSpec) -> int | None:
    """How many measurements end a run: count; a step's default is 1; background and post-promotion
    runs without count go on while active."""
    if metric.count is not None:
        return metric.count
    return 1 if run.run.startswith("step-") else None


def status_fields(state: CanaryState) -> dict[str, Any]:
    """The state as status fields (camelCase)."""
    return state.to_status()
