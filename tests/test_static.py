"""Static checks run as tests so that `pytest` alone is the whole gate."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    "command",
    [
        pytest.param([sys.executable, "-m", "ruff", "check", "operator", "tests", "bench"], id="ruff"),
        pytest.param([sys.executable, "-m", "mypy"], id="mypy"),
        pytest.param(["lint-imports"], id="import-linter"),
    ],
)
def test_static_check_passes(command: list[str]) -> None:
    if command[0] == "lint-imports":
        command = [str(Path(sys.executable).with_name("lint-imports"))]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr


def test_operator_folder_is_not_a_package() -> None:
    # A package named `operator` would shadow Python's stdlib module.
    assert not (ROOT / "operator" / "__init__.py").exists()
