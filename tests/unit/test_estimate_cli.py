"""`qco estimate -f FILE [--points N]` prints the estimate of the effective config, offline."""

from __future__ import annotations

from pathlib import Path

import pytest

from qco.cli import main

MANIFEST = """
apiVersion: qco.dev/v1alpha1
kind: QdrantCollection
metadata: {name: docs}
spec:
  preset: hybrid-search
  expectedPoints: 2000000
  vectors: {"": {size: 768, distance: Cosine}}
"""


def test_estimate_uses_expected_points_and_the_preset(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(MANIFEST)
    assert main(["estimate", "-f", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "QdrantCollection docs: 2000000 points"
    # hybrid-search's int8 quantization (768 + 4 bytes x 2 M points = 1.4 GiB) is counted
    assert "  quantized vectors     1.4 GiB    1.4 GiB" in out
    assert "recommendation: original vectors on disk (onDisk: true) would cut RAM" in out


def test_points_flag_overrides_and_missing_count_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(MANIFEST.replace("  expectedPoints: 2000000\n", ""))
    assert main(["estimate", "-f", str(path)]) == 1
    assert "give --points N or set spec.expectedPoints" in capsys.readouterr().out
    assert main(["estimate", "-f", str(path), "--points", "0"]) == 0
    assert "  total                     0 B        0 B" in capsys.readouterr().out
