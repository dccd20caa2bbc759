"""A 50 KB Qdrant error still yields a written condition (cut to what the API server accepts, with a
marker), and no 50 KB line reaches the operator's log."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.e2e.conftest import Sandbox, collection_manifest, message_of, status_of
from tests.e2e.recorder import Recorder, recording_server

VECTOR = {"": {"size": 4, "distance": "Cosine"}}
MARKER = " … [truncated]"
MAX_MESSAGE_BYTES = 32768
#: A log line this long is already unreadable; the 50 KB error must not get anywhere near it.
MAX_LOG_LINE_BYTES = 8192
#: Multi-byte characters, so a cut by characters and a cut by bytes differ.
ERROR = "Wrong input: " + "zu lange Fehlermeldung, ünïcödé " * 1600


@pytest.fixture
def lookalike() -> Iterator[Recorder]:
    """A Qdrant lookalike answering every request with 400 and a 50 KB error in Qdrant's envelope."""
    body = json.dumps({"status": {"error": ERROR}, "time": 0.0}).encode()
    assert len(ERROR.encode()) > 50_000
    with recording_server(status=400, body=body) as server:
        yield server


def test_a_50kb_qdrant_error_yields_a_written_truncated_condition(
    sandbox: Sandbox, lookalike: Recorder, unique: str
) -> None:
    name = f"longerror-{unique}"
    sandbox.apply(collection_manifest(name, {"vectors": VECTOR, "connection": {"url": lookalike.url}}))
    obj = sandbox.wait_for(
        name,
        lambda o: (
            status_of(o, "Stalled") == "True"
            and o["status"].get("observedGeneration") == o["metadata"]["generation"]
        ),
    )
    assert lookalike.seen(), "the operator never called the Qdrant lookalike"
    assert status_of(obj, "Ready") == "False"
    message = message_of(obj, "Stalled")
    assert message.startswith("Qdrant rejected the request: " + ERROR[:40]), message[:200]
    assert len(message.encode()) <= MAX_MESSAGE_BYTES
    assert message.endswith(MARKER), message[-200:]
    assert ERROR[:1000] in message  # enough of Qdrant's own words to act on

    log = sandbox.operator_log()
    assert "zu lange Fehlermeldung" in log  # the failure was logged, ...
    longest = max(len(line.encode()) for line in log.splitlines())
    assert longest <= MAX_LOG_LINE_BYTES, f"a {longest}-byte line in the operator log"  # ... but not whole
