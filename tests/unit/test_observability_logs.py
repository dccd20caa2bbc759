"""Log lines and Events of a pass, for any kind (the machinery) and for collection changes: one
WARNING line and one Warning Event per transition into Stalled or into a failure (none while it
repeats), one INFO line and one Normal Event per change with old -> new values, `DriftCorrected`
for drift, and kopf's own formatting and levels."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from qdrant_client.http import models
from qdrant_client.http.exceptions import UnexpectedResponse

from qco.handlers.runtime import configure_logging
from qco.settings import OperatorSettings
from tests.unit.fakes import Harness, body, harness
from tests.unit.planning import patch_live
from tests.unit.test_reconcile_collection import LOG, converge, failing, last_status, run

V4 = {"size": 4, "distance": "Cosine"}


def lines(caplog: pytest.LogCaptureFixture, level: int) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOG.name and r.levelno == level]


async def feed_back(h: Harness, obj: dict[str, Any]) -> dict[str, Any]:
    await run(h, obj)
    return {**obj, "status": last_status(h)}


async def test_stalled_is_one_warning_line_and_one_warning_event_per_transition(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    h = harness()
    h.gateway().hook = failing(
        UnexpectedResponse(400, "Bad Request", b'{"status":{"error":"bad m"}}', httpx.Headers())
    )
    obj = body()
    for _ in range(3):
        obj = await feed_back(h, obj)
    message = "Qdrant rejected the request: bad m"
    assert lines(caplog, logging.WARNING) == [
        f"QdrantCollection team/docs stalled: QdrantRejected: {message}"
    ]
    assert h.events == [("docs", "Warning", "QdrantRejected", message)]
    # Another reason is another transition.
    h.gateway().hook = failing(UnexpectedResponse(401, "Unauthorized", b"{}", httpx.Headers()))
    await feed_back(h, obj)
    assert [(t, r) for _, t, r, _ in h.events] == [
        ("Warning", "QdrantRejected"),
        ("Warning", "QdrantUnauthorized"),
    ]


async def test_a_failure_is_one_warning_event_then_info_lines_while_it_repeats(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    h = harness()
    request = httpx.Request("GET", "http://qdrant:6333/collections/docs")
    h.gateway().hook = failing(httpx.ConnectError("refused", request=request))
    obj = body()
    for _ in range(3):
        obj = await feed_back(h, obj)
    message = "Qdrant at http://qdrant:6333 is unreachable: refused"
    assert h.events == [("docs", "Warning", "QdrantUnreachable", message)]
    assert lines(caplog, logging.WARNING) == [f"reconcile of QdrantCollection team/docs: {message}"]
    assert lines(caplog, logging.INFO) == [f"reconcile of QdrantCollection team/docs: {message}"] * 2


async def test_invalid_spec_goes_stalled_once() -> None:
    h = harness()
    obj = body(spec={"vectors": {"": {"size": 0, "distance": "Cosine"}}})
    for _ in range(2):
        obj = await feed_back(h, obj)
    assert [(t, r) for _, t, r, _ in h.events] == [("Warning", "InvalidSpec")]


async def test_changes_and_drift_are_lines_and_events_with_old_and_new_values(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    h = harness()
    obj = await converge(h, body(spec={"vectors": {"": V4}, "hnsw": {"m": 32}}))
    assert [(t, r) for _, t, r, _ in h.events] == [("Normal", "CreateCollection")]
    patch_live(h.gateway().collections["docs"], hnsw_config=models.HnswConfigDiff(m=16))
    caplog.clear()
    obj = await feed_back(h, obj)
    change = "update collection docs: hnsw.m: 16 -> 32"
    assert h.events[-1] == ("docs", "Normal", "DriftCorrected", change)
    assert lines(caplog, logging.INFO) == [f"QdrantCollection team/docs: {change}"]
    assert h.ctx.metrics.drift_corrections.labels("QdrantCollection")._value.get() == 1
    # A spec change is not drift: its reason is the action's.
    edited = {
        **obj,
        "metadata": {**obj["metadata"], "generation": 2},
        "spec": {**obj["spec"], "hnsw": {"m": 48}},
    }
    await feed_back(h, edited)
    assert h.events[-1] == ("docs", "Normal", "UpdateCollection", "update collection docs: hnsw.m: 32 -> 48")
    assert h.ctx.metrics.drift_corrections.labels("QdrantCollection")._value.get() == 1


@pytest.fixture
def root_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:], root.level = handlers, level


def _object_logger() -> logging.LoggerAdapter[logging.Logger]:
    ref = {"apiVersion": "qco.dev/v1alpha1", "kind": "QdrantCollection", "namespace": "team", "name": "docs"}
    return logging.LoggerAdapter(logging.getLogger("kopf.objects"), {"k8s_ref": ref})


@pytest.mark.usefixtures("root_logging")
def test_json_lines_come_from_kopf_with_the_object(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(OperatorSettings(log_format="json", log_level="INFO"))
    log = _object_logger()
    log.warning("QdrantCollection team/docs stalled: X: y")
    log.info("Handler 'qdrantcollections-event' succeeded.")  # kopf's routine line: DEBUG, not shown
    log.error("Handler 'qdrantcollections-delete' failed temporarily: deletion waits for Qdrant: down")
    entries = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert [(e["severity"], e["message"]) for e in entries] == [
        ("warn", "QdrantCollection team/docs stalled: X: y"),
        ("warn", "Handler 'qdrantcollections-delete' failed temporarily: deletion waits for Qdrant: down"),
    ]
    assert entries[0]["object"]["namespace"] == "team" and entries[0]["object"]["name"] == "docs"


@pytest.mark.usefixtures("root_logging")
def test_text_lines_carry_the_object_prefix_and_debug_shows_kopf_successes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging(OperatorSettings(log_format="text", log_level="DEBUG"))
    log = _object_logger()
    log.info("Handler 'qdrantcollections-event' succeeded.")
    (line,) = capsys.readouterr().err.splitlines()
    assert line.endswith(
        "kopf.objects         [DEBUG   ] [team/docs] Handler 'qdrantcollections-event' succeeded."
    )
