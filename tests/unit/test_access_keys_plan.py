"""plan_access_keys: which keys get a new token, with which claims, and when the next one is due
(table-driven, on a fixed clock)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from qco.api.access_keys import AccessKeySpec
from qco.plan.access_keys import ObservedSecret, access_claim, fingerprint, plan_access_keys

NOW = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
URL = "http://qdrant:6333"
DAY = timedelta(days=1)


def key(**overrides: Any) -> AccessKeySpec:
    """A key with a 30-day ttl rotated 7 days before expiry (the defaults)."""
    return AccessKeySpec.model_validate({"name": "search", "access": "r", "secretName": "tok", **overrides})


def ours(k: AccessKeySpec, expires_in: timedelta, rotation: str | None = None, **kw: Any) -> ObservedSecret:
    """An owned Secret minted for the current claims."""
    digest = fingerprint(access_claim(k, "docs", ["docs-live"]), URL)
    return ObservedSecret(True, NOW + expires_in, kw.get("digest", digest), rotation, NOW - DAY)


K = key()
CASES: list[tuple[str, AccessKeySpec, ObservedSecret | None, str | None, str | None]] = [
    ("no Secret yet", K, None, None, "Missing"),
    ("fresh token", K, ours(K, 20 * DAY), None, None),
    ("exactly rotateBefore left", K, ours(K, 7 * DAY), None, "Expiring"),
    ("inside rotateBefore", K, ours(K, 3 * DAY), None, "Expiring"),
    ("already expired", K, ours(K, -DAY), None, "Expiring"),
    ("one second before the window", K, ours(K, 7 * DAY + timedelta(seconds=1)), None, None),
    ("annotation set, never honoured", K, ours(K, 20 * DAY), "a", "RotationRequested"),
    ("annotation already honoured", K, ours(K, 20 * DAY, rotation="a"), "a", None),
    ("annotation changed", K, ours(K, 20 * DAY, rotation="a"), "b", "RotationRequested"),
    ("annotation removed", K, ours(K, 20 * DAY, rotation="a"), None, None),
    ("claims changed (e.g. r -> rw)", K, ours(K, 20 * DAY, digest="old"), None, "ClaimsChanged"),
    ("owned Secret without expiry", K, ObservedSecret(True), None, "Missing"),
]


@pytest.mark.parametrize(
    ("spec", "secret", "rotation", "reason"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_when_a_token_is_minted(
    spec: AccessKeySpec, secret: ObservedSecret | None, rotation: str | None, reason: str | None
) -> None:
    plan = plan_access_keys([spec], "docs", ["docs-live"], URL, {"tok": secret}, {}, rotation, NOW)
    assert [m.reason for m in plan.mints] == ([reason] if reason else [])
    assert plan.conflicts == []
    (state,) = plan.keys
    if reason:
        assert (state.expires_at, state.last_rotation) == (NOW + 30 * DAY, NOW)
        assert plan.next_rotation == NOW + 23 * DAY
    else:
        assert secret is not None and secret.expires_at is not None
        assert (state.expires_at, state.last_rotation) == (secret.expires_at, NOW - DAY)
        assert plan.next_rotation == secret.expires_at - 7 * DAY


def test_claims_name_the_collection_and_its_aliases() -> None:
    rw = key(access="rw")
    plan = plan_access_keys([rw], "docs", ["docs-live", "b-alias"], URL, {}, {}, None, NOW)
    (mint,) = plan.mints
    assert mint.claims() == {
        "exp": int((NOW + 30 * DAY).timestamp()),
        "access": [
            {"collection": "docs", "access": "rw"},
            {"collection": "b-alias", "access": "rw"},
            {"collection": "docs-live", "access": "rw"},
        ],
    }
    alone = plan_access_keys([key(aliasesToo=False)], "docs", ["docs-live"], URL, {}, {}, None, NOW)
    assert alone.mints[0].claims()["access"] == [{"collection": "docs", "access": "r"}]


def test_a_new_alias_or_url_is_a_new_token() -> None:
    secret = ours(K, 20 * DAY)
    assert plan_access_keys([K], "docs", ["docs-live"], URL, {"tok": secret}, {}, None, NOW).mints == []
    more = plan_access_keys([K], "docs", ["docs-live", "new"], URL, {"tok": secret}, {}, None, NOW)
    assert [m.reason for m in more.mints] == ["ClaimsChanged"]
    moved = plan_access_keys([K], "docs", ["docs-live"], "http://q2:6333", {"tok": secret}, {}, None, NOW)
    assert [m.reason for m in moved.mints] == ["ClaimsChanged"]
    no_aliases = key(aliasesToo=False)
    digest = fingerprint(access_claim(no_aliases, "docs", []), URL)
    kept = ObservedSecret(True, NOW + 20 * DAY, digest)
    assert plan_access_keys([no_aliases], "docs", ["x"], URL, {"tok": kept}, {}, None, NOW).mints == []


def test_a_secret_qco_did_not_create_is_a_conflict_and_never_minted_into() -> None:
    other = key(name="write", access="rw", secretName="tok2")
    secrets = {"tok": ObservedSecret(owned=False), "tok2": None}
    plan = plan_access_keys([K, other], "docs", [], URL, secrets, {}, None, NOW)
    assert plan.conflicts == ["tok"]
    assert [m.key.name for m in plan.mints] == ["write"]
    assert [s.name for s in plan.keys] == ["write"]


def test_the_earliest_key_sets_the_next_wake_up() -> None:
    short = key(name="short", secretName="s", ttl="90s", rotateBefore="60s")
    long = key(name="long", secretName="l")
    plan = plan_access_keys([long, short], "docs", [], URL, {}, {}, None, NOW)
    assert plan.next_rotation == NOW + timedelta(seconds=30)
    assert plan.seconds_until_next(NOW) == 30.0
    assert plan.seconds_until_next(NOW + timedelta(minutes=5)) == 0.0
    assert plan_access_keys([], "docs", [], URL, {}, {}, None, NOW).seconds_until_next(NOW) is None


def test_previous_keys_secrets_are_stale_only_when_ours() -> None:
    previous = {
        "gone": {"name": "gone", "secretName": "old-tok"},
        "foreign": {"name": "foreign", "secretName": "foreign-tok"},
        "search": {"name": "search", "secretName": "tok", "lastRotation": "2029-12-30T12:00:00Z"},
    }
    secrets = {
        "tok": ours(K, 20 * DAY),
        "old-tok": ObservedSecret(True),
        "foreign-tok": ObservedSecret(False),
    }
    plan = plan_access_keys([K], "docs", ["docs-live"], URL, secrets, previous, None, NOW)
    assert plan.stale == ["old-tok"]
    assert plan.keys[0].last_rotation == datetime(2029, 12, 30, 12, tzinfo=UTC)
    assert plan.mints == []
