"""Steady state and metrics, on a sandbox of this module's own: every Qdrant request the stand-in
counts and every sample the operator exports comes from this module's objects, so the tests can
assert exact numbers per object instead of "at least one" on a shared server."""

from __future__ import annotations

from collections import Counter

from tests.e2e.conftest import Sandbox, collection_manifest
from tests.e2e.waits import count, metrics_base, scrape, value, wait_until

VECTOR = {"": {"size": 4, "distance": "Dot"}}
KIND = "QdrantCollection"


def test_metrics_report_the_collection(sandbox: Sandbox, unique: str) -> None:
    base = metrics_base(sandbox.operator_log())
    before = scrape(base)
    assert value(before, "qco_objects", kind=KIND, condition="Ready") == 0
    assert count(before, "qco_reconciles_total", kind=KIND, result="ok") == 0

    name = f"metrics-{unique}"
    # A pass only on changes (no timer pass for an hour), so the counters below are this object's.
    sandbox.apply(collection_manifest(name, {"vectors": VECTOR, "driftInterval": "1h"}))
    sandbox.wait_ready(name)
    gets = sandbox.admin.count("GET", "/collections/{collection_name}")
    after = scrape(base)

    assert value(after, "qco_objects", kind=KIND, condition="Ready") == 1
    for condition in ("Reconciling", "Stalled", "Paused"):
        assert value(after, "qco_objects", kind=KIND, condition=condition) == 0
    assert value(after, "qco_collection_status", status="green") == 1
    for colour in ("yellow", "grey", "red", "missing"):
        assert value(after, "qco_collection_status", status=colour) == 0
    create = {"operation": "create_collection", "outcome": "ok"}
    assert value(after, "qco_qdrant_request_duration_seconds_count", **create) == 1
    assert sandbox.admin.count("PUT", "/collections/{collection_name}") == 1
    # One pass created the collection and reported it Ready; the operator counted every read of it
    # that the server saw, whatever its outcome (the first one found nothing).
    assert value(after, "qco_reconciles_total", kind=KIND, result="ok") == 1
    reads = sum(
        n
        for (sample, labels), n in after.items()
        if sample == "qco_qdrant_request_duration_seconds_count" and ("operation", "get_collection") in labels
    )
    assert reads == gets >= 1
    assert count(after, "qco_drift_corrections_total", kind=KIND) == 0


def test_steady_state_reads_once_per_pass_and_writes_nothing(sandbox: Sandbox, unique: str) -> None:
    """N timer passes of one object: exactly N reads of its collection, no other request, no write
    to Kubernetes. The only other object here (above) runs no timer pass, so the pass counter is
    this object's."""
    name = f"steady-{unique}"
    sandbox.apply(collection_manifest(name, {"vectors": VECTOR, "driftInterval": "5s"}))
    before = sandbox.wait_ready(name)
    base = metrics_base(sandbox.operator_log())

    def passes() -> float:
        return value(scrape(base), "qco_reconciles_total", kind=KIND, result="ok")

    def after_a_pass(seen: float) -> tuple[float, Counter[str]]:
        # Read the server's counters right after a pass ended: the next one is ~5 s away.
        count = wait_until(passes, lambda n: n > seen, timeout=30, what="a timer pass")
        return count, Counter(sandbox.admin.requests())

    first, start = after_a_pass(passes())
    last, end = after_a_pass(first + 2)
    made = end - start
    assert last - first >= 3
    assert dict(made) == {"GET /collections/{collection_name}": last - first}
    assert sandbox.get(name)["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
