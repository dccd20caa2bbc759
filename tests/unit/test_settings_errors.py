"""`qco run` with bad QCO_ variables: the error names the variable an operator sets, not the
Python field, and says what it holds and what it takes."""

from __future__ import annotations

import argparse

import pytest

from qco.cli import run as run_command


def test_invalid_variables_are_named_as_environment_variables(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("QCO_LOG_FORMAT", "yaml")
    monkeypatch.setenv("QCO_METRICS_PORT", "not-a-port")
    assert run_command.run(argparse.Namespace()) == 2
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert lines[0] == "qco run: invalid settings from QCO_ environment variables:"
    assert "  QCO_LOG_FORMAT='yaml': Input should be 'json' or 'text'" in lines
    assert any(
        line.startswith("  QCO_METRICS_PORT='not-a-port': Input should be a valid integer") for line in lines
    )
    assert "log_format" not in err and "metrics_port" not in err
