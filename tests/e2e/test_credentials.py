"""Credentials are opt-in: a Secret without the `qco.dev/credentials: "true"` label is never sent
anywhere, a labelled one is, and QCO_ALLOWED_QDRANT_URLS refuses unlisted connection URLs before
any Secret is read. A local HTTP server records every header the operator sends it."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

from tests.e2e.conftest import (
    Sandbox,
    collection_manifest,
    message_of,
    reason_of,
    start_sandbox,
    status_of,
    stop_sandbox,
)
from tests.e2e.kube_secrets import api_key_secret
from tests.e2e.recorder import Recorder, recording_server
from tests.e2e.waits import wait_until

pytestmark = pytest.mark.filterwarnings("ignore:Api key is used with an insecure connection")

KEY = "opt-in-key-for-qco-credentials"
VECTOR = {"": {"size": 4, "distance": "Dot"}}
#: Any port on 127.0.0.1 (the stand-in picks its port at start); `localhost` URLs stay unlisted.
ALLOWED = "http://127.0.0.1:*"


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """A sandbox whose Qdrant wants an API key and whose operator has an allow-list."""
    running = start_sandbox(
        tmp_path_factory.mktemp("credentials"), api_key=KEY, env={"QCO_ALLOWED_QDRANT_URLS": ALLOWED}
    )
    try:
        assert running.qdrant_url.startswith("http://127.0.0.1:"), running.qdrant_url
        yield running
    finally:
        assert stop_sandbox(running) == 0


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    with recording_server() as server:
        yield server


def _wait_for_requests(recorder: Recorder, timeout: float = 60) -> None:
    wait_until(recorder.seen, lambda seen: len(seen) > 0, timeout, what="the operator to call the recorder")


def test_unlabelled_secret_is_never_sent_and_labelled_one_is(
    guarded: Sandbox, recorder: Recorder, unique: str
) -> None:
    name, secret, value = f"unlabelled-{unique}", f"key-{unique}", f"value-{unique}"
    guarded.apply(api_key_secret(secret, value, labelled=False))
    connection = {"url": recorder.url, "apiKeySecretRef": {"name": secret}}
    guarded.apply(collection_manifest(name, {"vectors": VECTOR, "connection": connection}))

    obj = guarded.wait_for(name, lambda o: reason_of(o, "Stalled") == "SecretNotPermitted")
    assert status_of(obj, "Stalled") == "True"
    assert status_of(obj, "Ready") == "False"
    message = message_of(obj, "Stalled")
    assert f"default/{secret}" in message
    assert "qco.dev/credentials" in message
    assert value not in json.dumps(obj)
    # The pass that wrote this condition is over: nothing at all went to the URL, key or no key.
    assert recorder.seen() == []

    # The owner of the Secret opts in: the next pass sends the key to the URL named in the spec.
    guarded.kubectl("label", "secret", secret, "qco.dev/credentials=true")
    guarded.kubectl("annotate", "qc", name, f"qco.dev/reconcile-requested-at={time.time()}")
    _wait_for_requests(recorder)
    seen = recorder.seen()
    assert [r.headers.get("api-key") for r in seen] == [value] * len(seen)
    obj = guarded.wait_for(name, lambda o: reason_of(o, "Stalled") == "QdrantRejected")
    assert "recorder: not a Qdrant server" in message_of(obj, "Stalled")


def test_labelled_secret_reaches_qdrant_and_unlabelled_one_does_not(guarded: Sandbox, unique: str) -> None:
    good, bad = f"labelled-{unique}", f"notlabelled-{unique}"
    guarded.apply(api_key_secret(f"good-{unique}", KEY, labelled=True))
    guarded.apply(api_key_secret(f"bad-{unique}", KEY, labelled=False))
    for name, secret in ((good, f"good-{unique}"), (bad, f"bad-{unique}")):
        connection = {"url": guarded.qdrant_url, "apiKeySecretRef": {"name": secret}}
        guarded.apply(collection_manifest(name, {"vectors": VECTOR, "connection": connection}))

    guarded.wait_ready(good)
    obj = guarded.wait_for(bad, lambda o: reason_of(o, "Stalled") == "SecretNotPermitted")
    assert f"default/bad-{unique}" in message_of(obj, "Stalled")
    client = guarded.qdrant()
    assert client.collection_exists(good)
    assert not client.collection_exists(bad)


def test_allow_list_refuses_an_unlisted_url_before_reading_any_secret(guarded: Sandbox, unique: str) -> None:
    with recording_server(host="localhost") as unlisted:
        labelled, missing = f"listed-key-{unique}", f"missing-key-{unique}"
        guarded.apply(api_key_secret(labelled, f"value-{unique}", labelled=True))
        names = {f"unlisted-{unique}": labelled, f"unlisted-nosecret-{unique}": missing}
        for name, secret in names.items():
            connection = {"url": unlisted.url, "apiKeySecretRef": {"name": secret}}
            guarded.apply(collection_manifest(name, {"vectors": VECTOR, "connection": connection}))

        for name in names:
            # Refused before the Secret is read: a missing Secret is not what it reports.
            obj = guarded.wait_for(name, lambda o: reason_of(o, "Stalled") == "ConnectionNotAllowed")
            message = message_of(obj, "Stalled")
            assert unlisted.url in message
            assert "QCO_ALLOWED_QDRANT_URLS" in message
            assert status_of(obj, "Ready") == "False"
        assert unlisted.seen() == []

    # The same operator still serves listed URLs.
    name = f"listed-{unique}"
    connection = {"url": guarded.qdrant_url, "apiKeySecretRef": {"name": labelled}}
    guarded.apply(api_key_secret(labelled, KEY, labelled=True))
    guarded.apply(collection_manifest(name, {"vectors": VECTOR, "connection": connection}))
    guarded.wait_ready(name)
