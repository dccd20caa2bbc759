"""The CanaryRollout step machine on a fake clock: steps, commands, analysis, deadlines,
post-promotion rollback, experiments, and state that survives a restart (through status)."""

from __future__ import annotations

import pytest

from tests.unit.canary_world import World, spec_of

LATENCY = {
    "name": "latency",
    "interval": "10s",
    "count": 3,
    "successCondition": "result < 0.05",
    "prometheus": {"address": "http://prom:9090", "query": "q"},
}
STEPS = [{"setWeight": 10}, {"pause": {"duration": "30s"}}, {"setWeight": 50}, {"pause": {}}]


def test_a_healthy_rollout_walks_the_steps_pauses_and_is_promoted_with_one_switch() -> None:
    world = World(spec_of(steps=STEPS))
    world.step()
    assert (world.state.phase, world.state.step, world.weights) == (
        "Progressing",
        1,
        {"docs_v1": 90, "docs_v2": 10},
    )
    assert world.state.message == "step 1: pausing 30s"
    world.run_for(29)
    assert world.state.step == 1
    world.run_for(3)
    assert world.state.phase == "Paused" and world.state.step == 3 and world.canary_weight == 50
    world.run_for(100)
    assert world.state.phase == "Paused" and world.switches == []
    world.command("promote")
    world.step()
    assert world.state.phase == "Succeeded" and world.weights == {"docs_v1": 0, "docs_v2": 100}
    world.run_for(20)
    assert world.switches == ["docs_v2"] and world.alias == "docs_v2"
    assert [p["docs_v2"] for p in world.publishes] == [10, 50, 100]


def test_min_confirmations_hold_the_timer_and_the_deadline_aborts() -> None:
    world = World(
        spec_of(steps=STEPS, routing={"configMap": "r", "minConfirmations": 2}, progressDeadlineSeconds=60)
    )
    world.clients = 1
    world.run_for(50)
    assert world.state.step == 0 and world.state.phase == "Progressing"
    world.clients = 2
    world.step()
    assert world.state.step == 1 and world.state.step_started_at is not None
    world.run_for(33)
    assert world.state.step == 3  # a new generation: clients confirm at once here
    world.clients = 0
    world.state.step, world.weights = 2, {"docs_v1": 90, "docs_v2": 10}
    world.run_for(65)
    assert world.state.phase == "Aborted" and "ProgressDeadlineExceeded" in (world.state.message or "")
    assert world.canary_weight == 0 and world.alias == "docs_v1"


@pytest.mark.parametrize(
    ("values", "phase", "fragment"),
    [
        ([0.01, 0.02, 0.01], "Succeeded", ""),
        ([0.01, 0.2, 0.01], "Aborted", "1 failed measurements > failureLimit 0"),
        ([None, None, None], "Paused", "AnalysisInconclusive"),
    ],
)
def test_step_analysis_promotes_aborts_or_pauses(
    values: list[float | None], phase: str, fragment: str
) -> None:
    readings = iter(values)
    spec = spec_of(
        steps=[{"setWeight": 20}, {"analysis": {"metrics": ["latency"]}}], analysis={"metrics": [LATENCY]}
    )
    world = World(spec, measure=lambda run, metric, now: next(readings))
    world.run_for(40, tick=10)
    assert world.state.phase == phase
    assert fragment in (world.state.message or "")
    if phase == "Aborted":
        assert world.canary_weight == 0 and world.switches == []
        assert world.state.runs[0].measurements[1]["value"] == 0.2


@pytest.mark.parametrize(
    ("policy", "phase"), [("Fail", "Aborted"), ("Pass", "Succeeded"), ("Inconclusive", "Paused")]
)
def test_no_data_follows_its_policy(policy: str, phase: str) -> None:
    metric = {**LATENCY, "noData": policy, "minSamples": 0}
    spec = spec_of(
        steps=[{"setWeight": 20}, {"analysis": {"metrics": ["latency"]}}], analysis={"metrics": [metric]}
    )
    world = World(spec, measure=lambda run, metric, now: None)
    world.run_for(40, tick=10)
    assert world.state.phase == phase


def test_min_samples_make_a_run_of_no_data_inconclusive_never_successful() -> None:
    metric = {**LATENCY, "noData": "Inconclusive", "inconclusiveLimit": 2, "minSamples": 2}
    spec = spec_of(
        steps=[{"setWeight": 20}, {"analysis": {"metrics": ["latency"]}}], analysis={"metrics": [metric]}
    )
    values = iter([0.01, None, None])
    world = World(spec, measure=lambda run, metric, now: next(values))
    world.run_for(40, tick=10)
    assert world.state.phase == "Paused" and "1 samples < minSamples 2" in (world.state.message or "")
    world.command("promote")
    world.step()
    assert world.state.phase == "Succeeded"


def test_background_analysis_aborts_from_its_starting_step() -> None:
    values = {"background": [0.01, 0.01, 0.9]}
    spec = spec_of(steps=STEPS, analysis={"startingStep": 1, "metrics": [{**LATENCY, "count": None}]})
    world = World(spec, measure=lambda run, metric, now: values[run].pop(0))
    world.run_for(40, tick=5)
    assert world.state.phase == "Aborted" and "background analysis failed" in (world.state.message or "")
    assert world.canary_weight == 0


def test_commands_abort_retry_promote_full_each_act_once() -> None:
    world = World(spec_of(steps=STEPS))
    world.run_for(3)
    world.command("abort")
    world.run_for(3)
    assert world.state.phase == "Aborted" and world.canary_weight == 0
    world.command("retry")
    world.step()
    assert world.state.phase == "Progressing" and world.state.step == 1 and world.canary_weight == 10
    world.run_for(5)
    world.command("promote-full")
    world.run_for(5)
    assert world.state.phase == "Succeeded" and world.switches == ["docs_v2"]
    world.command("promote")  # nothing left to promote
    world.run_for(5)
    assert world.state.phase == "Succeeded" and world.switches == ["docs_v2"]
    assert world.events.count("Aborted") == 1 and world.events.count("Retried") == 1


def test_promote_skips_exactly_one_step_per_new_value() -> None:
    world = World(spec_of(steps=[{"setWeight": 10}, {"pause": {}}, {"setWeight": 20}, {"pause": {}}]))
    world.run_for(3)
    assert world.state.step == 1
    world.command("promote", "a")
    world.run_for(5)
    assert world.state.step == 3 and world.canary_weight == 20
    world.command("promote", "b")
    world.run_for(2)
    assert world.state.phase == "Succeeded"


def test_post_promotion_failure_switches_the_alias_back() -> None:
    values = iter([0.01, 0.5])
    spec = spec_of(
        steps=[{"setWeight": 50}],
        analysis={"metrics": [{**LATENCY, "count": None}]},
        postPromotion={"window": "1m", "metrics": ["latency"]},
    )
    world = World(spec, measure=lambda run, metric, now: next(values))
    world.run_for(30, tick=5)
    assert world.state.phase == "Failed" and world.switches == ["docs_v2", "docs_v1"]
    assert world.alias == "docs_v1" and world.canary_weight == 0


def test_post_promotion_window_ends_in_success() -> None:
    spec = spec_of(
        steps=[{"setWeight": 50}],
        analysis={"metrics": [{**LATENCY, "count": None}]},
        postPromotion={"window": "30s", "metrics": ["latency"]},
    )
    world = World(spec)
    world.run_for(60, tick=5)
    assert world.state.phase == "Succeeded" and world.switches == ["docs_v2"]


def test_an_alias_already_switched_before_a_crash_is_not_switched_again() -> None:
    world = World(spec_of(steps=[{"setWeight": 50}, {"pause": {}}]))
    world.run_for(3)
    world.command("promote")
    world.alias = "docs_v2"  # the pass that promoted switched, then the operator died before its status write
    world.weights = {"docs_v1": 0, "docs_v2": 100}
    world.run_for(5)
    assert world.state.phase == "Succeeded" and world.switches == []


def test_alias_owned_by_a_collection_stalls_and_nothing_is_published() -> None:
    world = World(spec_of(steps=STEPS), alias_owner="default/docs")
    decision = world.step()
    assert decision.stalled is not None and decision.stalled[0] == "AliasOwnedElsewhere"
    assert "default/docs" in decision.stalled[1] and world.publishes == []


def test_missing_stable_and_missing_collections_stall() -> None:
    assert World(spec_of(steps=STEPS), alias=None).step().stalled == (
        "NoStable",
        "alias docs points nowhere and spec.stable is not set",
    )
    world = World(spec_of(steps=STEPS), collections=frozenset({"docs_v1"}))
    assert world.step().stalled == ("CollectionNotFound", "collections ['docs_v2'] do not exist in Qdrant")


def test_an_experiment_holds_its_split_then_summarizes_and_never_switches() -> None:
    spec = spec_of(canary=None, experiment={"weights": {"docs_v2": 30, "docs_v1": 70}, "duration": "1m"})
    world = World(spec)
    world.run_for(59, tick=1)
    assert world.state.phase == "Progressing" and world.weights == {"docs_v1": 70, "docs_v2": 30}
    world.run_for(3)
    assert world.state.phase == "Succeeded" and world.switches == []
    assert world.weights == {"docs_v1": 100, "docs_v2": 0}
    assert any(p for p in world.publishes) and world.events.count("ExperimentFinished") == 1


def test_cel_conditions_compare_ints_with_doubles_and_bad_ones_are_errors() -> None:
    from qco.plan.canary_analysis import judge_measurement

    spec = spec_of(analysis={"metrics": [{**LATENCY, "successCondition": "result >= 1"}]})
    metric = spec.analysis.metrics[0]  # type: ignore[union-attr]
    assert judge_measurement(metric, 1.0).phase == "Successful"
    assert judge_measurement(metric, 0.5).phase == "Failed"
    bad = metric.model_copy(update={"success_condition": "result >"})
    assert judge_measurement(bad, 1.0).phase == "Error"
    both = metric.model_copy(update={"failure_condition": "result < 0.2"})
    assert judge_measurement(both, 0.5).phase == "Inconclusive"
    assert judge_measurement(both, 0.1).phase == "Failed"
