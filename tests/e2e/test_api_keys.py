"""API keys: from the operator's key file or a referenced Secret; never in status, events or logs."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import (
    Sandbox,
    collection_manifest,
    message_of,
    reason_of,
    start_sandbox,
    stop_sandbox,
)
from tests.e2e.kube_secrets import api_key_secret

pytestmark = pytest.mark.filterwarnings("ignore:Api key is used with an insecure connection")

KEY = "s3cr3t-key-for-qco-tests"
VECTOR = {"": {"size": 4, "distance": "Dot"}}


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    running = start_sandbox(tmp_path_factory.mktemp("keyed"), api_key=KEY)
    try:
        yield running
    finally:
        assert stop_sandbox(running) == 0


def test_default_key_file_is_used(keyed: Sandbox, unique: str) -> None:
    keyed.apply(collection_manifest(f"default-key-{unique}", {"vectors": VECTOR}))
    keyed.wait_ready(f"default-key-{unique}")
    assert keyed.qdrant().collection_exists(f"default-key-{unique}")


def test_secret_reference_missing_then_created(keyed: Sandbox, unique: str) -> None:
    name = f"secret-{unique}"
    connection = {"url": keyed.qdrant_url, "apiKeySecretRef": {"name": f"qdrant-{unique}", "key": "api-key"}}
    keyed.apply(collection_manifest(name, {"vectors": VECTOR, "connection": connection}))
    obj = keyed.wait_for(name, lambda o: reason_of(o, "Stalled") == "SecretNotFound")
    assert f"qdrant-{unique}" in message_of(obj, "Stalled")

    keyed.apply(api_key_secret(f"qdrant-{unique}", KEY))
    keyed.kubectl("annotate", "qc", name, f"qco.dev/reconcile-requested-at={time.time()}")
    keyed.wait_ready(name)


def test_wrong_key_is_stalled_with_the_fix(keyed: Sandbox, unique: str) -> None:
    name = f"wrongkey-{unique}"
    keyed.apply(api_key_secret(f"wrong-{unique}", "not-the-key"))
    connection = {"url": keyed.qdrant_url, "apiKeySecretRef": {"name": f"wrong-{unique}"}}
    keyed.apply(collection_manifest(name, {"vectors": VECTOR, "connection": connection}))
    obj = keyed.wait_for(name, lambda o: reason_of(o, "Stalled") == "QdrantUnauthorized")
    assert "apiKeySecretRef" in message_of(obj, "Stalled")


def test_keys_never_appear_in_status_events_or_logs(keyed: Sandbox) -> None:
    everything = keyed.kubectl("get", "qc,events", "-A", "-o", "json").stdout
    assert "qco.dev/v1alpha1" in everything
    assert KEY not in everything
    assert "not-the-key" not in everything
    children = [
        (entry / "cmdline").read_bytes()
        for entry in Path("/proc").iterdir()
        if entry.name.isdigit() and _parent_of(entry) == keyed.process.pid
    ]
    assert len(children) == 3  # Qdrant, the Kubernetes emulator, the operator
    assert not any(KEY.encode() in cmdline for cmdline in children)
    log = keyed.operator_log()
    assert "Initial authentication has finished" in log
    assert KEY not in log
    assert "not-the-key" not in log


def _parent_of(proc: Path) -> int:
    try:
        return int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return -1
