"""The chart's QdrantCollection health alerts fire under their condition and stay silent without it,
evaluated by Prometheus's own engine (`promtool test rules`) on series the operator's metrics
(qco_collection_health_breach) exposed, scrape after scrape."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prometheus_client import generate_latest

from qco.metrics import Metrics
from tests.delivery.promtool_series import Scrape, run_promtool, series_from_scrapes
from tests.delivery.test_chart_alerts import TEAM, rule_groups

UNHEALTHY, PROBE = "QcoCollectionUnhealthy", "QcoCollectionProbeFailing"
HEALTH_ALERTS = {UNHEALTHY, PROBE}
REASONS = ("UnindexedRatioExceeded", "TooManySegments", "TooFewPoints", "ProbeErrors", "ProbeLatencyExceeded")
DOCS = {"namespace": "search", "object": "docs"}


def breach_scrapes(breached: str | None, minutes: int) -> list[Scrape]:
    """What the operator exposes while `breached` (or nothing) holds for `minutes`."""
    metrics = Metrics()
    for reason in REASONS:
        metrics.collections.breach.labels("search", "docs", reason).set(1 if reason == breached else 0)
    metrics.collections.healthy.labels("search", "docs").set(0 if breached else 1)
    return [(generate_latest(metrics.registry).decode(), minutes)]


def case(
    breached: str | None, minutes: int, at: str, alert: str, fired: list[dict[str, str]]
) -> dict[str, Any]:
    return {
        "interval": "1m",
        "input_series": series_from_scrapes(
            breach_scrapes(breached, minutes), {"qco_collection_health_breach"}
        ),
        "alert_rule_test": [
            {
                "eval_time": at,
                "alertname": alert,
                "exp_alerts": [{"exp_labels": {**f, **TEAM}} for f in fired],
            }
        ],
    }


def test_health_alerts_fire_under_their_condition_and_not_without_it(tmp_path: Path) -> None:
    groups = rule_groups()
    assert {r["alert"] for g in groups for r in g["rules"]} >= HEALTH_ALERTS
    warning, critical = {"severity": "warning"}, {"severity": "critical"}
    cases = [
        case("TooFewPoints", 15, "12m", UNHEALTHY, [{**DOCS, "reason": "TooFewPoints", **warning}]),
        case("UnindexedRatioExceeded", 15, "12m", UNHEALTHY,
             [{**DOCS, "reason": "UnindexedRatioExceeded", **warning}]),
        case("TooFewPoints", 15, "8m", UNHEALTHY, []),  # not yet for 10m
        case(None, 15, "12m", UNHEALTHY, []),
        case("ProbeLatencyExceeded", 15, "12m", UNHEALTHY, []),  # its own alert
        case("ProbeLatencyExceeded", 10, "7m", PROBE,
             [{**DOCS, "reason": "ProbeLatencyExceeded", **critical}]),
        case("ProbeErrors", 10, "7m", PROBE, [{**DOCS, "reason": "ProbeErrors", **critical}]),
        case("TooManySegments", 10, "7m", PROBE, []),
        case(None, 10, "7m", PROBE, []),
    ]  # fmt: skip
    run_promtool(tmp_path, groups, cases)
