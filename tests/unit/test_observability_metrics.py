"""What `/metrics` exposes beyond the counters: per-object readiness, build info, process metrics,
no `_created` series, result `error` for unexpected failures; and who Events come from."""

from __future__ import annotations

import os
import socket
from importlib import metadata

import kopf
import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from qco.handlers.runtime import configure_kopf
from qco.metrics import Metrics
from qco.settings import OperatorSettings
from tests.unit.fakes import body, harness
from tests.unit.test_reconcile_collection import failing, run


def samples(metrics: Metrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = generate_latest(metrics.registry).decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_build_info_process_metrics_and_no_created_series() -> None:
    metrics = Metrics()
    metrics.reconciles.labels("QdrantCollection", "ok").inc()
    exposed = samples(metrics)
    build = {"version": metadata.version("qdrant-collection-operator"), "kopf": "1.45.2"}
    (info,) = [(dict(labels), v) for (name, labels), v in exposed.items() if name == "qco_build_info"]
    assert {k: info[0][k] for k in build} == build and info[1] == 1.0
    assert exposed[("qco_reconciles_total", (("kind", "QdrantCollection"), ("result", "ok")))] == 1.0
    assert exposed[("process_open_fds", ())] > 0
    assert not [name for name, _ in exposed if name.endswith("_created")]


def test_per_object_ready_series_follow_the_object() -> None:
    metrics = Metrics()
    metrics.states.set("QdrantCollection", "u1", "Stalled", None, namespace="team", name="docs", reason="X")
    key = (
        "qco_object_ready",
        (("kind", "QdrantCollection"), ("name", "docs"), ("namespace", "team"), ("reason", "X")),
    )
    assert samples(metrics)[key] == 0.0
    metrics.states.set(
        "QdrantCollection", "u1", "Ready", "green", namespace="team", name="docs", reason="Synced"
    )
    ready = (*key[1][:3], ("reason", "Synced"))
    exposed = samples(metrics)
    assert exposed[("qco_object_ready", ready)] == 1.0 and key not in exposed
    metrics.states.forget("QdrantCollection", "u1")
    assert not [name for name, _ in samples(metrics) if name == "qco_object_ready"]


async def test_an_unexpected_failure_counts_as_result_error() -> None:
    h = harness()
    h.gateway().hook = failing(RuntimeError("bug"))
    result = await run(h, body())
    assert result.reason == "InternalError"
    assert h.ctx.metrics.reconciles.labels("QdrantCollection", "error")._value.get() == 1


@pytest.mark.parametrize("pod", ["qco-7d9f-abcde", None])
def test_events_come_from_qco_and_name_the_pod(pod: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    if pod:
        monkeypatch.setenv("POD_NAME", pod)
    else:
        monkeypatch.delenv("POD_NAME", raising=False)
    settings = kopf.OperatorSettings()
    configure_kopf(settings, OperatorSettings())
    posting = settings.posting
    expected = pod or socket.gethostname()
    assert (posting.reporting_component, posting.reporting_instance, posting.event_name_prefix) == (
        "qco",
        expected,
        "qco-",
    )
    assert os.environ.get("POD_NAME") == pod
