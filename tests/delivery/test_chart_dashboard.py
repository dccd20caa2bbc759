"""The Grafana dashboard the chart ships: a ConfigMap for the Grafana sidecar (off by default), the
JSON it carries is the chart's dashboards/qco.json, its panels cover what an on-call engineer
looks at, and every PromQL query names only metrics the operator exports (taken from the running
operator's registry: family names with the suffixes each metric type gets on /metrics)."""

from __future__ import annotations

import json
import re
from typing import Any

from prometheus_client import CollectorRegistry

from qco.api.kinds import KINDS
from qco.metrics import Metrics
from tests.delivery.chart import CHART, only, render

DASHBOARD = json.loads((CHART / "dashboards" / "qco.json").read_text())

#: PromQL words that are not metric names.
KEYWORDS = {
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "and",
    "or",
    "unless",
    "bool",
    "offset",
}
SUFFIXES = {
    "counter": ("_total",),
    "histogram": ("_bucket", "_sum", "_count"),
    "summary": ("", "_sum", "_count"),
    "info": ("_info",),
    "gauge": ("",),
}


def exported_series() -> set[str]:
    """Every sample name the operator's registry can expose."""
    metrics = Metrics(CollectorRegistry(), kinds=tuple(k.kind for k in KINDS))
    names: set[str] = set()
    for family in metrics.registry.collect():
        names |= {family.name + suffix for suffix in SUFFIXES.get(family.type, ("",))}
        names |= {sample.name for sample in family.samples}
    return names


def metric_names(expr: str) -> set[str]:
    """Metric names in a PromQL expression: identifiers that are not functions, keywords, label
    names (inside {} or by/without (...)), durations, numbers or Grafana variables."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # string literals
    text = re.sub(r"\$\{?\w+\}?", "", text)  # Grafana variables ($__rate_interval, ${datasource})
    text = re.sub(r"\{[^}]*\}", "", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", "", text)  # range selectors
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", text)
    names = set()
    for match in re.finditer(r"(?<![\w.])([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\()?", text):
        word, call = match.group(1), match.group(2)
        if not call and word not in KEYWORDS:
            names.add(word)
    return names


def queries(dashboard: dict[str, Any]) -> list[tuple[str, str]]:
    """(panel title, expr) for every query of every panel, rows' nested panels included."""
    found = []
    for panel in dashboard["panels"]:
        for inner in [panel, *panel.get("panels", [])]:
            found += [(inner["title"], t["expr"]) for t in inner.get("targets", [])]
    return found


def test_metric_name_parser() -> None:
    expr = (
        'histogram_quantile(0.95, sum by (le, kind) (rate(qco_reconcile_duration_seconds_bucket{kind="x"}'
        "[$__rate_interval]))) / on(kind) group_left sum(qco_objects) and up"
    )
    assert metric_names(expr) == {"qco_reconcile_duration_seconds_bucket", "qco_objects", "up"}
    assert metric_names("qco_object_ready == 0") == {"qco_object_ready"}


def test_every_query_names_an_exported_metric() -> None:
    exported = exported_series()
    assert {"qco_reconciles_total", "qco_build_info", "process_resident_memory_bytes"} <= exported
    found = queries(DASHBOARD)
    assert len(found) >= 12
    for title, expr in found:
        names = metric_names(expr)
        assert names, (title, expr)
        assert names <= exported, f"{title}: {sorted(names - exported)} not exported by qco ({expr})"


def test_dashboard_covers_the_day2_questions() -> None:
    used = {name for _, expr in queries(DASHBOARD) for name in metric_names(expr)}
    assert used >= {
        "qco_objects",  # objects by condition
        "qco_object_ready",  # which object is not Ready
        "qco_reconciles_total",  # reconciles and errors
        "qco_reconcile_duration_seconds_bucket",
        "qco_qdrant_request_duration_seconds_bucket",  # latency to Qdrant
        "qco_drift_corrections_total",
        "qco_collection_status",
        "qco_collection_points",
    }
    variables = [v["name"] for v in DASHBOARD["templating"]["list"] if v["type"] == "datasource"]
    assert variables == ["datasource"]  # no datasource uid baked in
    for panel in DASHBOARD["panels"]:
        if panel["type"] != "row":
            assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]


def test_dashboard_covers_collection_health_and_search_tuning() -> None:
    by_title = {title: metric_names(expr) for title, expr in queries(DASHBOARD)}
    assert by_title["Health thresholds breached"] == {"qco_collection_health_breach"}
    assert by_title["Unindexed ratio"] == {"qco_collection_unindexed_ratio"}
    assert by_title["Segments"] == {"qco_collection_segments"}
    assert by_title["Probe latency p95"] == {"qco_collection_probe_p95_seconds"}
    assert by_title["Probe errors"] == {"qco_collection_probe_errors"}
    assert by_title["Recommended ef"] == {"qco_collection_search_recommended_ef"}
    assert by_title["Measured recall by ef"] == {"qco_collection_search_recall"}
    # Panels tile the 24-column grid without overlapping.
    cells: set[tuple[int, int]] = set()
    for panel in DASHBOARD["panels"]:
        g = panel["gridPos"]
        mine = {(x, y) for x in range(g["x"], g["x"] + g["w"]) for y in range(g["y"], g["y"] + g["h"])}
        assert g["x"] + g["w"] <= 24 and not mine & cells, panel["title"]
        cells |= mine


def test_configmap_for_the_grafana_sidecar_only_when_enabled() -> None:
    assert only(render({}), "ConfigMap") == []
    values = {
        "metrics": {
            "grafanaDashboard": {
                "enabled": True,
                "namespace": "monitoring",
                "annotations": {"grafana_folder": "Operators"},
                "label": "dashboards",
            }
        }
    }
    (configmap,) = [c for c in only(render(values), "ConfigMap") if c["metadata"]["name"] == "qco-dashboard"]
    assert configmap["metadata"]["namespace"] == "monitoring"
    assert configmap["metadata"]["labels"]["dashboards"] == "1"
    (default,) = only(render({"metrics": {"grafanaDashboard": {"enabled": True}}}), "ConfigMap")
    assert default["metadata"]["labels"]["grafana_dashboard"] == "1"  # kube-prometheus-stack's sidecar
    assert configmap["metadata"]["annotations"] == {"grafana_folder": "Operators"}
    assert json.loads(configmap["data"]["qco.json"]) == DASHBOARD
