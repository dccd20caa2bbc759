"""Scoped access keys end to end on `qco sandbox --api-key`: the Secret appears, its token searches
but (for r) cannot upsert nor see another collection, rotation keeps the old token working until
its exp, the Secret goes with the object, a foreign Secret is never overwritten, and no token is
ever in logs, Events or status."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import jwt
import pytest
from qdrant_client import QdrantClient, models
from qdrant_client.http.exceptions import UnexpectedResponse

from tests.e2e.conftest import (
    Sandbox,
    collection_manifest,
    message_of,
    reason_of,
    start_sandbox,
    stop_sandbox,
)
from tests.e2e.kube_secrets import secret_manifest
from tests.e2e.waits import wait_until

pytestmark = pytest.mark.filterwarnings("ignore:Api key is used with an insecure connection")

KEY = "access-keys-e2e-signing-key-0123456789"
VECTORS = {"": {"size": 4, "distance": "Dot"}}
POINT = models.PointStruct(id=1, vector=[1.0, 0.0, 0.0, 0.0], payload={"t": "x"})
TOKENS: list[str] = []  # every token seen, for the final grep


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    running = start_sandbox(tmp_path_factory.mktemp("access-keys"), api_key=KEY)
    try:
        yield running
    finally:
        assert stop_sandbox(running) == 0


def secret(sb: Sandbox, name: str) -> dict[str, Any] | None:
    """A Secret as JSON, or None when it does not exist."""
    result = sb.kubectl("get", "secret", name, "-o", "json", check=False)
    if result.returncode != 0:
        assert "NotFound" in result.stderr, result.stderr
        return None
    found: dict[str, Any] = json.loads(result.stdout)
    return found


def data(obj: dict[str, Any]) -> dict[str, str]:
    """A Secret's decoded data."""
    return {k: base64.b64decode(v).decode() for k, v in obj["data"].items()}


def wait_token(sb: Sandbox, name: str, other_than: str | None = None, timeout: float = 90) -> dict[str, str]:
    """The Secret's data once it holds a token (different from `other_than`)."""
    found = wait_until(
        lambda: secret(sb, name),
        lambda obj: obj is not None and "token" in obj.get("data", {}) and data(obj)["token"] != other_than,
        timeout,
        what=f"a new token in Secret {name}",
        interval=0.3,
    )
    assert found is not None
    values = data(found)
    TOKENS.append(values["token"])
    return values


def as_token(values: dict[str, str]) -> QdrantClient:
    """The unmodified qdrant-client as a workload uses the Secret."""
    return QdrantClient(url=values["url"], api_key=values["token"], check_compatibility=False, timeout=30)


def refused(call: Any) -> str:
    with pytest.raises(UnexpectedResponse) as caught:
        call()
    assert caught.value.status_code == 403
    return str(json.loads(caught.value.content)["status"]["error"])


def keyed_collection(name: str, keys: list[dict[str, Any]], **spec: Any) -> dict[str, Any]:
    return collection_manifest(name, {"vectors": VECTORS, "accessKeys": keys, **spec})


def test_read_and_read_write_keys(keyed: Sandbox, unique: str) -> None:
    name, other = f"docs-{unique}", f"other-{unique}"
    admin = keyed.qdrant()
    admin.create_collection(other, models.VectorParams(size=4, distance=models.Distance.DOT))
    keys: list[dict[str, Any]] = [
        {"name": "search", "access": "r", "secretName": f"search-{unique}"},
        {"name": "writer", "access": "rw", "secretName": f"write-{unique}", "aliasesToo": False},
    ]
    keyed.apply(keyed_collection(name, keys, aliases=[f"live-{unique}"]))
    reader_values = wait_token(keyed, f"search-{unique}")
    writer_values = wait_token(keyed, f"write-{unique}")
    assert (reader_values["collection"], reader_values["url"]) == (name, keyed.qdrant_url)
    assert reader_values["token"] != KEY

    writer = as_token(writer_values)
    writer.upsert(name, [POINT])
    assert refused(lambda: writer.upsert(f"live-{unique}", [POINT])) == (
        f"Forbidden: Access to collection live-{unique} is required"  # aliasesToo: false
    )
    reader = as_token(reader_values)
    assert [p.id for p in reader.query_points(name, query=[1.0, 0, 0, 0]).points] == [1]
    assert [p.id for p in reader.scroll(f"live-{unique}")[0]] == [1]  # aliasesToo (default)
    assert (
        refused(lambda: reader.upsert(name, [POINT]))
        == f"Forbidden: Write access to collection {name} is required"
    )
    assert refused(lambda: reader.scroll(other)) == f"Forbidden: Access to collection {other} is required"
    assert refused(lambda: writer.scroll(other)) == f"Forbidden: Access to collection {other} is required"

    obj = keyed.wait_ready(name)
    status = {k["name"]: k for k in obj["status"]["accessKeys"]}
    assert set(status) == {"search", "writer"}
    assert status["search"]["secretName"] == f"search-{unique}"
    assert status["search"]["expiresAt"] == reader_values["expiresAt"]
    assert status["search"]["lastRotation"]
    owners = secret(keyed, f"search-{unique}")["metadata"]["ownerReferences"]  # type: ignore[index]
    assert [(o["kind"], o["name"], o["uid"]) for o in owners] == [
        ("QdrantCollection", name, obj["metadata"]["uid"])
    ]
    reader.close()
    writer.close()

    # Deleting the object deletes its Secrets (owner references; the emulator collects garbage).
    keyed.kubectl("delete", "qc", name, "--wait=true", "--timeout=60s")
    assert (secret(keyed, f"search-{unique}"), secret(keyed, f"write-{unique}")) == (None, None)


def test_rotation_by_annotation_keeps_the_old_token_working(keyed: Sandbox, unique: str) -> None:
    name = f"rot-{unique}"
    keyed.apply(keyed_collection(name, [{"name": "r", "access": "r", "secretName": f"rot-{unique}"}]))
    first = wait_token(keyed, f"rot-{unique}")
    keyed.wait_ready(name)
    keyed.kubectl("annotate", "qc", name, "qco.dev/rotate-keys=1")
    second = wait_token(keyed, f"rot-{unique}", other_than=first["token"])
    assert second["expiresAt"] >= first["expiresAt"]
    for values in (first, second):
        client = as_token(values)
        assert client.count(name).count == 0
        client.close()
    # The same annotation value is honoured once: the token stays.
    keyed.kubectl("annotate", "qc", name, f"qco.dev/reconcile-requested-at={unique}")
    keyed.wait_for(
        name, lambda o: o["metadata"]["annotations"].get("qco.dev/reconcile-requested-at") == unique
    )
    keyed.wait_ready(name)
    assert data(secret(keyed, f"rot-{unique}"))["token"] == second["token"]  # type: ignore[arg-type]
    events = keyed.events(name)
    assert [e["reason"] for e in events].count("AccessKeyIssued") == 2


def test_short_ttl_rotates_before_expiry(keyed: Sandbox, unique: str) -> None:
    name = f"ttl-{unique}"
    key = {"name": "r", "access": "r", "secretName": f"ttl-{unique}", "ttl": "70s", "rotateBefore": "40s"}
    keyed.apply(keyed_collection(name, [key]))
    first = wait_token(keyed, f"ttl-{unique}")
    # About 30 s later (ttl - rotateBefore) the operator mints the successor on its own.
    second = wait_token(keyed, f"ttl-{unique}", other_than=first["token"], timeout=120)
    assert second["expiresAt"] > first["expiresAt"]
    old = as_token(first)  # still before its exp: it keeps working
    assert old.count(name).count == 0
    old.close()
    # Rotation does not shorten the old token: its own exp is still the expiry it was issued
    # with, and Qdrant (test_jwt_auth.py) honours a token until exp and refuses it after.
    assert exp_of(first["token"]) == parse_time(first["expiresAt"])
    assert exp_of(second["token"]) == parse_time(second["expiresAt"])


def exp_of(token: str) -> datetime:
    """The `exp` claim of a token, read without checking its signature (the test has no key)."""
    claims = jwt.decode(token, options={"verify_signature": False})
    return datetime.fromtimestamp(int(claims["exp"]), UTC)


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_a_foreign_secret_is_never_overwritten(keyed: Sandbox, unique: str) -> None:
    taken = f"taken-{unique}"
    keyed.apply(secret_manifest(taken, {"token": "mine"}, labelled=False))
    before = secret(keyed, taken)
    name = f"conflict-{unique}"
    keyed.apply(keyed_collection(name, [{"name": "r", "access": "r", "secretName": taken}]))
    obj = keyed.wait_for(name, lambda o: reason_of(o, "Stalled") == "SecretConflict")
    assert taken in message_of(obj, "Stalled")
    after = secret(keyed, taken)
    assert after is not None and before is not None
    assert (after["metadata"]["resourceVersion"], data(after)) == (
        before["metadata"]["resourceVersion"],
        {"token": "mine"},
    )
    keyed.kubectl("delete", "qc", name, "--wait=true", "--timeout=60s")
    assert secret(keyed, taken) is not None  # not ours: not deleted with the object either


def test_no_token_in_logs_events_or_status(keyed: Sandbox) -> None:
    assert len(TOKENS) >= 5  # the tests above ran and recorded what they saw
    everything = keyed.kubectl("get", "qc,events", "-A", "-o", "json").stdout
    assert "AccessKeyIssued" in everything
    log = keyed.operator_log()
    assert "minted token for access key" in log
    for token in TOKENS:
        assert token not in everything
        assert token not in log
        assert token.split(".")[2] not in log  # not even the signature


def test_with_the_feature_off_the_object_stalls_and_no_secret_is_written(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    sb = start_sandbox(
        tmp_path_factory.mktemp("keys-off"), api_key=KEY, env={"QCO_ACCESS_KEYS_ENABLED": "false"}
    )
    try:
        keys = [
            {"name": "search", "access": "r", "secretName": "off-token", "ttl": "1h", "rotateBefore": "10m"}
        ]
        sb.apply(collection_manifest("off", {"vectors": VECTORS, "accessKeys": keys}))
        obj = sb.wait_for("off", lambda o: reason_of(o, "Stalled") == "AccessKeysDisabled")
        assert "QCO_ACCESS_KEYS_ENABLED=true" in message_of(obj, "Stalled")
        assert "accessKeys.enabled" in message_of(obj, "Stalled")
        assert secret(sb, "off-token") is None
        assert "accessKeys" not in obj["status"]
        events = [e["reason"] for e in sb.events("off") if e["type"] == "Warning"]
        assert events.count("AccessKeysDisabled") == 1
    finally:
        assert stop_sandbox(sb) == 0
