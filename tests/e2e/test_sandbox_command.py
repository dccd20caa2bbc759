"""`qco sandbox`, the README's first command: both lines, --apply/--wait, clean shutdown."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import yaml

from tests.e2e.conftest import ROOT, start_sandbox


def test_readme_command_shows_a_ready_collection(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text()
    assert "qco sandbox --apply examples/quickstart.yaml --wait" in readme
    result = _sandbox("--apply", "examples/quickstart.yaml", "--wait")
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    assert lines[0].startswith("qdrant: http://127.0.0.1:")
    assert lines[1].startswith("kubeconfig: ")
    header, row = lines[2].split(), lines[3].split()
    assert header[:5] == ["NAME", "READY", "REASON", "COLLECTION", "STATUS"]
    assert row[:5] == ["quickstart", "True", "Synced", "quickstart", "green"]


def test_wait_fails_with_exit_1_when_not_ready(tmp_path: Path) -> None:
    manifest = tmp_path / "bad.yaml"
    spec = {"vectors": {"": {"size": 4, "distance": "Dot"}}, "connection": {"url": "http://127.0.0.1:9"}}
    manifest.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "qco.dev/v1alpha1",
                "kind": "QdrantCollection",
                "metadata": {"name": "nowhere"},
                "spec": spec,
            }
        )
    )
    result = _sandbox("--apply", str(manifest), "--wait", "--timeout", "8")
    assert result.returncode == 1
    assert "nowhere" in result.stdout
    assert "QdrantUnreachable" in result.stdout


def test_interrupt_shuts_everything_down(tmp_path: Path) -> None:
    sandbox = start_sandbox(tmp_path)
    assert httpx.get(f"{sandbox.qdrant_url}/readyz", timeout=10).status_code == 200
    sandbox.kubectl("get", "crd", "qdrantcollections.qco.dev")
    sandbox.process.send_signal(2)
    assert sandbox.process.wait(60) == 0
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{sandbox.qdrant_url}/readyz", timeout=5)
    assert "Traceback" not in sandbox.operator_log()


def _sandbox(*args: str) -> subprocess.CompletedProcess[str]:
    """`qco sandbox ARGS` on a free Qdrant port, run to completion from the repository root."""
    argv = [sys.executable, "-m", "qco", "sandbox", "--qdrant-port", "0", *args]
    return subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=180)


# Run `qco sandbox` in an interpreter where the named modules look uninstalled.
HIDE_AND_RUN = """
import importlib.abc, sys
HIDDEN = set(sys.argv[1].split(","))

class Uninstalled(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in HIDDEN or any(name.startswith(h + ".") or name == h for h in HIDDEN):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, Uninstalled())
from qco.cli import main
# Without the check, the sandbox would start and then fail (exit 1) on a missing manifest.
sys.exit(main(["sandbox", "--qdrant-port", "0", "--no-operator", "--apply", "/nonexistent.yaml"]))
"""


@pytest.mark.parametrize("hidden", ["qdrant_edge", "qco.sandbox", "kmock"])
def test_missing_extra_says_how_to_install_it(hidden: str) -> None:
    result = subprocess.run(
        [sys.executable, "-c", HIDE_AND_RUN, hidden], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2, result.stderr
    (line,) = result.stderr.splitlines()  # one line, no traceback
    assert "pip install 'qdrant-collection-operator[sandbox]'" in line
    for name in hidden.split(","):
        assert name in line
    assert result.stdout == ""  # nothing was started
