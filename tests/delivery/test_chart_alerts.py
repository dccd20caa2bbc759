"""Every alert of the chart's PrometheusRule fires under its condition and stays silent without it,
evaluated by Prometheus's own engine (`promtool test rules`) on series the operator's metrics
exposed scrape after scrape; each alert links a runbook that exists in docs/runbooks/."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from helm_python.errors import HelmRenderError
from prometheus_client import generate_latest
from qdrant_client.http.exceptions import UnexpectedResponse

from qco.api.collection import QDRANT_COLLECTION
from qco.handlers.loop import run_pass
from qco.handlers.runtime import ObjectSlot, Runtime
from qco.metrics import Metrics
from qco.reconcile.collection import COLLECTION_RECONCILER
from tests.delivery.chart import ALL_FEATURES, ROOT, only, render
from tests.delivery.promtool_series import Scrape, run_promtool, series_from_scrapes
from tests.unit.fakes import body, harness
from tests.unit.test_reconcile_collection import LOG, failing

TEAM = {"team": "search"}


def rule_groups() -> list[dict[str, Any]]:
    (rule,) = only(render(ALL_FEATURES), "PrometheusRule")
    groups: list[dict[str, Any]] = rule["spec"]["groups"]
    return groups


def scrape(metrics: Metrics) -> str:
    return generate_latest(metrics.registry).decode()


async def not_ready_scrapes(stalled: bool) -> list[Scrape]:
    """Two collections through the operator's own pass; `stalled`: one is refused by Qdrant."""
    h = harness()
    runtime = Runtime(h.ctx)
    if stalled:
        error = UnexpectedResponse(400, "Bad Request", b'{"status":{"error":"bad"}}', httpx.Headers())
        h.gateway("http://broken:6333").hook = failing(error)
    ok = body("docs", spec={"vectors": {"": {"size": 4, "distance": "Cosine"}}})
    bad = body(
        "images",
        spec={"vectors": {"": {"size": 4, "distance": "Dot"}}, "connection": {"url": "http://broken:6333"}},
    )
    for obj in (ok, bad):
        await run_pass(runtime, QDRANT_COLLECTION, COLLECTION_RECONCILER, ObjectSlot(), obj, LOG)
    return [(scrape(h.ctx.metrics), 20)]


def counted_scrapes(count: Any, minutes: int) -> list[Scrape]:
    """`count(metrics)` once per minute: a counter that grows while scrapes go on."""
    metrics = Metrics()
    scrapes: list[Scrape] = [(scrape(metrics), 1)]
    for _ in range(minutes):
        count(metrics)
        scrapes.append((scrape(metrics), 1))
    return scrapes


def case(
    scrapes: list[Scrape], names: set[str], at: str, alert: str, fired: list[dict[str, str]]
) -> dict[str, Any]:
    return {
        "interval": "1m",
        "input_series": series_from_scrapes(scrapes, names),
        "alert_rule_test": [
            {
                "eval_time": at,
                "alertname": alert,
                "exp_alerts": [{"exp_labels": {**labels, **TEAM}} for labels in fired],
            }
        ],
    }


def up_case(series: list[dict[str, str]], fired: list[dict[str, str]]) -> dict[str, Any]:
    """`up` is Prometheus's own series for its scrapes of the operator (job: the metrics Service)."""
    test = {
        "eval_time": "7m",
        "alertname": "QcoOperatorDown",
        "exp_alerts": [{"exp_labels": f} for f in fired],
    }
    return {"interval": "1m", "input_series": series, "alert_rule_test": [test]}


def backup_metrics(last_success: float, suspended: int, failed_runs: int) -> Metrics:
    metrics = Metrics()
    metrics.backups.set_last_success("search", "nightly", {"docs": last_success})
    metrics.backups.expected_interval.labels("search", "nightly").set(60)
    metrics.backups.suspended.labels("search", "nightly").set(suspended)
    # The series exists from 0 (as after a first run): increase() sees nothing of a series born at 1.
    metrics.backups.runs.labels("search", "nightly", "Failed").inc(0)
    for _ in range(failed_runs):
        metrics.backups.runs.labels("search", "nightly", "Failed").inc()
    return metrics


async def test_every_alert_fires_under_its_condition_and_not_without_it(tmp_path: Path) -> None:
    groups = rule_groups()
    alerts = {r["alert"] for g in groups for r in g["rules"]}
    red = Metrics()
    red.states.set(
        "QdrantCollection", "u1", "Stalled", "red", namespace="team", name="docs", reason="CollectionRed"
    )
    green = Metrics()
    green.states.set(
        "QdrantCollection", "u1", "Ready", "green", namespace="team", name="docs", reason="Synced"
    )
    errors = {"qco_reconciles_total"}
    drift = {"qco_drift_corrections_total"}
    backups = {
        "qco_backup_last_success_timestamp_seconds",
        "qco_backup_expected_interval_seconds",
        "qco_backup_suspended",
        "qco_backup_runs_total",
    }
    up_down = [{"series": 'up{job="qco-metrics"}', "values": "1 0x10"}]
    up_fine = [{"series": 'up{job="qco-metrics"}', "values": "1+0x10"}]
    nightly = {"namespace": "search", "schedule": "nightly"}
    ready = {"qco_object_ready"}
    coll = {"kind": "QdrantCollection"}
    images = {**coll, "namespace": "team", "name": "images", "reason": "QdrantRejected"}
    drifting = counted_scrapes(lambda m: m.drift_corrections.labels("QdrantCollection").inc(), 10)
    steady = counted_scrapes(lambda m: m.drift_corrections.labels("QdrantCollection").inc(0), 10)
    failing_passes = counted_scrapes(lambda m: m.reconciles.labels("QdrantCollection", "error").inc(3), 25)
    good_passes = counted_scrapes(lambda m: m.reconciles.labels("QdrantCollection", "ok").inc(3), 25)
    day = 25 * 60
    colours, warning = {"qco_collection_status"}, {"severity": "warning"}
    cases = [
        case(await not_ready_scrapes(True), ready, "16m", "QcoObjectNotReady", [{**images, **warning}]),
        case(await not_ready_scrapes(False), ready, "16m", "QcoObjectNotReady", []),
        up_case(up_down, [{"severity": "critical", **TEAM}]),
        up_case(up_fine, []),
        case([(scrape(red), 10)], colours, "6m", "QcoCollectionRed", [{"severity": "critical"}]),
        case([(scrape(green), 10)], colours, "6m", "QcoCollectionRed", []),
        case(drifting, drift, "10m", "QcoDriftCorrectedRepeatedly", [{**coll, "severity": "warning"}]),
        case(steady, drift, "10m", "QcoDriftCorrectedRepeatedly", []),
        case(failing_passes, errors, "25m", "QcoReconcileErrorsRising", [{**coll, "severity": "warning"}]),
        case(good_passes, errors, "25m", "QcoReconcileErrorsRising", []),
        case([(scrape(backup_metrics(0, 0, 0)), 10)], backups, "5m", "QcoBackupLate",
             [{**nightly, "collection": "docs", "severity": "critical"}]),
        case([(scrape(backup_metrics(250, 0, 0)), 10)], backups, "5m", "QcoBackupLate", []),
        case([(scrape(backup_metrics(0, 0, 0)), 1), (scrape(backup_metrics(0, 0, 1)), 10)], backups, "5m",
             "QcoBackupFailed", [{**nightly, "severity": "warning"}]),
        case([(scrape(backup_metrics(0, 0, 0)), 11)], backups, "5m", "QcoBackupFailed", []),
        case([(scrape(backup_metrics(0, 1, 0)), day)], backups, "1d1h", "QcoBackupSuspended",
             [{**nightly, "severity": "info"}]),
        case([(scrape(backup_metrics(0, 0, 0)), day)], backups, "1d1h", "QcoBackupSuspended", []),
    ]  # fmt: skip
    # QdrantCollection health alerts: tests/delivery/test_chart_health_alerts.py
    health = {"QcoCollectionUnhealthy", "QcoCollectionProbeFailing"}
    assert {c["alert_rule_test"][0]["alertname"] for c in cases} == alerts - health
    run_promtool(tmp_path, groups, cases)


@pytest.mark.parametrize("name", ["docs", "images"])
async def test_the_not_ready_series_names_each_object(name: str) -> None:
    ((text, _),) = await not_ready_scrapes(True)
    reason = "Synced" if name == "docs" else "QdrantRejected"
    value = "1.0" if name == "docs" else "0.0"
    labels = f'kind="QdrantCollection",name="{name}",namespace="team",reason="{reason}"'
    line = f"qco_object_ready{{{labels}}} {value}"
    assert line in text.splitlines()


def test_every_alert_links_a_runbook_that_exists() -> None:
    for group in rule_groups():
        for rule in group["rules"]:
            url = rule["annotations"]["runbook_url"]
            match = re.fullmatch(r"https://\S+/docs/runbooks/(\w+\.md)", url)
            assert match and match.group(1) == f"{rule['alert']}.md", url
            page = ROOT / "docs" / "runbooks" / match.group(1)
            assert page.read_text().startswith(f"# {rule['alert']}")


def test_alerts_need_a_runbook_base_url() -> None:
    # No public repository to link by default: the alerts refuse to render without one.
    with pytest.raises(HelmRenderError, match=r"metrics\.prometheusRule\.runbookBaseUrl is required"):
        render({"metrics": {"prometheusRule": {"enabled": True}}})
    (rule,) = only(
        render(
            {"metrics": {"prometheusRule": {"enabled": True, "runbookBaseUrl": "https://wiki.example/rb"}}}
        ),
        "PrometheusRule",
    )
    urls = {r["annotations"]["runbook_url"] for g in rule["spec"]["groups"] for r in g["rules"]}
    assert "https://wiki.example/rb/QcoOperatorDown.md" in urls
