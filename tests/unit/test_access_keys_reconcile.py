"""Access keys in a QdrantCollection pass, on fakes: the operator setting, the signing key, the
Secret qco writes (owner reference, token verified with the key), conflicts and the wake-up."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import jwt

from qco.api.collection import QDRANT_COLLECTION
from qco.clients.kube_secrets import SecretMeta
from qco.reconcile.collection import COLLECTION_RECONCILER
from qco.reconcile.machinery import reconcile_object
from qco.reconcile.outcome import PassResult
from qco.reconcile.snapshot import PassSnapshot
from tests.unit.fakes import Harness, body, harness

LOG = logging.getLogger("test")
KEY = "unit-test-signing-key-of-32-bytes-or-more"
V4 = {"size": 4, "distance": "Dot"}


class FakeSecrets:
    """Secrets by name, and every write."""

    def __init__(self) -> None:
        self.metas: dict[str, SecretMeta] = {}
        self.writes: list[tuple[str, dict[str, Any]]] = []

    async def read_meta(self, namespace: str, name: str) -> SecretMeta | None:
        return self.metas.get(name)

    async def create(self, namespace: str, body: dict[str, Any]) -> None:
        self.writes.append(("create", body))
        meta = body["metadata"]
        owners = tuple(o["uid"] for o in meta["ownerReferences"])
        self.metas[meta["name"]] = SecretMeta(meta["name"], "1", meta["labels"], meta["annotations"], owners)

    async def replace(self, namespace: str, body: dict[str, Any]) -> None:
        self.writes.append(("replace", body))

    async def delete(self, namespace: str, name: str, resource_version: str | None) -> None:
        self.writes.append(("delete", {"name": name}))


def keyed(tmp_path: Path, enabled: bool = True) -> tuple[Harness, FakeSecrets]:
    key_file = tmp_path / "key"
    key_file.write_text(KEY)
    h = harness(qdrant_api_key_file=key_file, access_keys_enabled=enabled)
    secrets = FakeSecrets()
    h.ctx.secrets = secrets  # type: ignore[assignment]
    return h, secrets


def spec(**key: Any) -> dict[str, Any]:
    return {
        "vectors": {"": V4},
        "accessKeys": [{"name": "search", "access": "r", "secretName": "tok", **key}],
    }


async def run(h: Harness, obj: dict[str, Any]) -> PassResult:
    return await reconcile_object(
        h.ctx, COLLECTION_RECONCILER, PassSnapshot.take(QDRANT_COLLECTION, obj), LOG
    )


def stalled_reason(h: Harness) -> str | None:
    for _, _, patch in reversed(h.kube.status_patches):
        for c in patch.get("conditions") or []:
            if c["type"] == "Stalled":
                return str(c["reason"]) if c["status"] == "True" else None
    return None


async def test_disabled_by_the_operator_stalls_and_writes_nothing(tmp_path: Path) -> None:
    h, secrets = keyed(tmp_path, enabled=False)
    result = await run(h, body(spec=spec()))
    assert (result.condition, stalled_reason(h)) == ("Stalled", "AccessKeysDisabled")
    assert secrets.writes == []


async def test_no_api_key_to_sign_with(tmp_path: Path) -> None:
    h = harness(access_keys_enabled=True)
    h.ctx.secrets = FakeSecrets()  # type: ignore[assignment]
    await run(h, body(spec=spec()))
    assert stalled_reason(h) == "NoSigningKey"


async def test_mints_an_owned_secret_and_wakes_before_rotation(tmp_path: Path) -> None:
    h, secrets = keyed(tmp_path)
    obj = body(spec={**spec(ttl="90s", rotateBefore="60s"), "aliases": ["live"]}, uid="uid-1")
    result = await run(h, obj)
    (write,) = secrets.writes
    kind, secret = write
    assert kind == "create"
    assert secret["metadata"]["ownerReferences"][0]["uid"] == "uid-1"
    claims = jwt.decode(secret["stringData"]["token"], KEY, algorithms=["HS256"])
    assert claims["access"] == [{"collection": "docs", "access": "r"}, {"collection": "live", "access": "r"}]
    assert secret["stringData"]["url"] == "http://qdrant:6333"
    assert result.retry_after is not None and 29 <= result.retry_after <= 31  # rotation due in 30 s
    assert KEY not in str(h.kube.status_patches) and secret["stringData"]["token"] not in str(h.events)

    secrets.writes.clear()
    await run(h, obj)  # the Secret is current: nothing to write
    assert secrets.writes == []


async def test_a_foreign_secret_is_a_conflict(tmp_path: Path) -> None:
    h, secrets = keyed(tmp_path)
    secrets.metas["tok"] = SecretMeta("tok", "7", {}, {}, ())
    await run(h, body(spec=spec()))
    assert stalled_reason(h) == "SecretConflict"
    assert secrets.writes == []
