"""CanaryRollout analysis end to end: `qco sandbox`, Debian's real Prometheus scraping the demo
application (examples/canary/demo_app.py) that serves searches through `qco.routing`, and an
operator the tests start and SIGKILL. One sandbox, one Prometheus and one operator for the module;
each test has its own alias, collections and routing ConfigMap."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from tests.e2e.canary_env import (
    SWITCH,
    Operator,
    alias_target,
    command,
    make_collections,
    rollout,
    routing_json,
    run_of,
    start_demo_app,
    start_operatorless_sandbox,
    wait_rollout,
)
from tests.e2e.conftest import ROOT, Sandbox, message_of, reason_of, status_of, stop_sandbox
from tests.e2e.waits import Samples, wait_until
from tests.plugins.prometheus_server import PrometheusServer, start_prometheus

EXAMPLES = ROOT / "examples" / "canary"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Sandbox, Operator, PrometheusServer]]:
    tmp = tmp_path_factory.mktemp("canary")
    sandbox = start_operatorless_sandbox(tmp)
    prometheus = start_prometheus(tmp / "prometheus")
    operator = Operator(sandbox, tmp / "operator.log").start()
    try:
        yield sandbox, operator, prometheus
    finally:
        operator.stop()
        prometheus.stop()
        assert stop_sandbox(sandbox) == 0


def error_rate(configmap: str, variant: str, window: str = "5s") -> str:
    """The share of a variant's searches that failed, from the app's qco.routing counters."""
    labels = f'configmap="{configmap}",variant="{variant}"'
    return (
        f"sum(rate(qco_routing_errors_total{{{labels}}}[{window}]))"
        f" / sum(rate(qco_routing_requests_total{{{labels}}}[{window}]))"
    )


def manifest(name: str, prometheus: PrometheusServer, count: int | None = 2, **spec: Any) -> str:
    """A CanaryRollout on alias `name` (collections name_v1/name_v2, ConfigMap name-routing) with an
    `errors` metric: the canary's error rate below 5%, measured every second."""
    errors = {
        "name": "errors",
        "interval": "1s",
        "count": count,
        "successCondition": "result < 0.05",
        "prometheus": {"address": prometheus.url, "query": error_rate(f"{name}-routing", f"{name}_v2")},
    }
    body: dict[str, Any] = {
        "alias": name,
        "canary": f"{name}_v2",
        "routing": {"configMap": f"{name}-routing", "minConfirmations": 1},
        "analysis": {"metrics": [{k: v for k, v in errors.items() if v is not None}]},
        **spec,
    }
    body = {k: v for k, v in body.items() if v is not None}
    return yaml.safe_dump(
        {"apiVersion": "qco.dev/v1alpha1", "kind": "CanaryRollout", "metadata": {"name": name}, "spec": body}
    )


def with_app(sandbox: Sandbox, prometheus: PrometheusServer, name: str) -> Any:
    """Collections, the demo app routing `name-routing`, scraped by Prometheus."""
    make_collections(sandbox, name, (f"{name}_v1", f"{name}_v2"))
    app = start_demo_app(sandbox, f"{name}-routing", fallback=name)
    prometheus.add_target(app.address, app=name)
    prometheus.wait_for(f'up{{app="{name}"}} == 1')  # scraped before the rollout starts
    return app


def test_healthy_canary_passes_analysis_and_switches_the_alias_once(world: Any) -> None:
    sandbox, _, prometheus = world
    app = with_app(sandbox, prometheus, "hc")
    try:
        sandbox.admin.reset_requests()
        steps = [
            {"setWeight": 20},
            {"pause": {"duration": "3s"}},
            {"analysis": {"metrics": ["errors"]}},
            {"setWeight": 60},
            {"pause": {"duration": "1s"}},
        ]
        sandbox.apply(manifest("hc", prometheus, steps=steps))
        final = wait_rollout(sandbox, "hc", lambda s: s.get("phase") in ("Succeeded", "Aborted", "Paused"))
        status = final["status"]
        assert status["phase"] == "Succeeded", status
        assert reason_of(final, "Ready") == "Succeeded"
        run = run_of(status, "step-2", "errors")
        assert run["phase"] == "Successful" and run["counts"]["Successful"] == 2
        assert [m["value"] for m in run["measurements"]] == [0.0, 0.0]
        assert alias_target(sandbox, "hc") == "hc_v2"
        assert sandbox.admin.count(*SWITCH) == 1
        assert status["weights"] == {"stable": 0, "canary": 100, "verified": 1}
        # Weights reached the app: it served both variants, and Prometheus scraped them.
        assert prometheus.wait_for('qco_routing_requests_total{configmap="hc-routing",variant="hc_v2"} > 0')
        assert prometheus.query('qco_routing_requests_total{configmap="hc-routing",variant="hc_v1"}')
        reasons = {e["reason"] for e in sandbox.events("hc")}
        assert {"Started", "StepCompleted", "AliasSwitched", "Succeeded"} <= reasons
    finally:
        app.stop()


def test_failing_metric_aborts_and_keeps_the_alias_on_stable(world: Any) -> None:
    sandbox, _, prometheus = world
    app = with_app(sandbox, prometheus, "fm")
    sandbox.admin.add_fault("/collections/fm_v2/points/query", "error", status=500)
    try:
        sandbox.admin.reset_requests()
        steps = [{"setWeight": 30}, {"pause": {"duration": "3s"}}, {"analysis": {"metrics": ["errors"]}}]
        sandbox.apply(manifest("fm", prometheus, steps=steps))
        final = wait_rollout(sandbox, "fm", lambda s: s.get("phase") in ("Succeeded", "Aborted", "Paused"))
        status = final["status"]
        assert status["phase"] == "Aborted", status
        assert (status_of(final, "Ready"), reason_of(final, "Ready")) == ("False", "Aborted")
        assert "errors: 1 failed measurements > failureLimit 0" in message_of(final, "Ready")
        assert "result < 0.05 does not hold for 1" in message_of(final, "Ready")
        assert run_of(status, "step-2", "errors")["measurements"][0]["value"] == 1.0
        assert alias_target(sandbox, "fm") == "fm_v1" and sandbox.admin.count(*SWITCH) == 0
        assert routing_json(sandbox, "fm-routing")["weights"] == {"fm_v1": 100, "fm_v2": 0}
        assert status["weights"]["canary"] == 0
    finally:
        sandbox.admin.clear_faults()
        app.stop()


def test_no_data_pauses_when_inconclusive_and_fails_when_told(world: Any) -> None:
    sandbox, _, prometheus = world
    absent = 'sum(rate(qco_routing_requests_total{configmap="nowhere"}[5s]))'
    metrics = [
        {
            "name": "quiet",
            "interval": "1s",
            "successCondition": "result > 0",
            "prometheus": {"address": prometheus.url, "query": absent},
        },
    ]
    for name, policy in (("nd", "Inconclusive"), ("nf", "Fail")):
        make_collections(sandbox, name, (f"{name}_v1", f"{name}_v2"))
        spec: dict[str, Any] = {
            "analysis": {"metrics": [{**metrics[0], "noData": policy}]},
            "routing": {"configMap": f"{name}-routing"},
            "steps": [{"setWeight": 10}, {"analysis": {"metrics": ["quiet"]}}, {"setWeight": 50}],
        }
        sandbox.apply(manifest(name, prometheus, **spec))
    paused = wait_rollout(sandbox, "nd", lambda s: s.get("phase") == "Paused")
    assert paused["status"]["currentStepIndex"] == 1 and paused["status"]["weights"]["canary"] == 10
    assert reason_of(paused, "Ready") == "AnalysisInconclusive"
    assert "no data (noData: Inconclusive)" in paused["status"]["message"]
    failed = wait_rollout(sandbox, "nf", lambda s: s.get("phase") == "Aborted")
    assert "no data (noData: Fail)" in message_of(failed, "Ready")
    # A human looked and promotes: the inconclusive step is done, the rollout goes on.
    command(sandbox, "nd", "promote")
    done = wait_rollout(sandbox, "nd", lambda s: s.get("phase") == "Succeeded")
    assert alias_target(sandbox, "nd") == "nd_v2" and alias_target(sandbox, "nf") == "nf_v1"
    assert done["status"]["weights"]["canary"] == 100


def test_post_promotion_failure_switches_the_alias_back(world: Any) -> None:
    sandbox, _, prometheus = world
    app = with_app(sandbox, prometheus, "pp")
    try:
        sandbox.admin.reset_requests()
        spec: dict[str, Any] = {
            "steps": [{"setWeight": 50}, {"pause": {"duration": "2s"}}],
            "postPromotion": {"window": "2m", "metrics": ["errors"]},
        }
        sandbox.apply(manifest("pp", prometheus, count=None, **spec))  # unbounded while the window runs
        promoted = wait_rollout(sandbox, "pp", lambda s: bool(s.get("aliasSwitchedAt")))
        assert promoted["status"]["phase"] == "Promoting" and alias_target(sandbox, "pp") == "pp_v2"
        # The canary breaks at full traffic.
        sandbox.admin.add_fault("/collections/pp_v2/points/query", "error", status=500)
        final = wait_rollout(sandbox, "pp", lambda s: s.get("phase") in ("Failed", "Succeeded"))
        assert final["status"]["phase"] == "Failed"
        assert "post-promotion analysis failed: errors" in message_of(final, "Ready")
        assert alias_target(sandbox, "pp") == "pp_v1"
        assert sandbox.admin.count(*SWITCH) == 2  # the switch and the switch back
        assert routing_json(sandbox, "pp-routing")["weights"] == {"pp_v1": 100, "pp_v2": 0}
        assert run_of(final["status"], "postPromotion", "errors")["phase"] == "Failed"
    finally:
        sandbox.admin.clear_faults()
        app.stop()


def test_experiment_summarises_each_variant_and_never_switches(world: Any) -> None:
    sandbox, _, prometheus = world
    app = with_app(sandbox, prometheus, "ab")
    try:
        sandbox.admin.reset_requests()
        spec: dict[str, Any] = {
            "canary": None,
            "analysis": None,
            "experiment": {
                "weights": {"ab_v1": 50, "ab_v2": 50},
                "duration": "6s",
                "prometheus": {"address": prometheus.url, "query": "unused"},
            },
        }
        sandbox.apply(manifest("ab", prometheus, **spec))
        final = wait_rollout(sandbox, "ab", lambda s: s.get("phase") == "Succeeded")
        summary = final["status"]["summary"]
        assert set(summary) == {"ab_v1", "ab_v2"}
        for variant in summary.values():
            assert variant["requests"] > 0 and variant["errorRate"] == 0.0
            assert 0 < variant["p50Seconds"] <= variant["p95Seconds"]
        assert sandbox.admin.count(*SWITCH) == 0 and alias_target(sandbox, "ab") == "ab_v1"
        assert routing_json(sandbox, "ab-routing")["weights"] == {"ab_v1": 100, "ab_v2": 0}
    finally:
        app.stop()


def test_abort_retry_and_promote_full(world: Any) -> None:
    sandbox, _, prometheus = world
    make_collections(sandbox, "mc", ("mc_v1", "mc_v2"))
    sandbox.admin.reset_requests()
    spec: dict[str, Any] = {
        "routing": {"configMap": "mc-routing"},
        "steps": [{"setWeight": 10}, {"pause": {}}, {"setWeight": 50}, {"pause": {}}],
    }
    sandbox.apply(manifest("mc", prometheus, **spec))
    wait_rollout(sandbox, "mc", lambda s: s.get("phase") == "Paused")
    command(sandbox, "mc", "abort")
    aborted = wait_rollout(sandbox, "mc", lambda s: s.get("phase") == "Aborted")
    assert (
        aborted["status"]["weights"]["canary"] == 0
        and routing_json(sandbox, "mc-routing")["weights"]["mc_v2"] == 0
    )
    assert message_of(aborted, "Ready") == "aborted by annotation qco.dev/abort"
    command(sandbox, "mc", "retry")
    again = wait_rollout(
        sandbox, "mc", lambda s: s.get("phase") == "Paused" and s.get("weights", {}).get("canary") == 10
    )
    assert again["status"]["currentStepIndex"] == 1
    out = command(sandbox, "mc", "promote-full")
    assert "promote-full requested" in out
    done = wait_rollout(sandbox, "mc", lambda s: s.get("phase") == "Succeeded")
    assert done["status"]["weights"]["canary"] == 100 and alias_target(sandbox, "mc") == "mc_v2"
    assert sandbox.admin.count(*SWITCH) == 1


def restarted_at_same_place(operator: Operator, name: str, step: int, phase: str) -> None:
    """SIGKILL the operator, start a new one, and wait until the new process itself reports the
    rollout at `step` in `phase` (its own metrics: the first pass after the restart)."""
    operator.kill()
    operator.start()

    def sample(samples: Samples, metric: str, **extra: str) -> float | None:
        return samples.get((metric, frozenset({"namespace": "default", "name": name, **extra}.items())))

    wait_until(
        operator.metrics,
        lambda s: sample(s, "qco_canary_step") == step and sample(s, "qco_canary_phase", phase=phase) == 1,
        what=f"{name} at step {step} ({phase}) after the restart",
    )


def test_killed_operator_resumes_each_step_without_repeating_a_switch(world: Any) -> None:
    sandbox, operator, prometheus = world
    app = with_app(sandbox, prometheus, "kr")
    try:
        sandbox.admin.reset_requests()
        spec = {
            "steps": [
                {"setWeight": 20},
                {"pause": {}},
                {"analysis": {"metrics": ["errors"]}},
                {"setWeight": 60},
                {"pause": {"duration": "10m"}},
            ],
            "postPromotion": {"window": "10m", "metrics": ["errors"]},
        }
        sandbox.apply(manifest("kr", prometheus, count=3, **spec).replace("interval: 1s", "interval: 2s"))
        paused = wait_rollout(sandbox, "kr", lambda s: s.get("phase") == "Paused")["status"]
        assert (paused["currentStepIndex"], paused["routingGeneration"]) == (1, 1)
        # 1. A pause until promoted: still paused at step 1 after the restart.
        restarted_at_same_place(operator, "kr", 1, "Paused")
        command(sandbox, "kr", "promote")
        # 2. Mid-analysis: the measurements taken survive; the run is not started again.
        analysing = wait_rollout(
            sandbox, "kr", lambda s: any(len(r["measurements"]) == 1 for r in s.get("analysisRuns") or ())
        )
        assert analysing["status"]["currentStepIndex"] == 2
        restarted_at_same_place(operator, "kr", 2, "Progressing")
        # 3. A timed pause (10m): its timer keeps its start across the restart; a human skips it.
        timed = wait_rollout(sandbox, "kr", lambda s: s.get("currentStepIndex") == 4)["status"]
        restarted_at_same_place(operator, "kr", 4, "Progressing")
        resumed = rollout(sandbox, "kr")["status"]
        assert (resumed["currentStepIndex"], resumed["stepStartedAt"]) == (4, timed["stepStartedAt"])
        command(sandbox, "kr", "promote")
        # 4. After the switch, during the post-promotion window (10m).
        switched = wait_rollout(sandbox, "kr", lambda s: bool(s.get("aliasSwitchedAt")))["status"]
        restarted_at_same_place(operator, "kr", 5, "Promoting")
        resumed = rollout(sandbox, "kr")["status"]
        assert resumed["aliasSwitchedAt"] == switched["aliasSwitchedAt"]
        assert run_of(resumed, "step-2", "errors")["counts"]["Successful"] == 3
        # Generations 1 (20 %), 2 (60 %), 3 (100 %): no split was published twice, and the alias
        # moved once (no other rollout in the sandbox touched an alias either).
        assert resumed["routingGeneration"] == 3
        assert alias_target(sandbox, "kr") == "kr_v2" and sandbox.admin.count(*SWITCH) == 1
        # A human rolls back inside the window: one more switch, back to stable.
        command(sandbox, "kr", "abort")
        final = wait_rollout(sandbox, "kr", lambda s: s.get("phase") == "Aborted")["status"]
        assert alias_target(sandbox, "kr") == "kr_v1" and sandbox.admin.count(*SWITCH) == 2
        assert final["weights"]["canary"] == 0
    finally:
        app.stop()
