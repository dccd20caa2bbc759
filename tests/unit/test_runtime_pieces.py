"""Small pure pieces of the runtime: settings, durations, the error classifier, JSON logs."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from prometheus_client import generate_latest
from pydantic import ValidationError
from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

from qco.api.durations import parse_duration
from qco.cli import main
from qco.clients.errors import FailureKind, classify
from qco.handlers.loop import next_delay
from qco.metrics import Metrics
from qco.reconcile.outcome import PassResult
from qco.settings import OperatorSettings


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("60s", 60),
        ("5m", 300),
        ("1h30m", 5400),
        ("250ms", 0.25),
        ("1.5s", 1.5),
        ("", None),
        ("5", None),
        ("5x", None),
    ],
)
def test_parse_duration(text: str, seconds: float | None) -> None:
    assert parse_duration(text) == seconds


def test_settings_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    key_file = tmp_path / "key"
    key_file.write_text("  k3y\n")
    monkeypatch.setenv("QCO_QDRANT_URL", "http://qdrant:6333")
    monkeypatch.setenv("QCO_QDRANT_API_KEY_FILE", str(key_file))
    monkeypatch.setenv("QCO_NAMESPACES", "team-a, team-b,")
    monkeypatch.setenv("QCO_LOG_FORMAT", "json")
    settings = OperatorSettings()
    assert settings.namespaces == ["team-a", "team-b"]
    assert settings.default_api_key() == "k3y"
    assert "k3y" not in repr(settings)


@pytest.mark.parametrize(
    ("name", "value"), [("QCO_LOG_FORMAT", "xml"), ("QCO_MAX_CONCURRENCY_PER_ENDPOINT", "0")]
)
def test_bad_settings_name_the_variable(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError) as error:
        OperatorSettings()
    assert name.removeprefix("QCO_").lower() in str(error.value)


def _response(status: int, body: bytes) -> UnexpectedResponse:
    return UnexpectedResponse(status, "x", body, httpx.Headers())


@pytest.mark.parametrize(
    ("exc", "kind", "reason"),
    [
        (_response(503, b'{"status":{"error":"busy"}}'), FailureKind.TRANSIENT, "QdrantUnavailable"),
        (_response(429, b""), FailureKind.TRANSIENT, "QdrantUnavailable"),
        (_response(409, b'{"status":{"error":"exists"}}'), FailureKind.TRANSIENT, "QdrantConflict"),
        (_response(403, b""), FailureKind.INVALID, "QdrantUnauthorized"),
        (_response(400, b'{"status":{"error":"bad size"}}'), FailureKind.INVALID, "QdrantRejected"),
        (_response(418, b""), FailureKind.UNKNOWN, "QdrantError"),
        (
            ResponseHandlingException(httpx.ConnectError("refused")),
            FailureKind.TRANSIENT,
            "QdrantUnreachable",
        ),
        (httpx.ReadTimeout("slow"), FailureKind.TRANSIENT, "QdrantUnreachable"),
        (TimeoutError(), FailureKind.TRANSIENT, "QdrantUnreachable"),
        (KeyError("x"), FailureKind.UNKNOWN, "InternalError"),
    ],
)
def test_error_classifier(exc: BaseException, kind: FailureKind, reason: str) -> None:
    failure = classify(exc)
    assert (failure.kind, failure.reason) == (kind, reason)
    assert failure.retry_after > 0


def test_qdrant_error_text_comes_from_its_envelope() -> None:
    assert classify(_response(400, b'{"status":{"error":"Wrong input: bad size"}}')).message.endswith(
        "Wrong input: bad size"
    )


@pytest.mark.parametrize(
    ("result", "failures", "delay"),
    [
        (PassResult(60, 10.0, "Reconciling", failed=True), 1, 10.0),
        (PassResult(60, 10.0, "Reconciling", failed=True), 2, 20.0),
        (PassResult(60, 10.0, "Reconciling", failed=True), 9, 30.0),  # Qdrant's return is noticed quickly
        (PassResult(60, 120.0, "Stalled", failed=True), 1, 120.0),
        (PassResult(60, 120.0, "Stalled", failed=True), 3, 480.0),
        (PassResult(60, 120.0, "Stalled", failed=True), 40, 600.0),  # slow, but never given up
        (PassResult(60, 5.0, "Reconciling"), 0, 5.0),  # optimizing: a short poll
    ],
)
def test_retry_backoff(result: PassResult, failures: int, delay: float) -> None:
    assert next_delay(result, failures) == delay


def test_drift_interval_is_jittered() -> None:
    delays = {next_delay(PassResult(60), 0) for _ in range(50)}
    assert all(54 <= d <= 66 for d in delays)
    assert len(delays) > 1


def test_object_state_gauges_count_at_scrape_time() -> None:
    metrics = Metrics()
    metrics.states.set("QdrantCollection", "a", "Ready", "green")
    metrics.states.set("QdrantCollection", "b", "Ready", "green")
    metrics.states.set("QdrantCollection", "c", "Stalled", "red")
    metrics.states.set("QdrantCollection", "b", "Reconciling", "yellow")  # a later pass replaces
    metrics.states.forget("QdrantCollection", "a")
    text = generate_latest(metrics.registry).decode()
    assert 'qco_objects{condition="Ready",kind="QdrantCollection"} 0.0' in text
    assert 'qco_objects{condition="Reconciling",kind="QdrantCollection"} 1.0' in text
    assert 'qco_objects{condition="Stalled",kind="QdrantCollection"} 1.0' in text
    assert 'qco_collection_status{status="red"} 1.0' in text
    assert 'qco_collection_status{status="yellow"} 1.0' in text
    assert 'qco_collection_status{status="green"} 0.0' in text


def test_run_help_lists_every_setting(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    out = capsys.readouterr().out
    for name in OperatorSettings.model_fields:
        assert f"QCO_{name.upper()}:" in out
