"""`qco plan` shows the shard-key changes the operator would make: creations, deletions of keys qco
recorded (with consent), the refusal without it, and keys it leaves alone."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from qco.cli.manifests import Manifest
from qco.cli.offline_render import Outcome, exit_code, render_json, render_text
from qco.plan.ownership import SHARD_KEYS_KEY
from qco.reconcile.collection_offline import desired_from_manifest, plan_offline
from tests.unit.fakes import FakeGateway

V4 = {"size": 4, "distance": "Cosine"}


def _manifest(**spec: Any) -> Manifest:
    body = {
        "apiVersion": "qco.dev/v1alpha1",
        "kind": "QdrantCollection",
        "metadata": {"name": "bylang", "namespace": "default"},
        "spec": {"vectors": {"": V4}, "shardingMethod": "custom", **spec},
    }
    return Manifest("bylang.yaml", body)


class _Live:
    """Live shard keys, counting the lookups."""

    def __init__(self, keys: Mapping[str, int]) -> None:
        self.keys, self.calls = dict(keys), 0

    async def __call__(self, collection: str) -> Mapping[str, int]:
        self.calls += 1
        return self.keys


async def _outcome(gateway: FakeGateway, manifest: Manifest, live: _Live) -> Outcome:
    desired = desired_from_manifest(manifest.body)
    result = await plan_offline(gateway, desired, False, True, live)  # type: ignore[arg-type]
    return Outcome(manifest, "default", result)


async def _existing(record: list[str]) -> FakeGateway:
    """The collection as an earlier `qco apply` of the manifest left it, with qco's shard-key record."""
    gateway = FakeGateway("http://qdrant:6333")
    manifest = _manifest(shardKeys=[{"key": "de"}])
    await plan_offline(gateway, desired_from_manifest(manifest.body), True)  # type: ignore[arg-type]
    info = gateway.collections["bylang"].info
    assert info is not None and info.config.metadata is not None
    info.config.metadata[SHARD_KEYS_KEY] = record
    return gateway


async def test_a_new_collection_shows_every_key_it_would_create() -> None:
    live = _Live({})
    manifest = _manifest(shardKeys=[{"key": "de", "shardNumber": 2, "replicationFactor": 1}, {"key": "en"}])
    outcome = await _outcome(FakeGateway("http://qdrant:6333"), manifest, live)
    text = render_text(outcome, applied=False)
    assert "  would: create shard key de (shardNumber 2, replicationFactor 1)" in text.splitlines()
    assert (
        "  would: create shard key en (shardNumber default, replicationFactor default)" in text.splitlines()
    )
    assert live.calls == 0  # nothing to ask: the collection does not exist yet
    assert exit_code([outcome], applied=False) == 2


async def test_dropping_a_recorded_key_is_refused_and_foreign_keys_are_left_alone() -> None:
    gateway = await _existing(["de", "fr"])
    live = _Live({"de": 3, "fr": 7, "legacy": 2})
    outcome = await _outcome(gateway, _manifest(shardKeys=[{"key": "de"}]), live)
    text = render_text(outcome, applied=False)
    assert (
        "  blocked (ShardKeyRemovalRefused): removing shard key(s) fr from collection bylang would delete"
        " their 7 points; nothing was changed." in text
    )
    assert "legacy" not in text and "no changes" not in text
    assert exit_code([outcome], applied=False) == 1
    doc = json.loads(render_json([outcome], applied=False))["objects"][0]
    assert doc["shardKeys"] == {
        "create": [],
        "delete": [],
        "refused": ["fr"],
        "pointsAtRisk": 7,
        "unmanaged": ["legacy"],
    }
    assert [b["reason"] for b in doc["blockers"]] == ["ShardKeyRemovalRefused"]
    assert live.calls == 1


async def test_with_consent_the_recorded_key_would_be_deleted_and_in_sync_is_no_change() -> None:
    gateway = await _existing(["de", "fr"])
    allow = _manifest(shardKeys=[{"key": "de"}], shardKeyRemovalPolicy="Allow")
    outcome = await _outcome(gateway, allow, _Live({"de": 3, "fr": 7, "legacy": 2}))
    lines = render_text(outcome, applied=False).splitlines()
    assert "  would: delete shard key fr and its points (shardKeyRemovalPolicy: Allow)" in lines
    assert not any("legacy" in line for line in lines)
    assert exit_code([outcome], applied=False) == 2

    synced = await _outcome(gateway, allow, _Live({"de": 3, "legacy": 2}))
    assert "  no changes: Qdrant matches the spec" in render_text(synced, applied=False).splitlines()
    assert exit_code([synced], applied=False) == 0


async def test_without_shard_keys_in_the_spec_nothing_is_looked_up() -> None:
    gateway = await _existing([])
    live = _Live({"de": 1})
    outcome = await _outcome(gateway, _manifest(), live)
    assert outcome.result is not None and outcome.result.shard_keys is None
    assert live.calls == 0 and "shard key" not in render_text(outcome, applied=False)
