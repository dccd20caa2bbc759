"""Plan scoped access keys (pure): which keys need a new token now, with which claims, which Secrets
are someone else's, which of ours are no longer wanted, and when the next rotation is due.

A token is minted when its Secret is missing, when it expires within `rotateBefore`, when the
`qco.dev/rotate-keys` annotation holds a value the Secret has not been minted for, or when the
claims or URL it was minted with no longer match the spec. The old token is never revoked: it
stays valid until its own `exp`, so workloads that reread the Secret never see a refusal.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from qco.api.access_keys import AccessKeySpec
from qco.api.durations import parse_duration

MintReason = Literal["Missing", "Expiring", "RotationRequested", "ClaimsChanged"]


@dataclass(frozen=True)
class ObservedSecret:
    """What qco knows of an existing Secret (from its metadata; the token is never read)."""

    owned: bool  # it carries an ownerReference to this object (qco created it for this object)
    expires_at: datetime | None = None
    fingerprint: str | None = None  # sha256 of the claims and URL it was minted with
    rotation: str | None = None  # the qco.dev/rotate-keys value it was minted for
    issued_at: datetime | None = None


@dataclass(frozen=True)
class Mint:
    """Mint one token and write it into the key's Secret."""

    key: AccessKeySpec
    reason: MintReason
    access: list[dict[str, str]]  # the JWT's `access` claim
    issued_at: datetime
    expires_at: datetime
    fingerprint: str

    def claims(self) -> dict[str, Any]:
        """The JWT claims: Qdrant reads `exp` and `access`."""
        return {"exp": int(self.expires_at.timestamp()), "access": self.access}


@dataclass(frozen=True)
class KeyState:
    """A key after the plan is carried out: for status.accessKeys (never the token)."""

    name: str
    secret_name: str
    access: str
    expires_at: datetime | None
    last_rotation: datetime | None


@dataclass(frozen=True)
class AccessKeyPlan:
    """The plan for one object's access keys."""

    mints: list[Mint] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)  # Secrets that exist and are not ours
    stale: list[str] = field(default_factory=list)  # our Secrets of keys no longer in the spec
    keys: list[KeyState] = field(default_factory=list)
    next_rotation: datetime | None = None  # the earliest time a key needs a new token

    def seconds_until_next(self, now: datetime) -> float | None:
        """Seconds from `now` to the next rotation (never negative), or None without keys."""
        if self.next_rotation is None:
            return None
        return max(0.0, (self.next_rotation - now).total_seconds())


def access_claim(key: AccessKeySpec, collection: str, aliases: Sequence[str]) -> list[dict[str, str]]:
    """The `access` claim: the collection and, with aliasesToo, each alias by name (Qdrant checks
    the name in the request before resolving an alias)."""
    names = [collection, *(sorted(set(aliases) - {collection}) if key.aliases_too else [])]
    return [{"collection": name, "access": key.access} for name in names]


def fingerprint(access: list[dict[str, str]], url: str) -> str:
    """A digest of what a token grants and where: a change means a new token."""
    canonical = json.dumps({"access": access, "url": url.rstrip("/")}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def plan_access_keys(
    keys: Sequence[AccessKeySpec],
    collection: str,
    aliases: Sequence[str],
    url: str,
    secrets: Mapping[str, ObservedSecret | None],
    previous: Mapping[str, Mapping[str, Any]],
    rotation: str | None,
    now: datetime,
) -> AccessKeyPlan:
    """Plan every key. `secrets` maps each Secret name (spec's and `previous`') to what exists;
    `previous` is status.accessKeys by key name; `rotation` the object's qco.dev/rotate-keys."""
    plan = AccessKeyPlan()
    next_times: list[datetime] = []
    for key in keys:
        secret = secrets.get(key.secret_name)
        if secret is not None and not secret.owned:
            plan.conflicts.append(key.secret_name)
            continue
        access = access_claim(key, collection, aliases)
        digest = fingerprint(access, url)
        ttl = timedelta(seconds=parse_duration(key.ttl) or 0)
        before = timedelta(seconds=parse_duration(key.rotate_before) or 0)
        reason = _mint_reason(secret, digest, rotation, before, now)
        last = _previous_rotation(previous.get(key.name), key.secret_name)
        if reason is not None:
            plan.mints.append(Mint(key, reason, access, now, now + ttl, digest))
            expires: datetime | None = now + ttl
            last = now
        else:
            assert secret is not None  # no reason to mint means an owned Secret with an expiry
            expires = secret.expires_at
            last = last or secret.issued_at
        if expires is not None:
            next_times.append(expires - before)
        plan.keys.append(KeyState(key.name, key.secret_name, key.access, expires, last))
    wanted = {k.secret_name for k in keys}
    for entry in previous.values():
        name = str(entry.get("secretName") or "")
        secret = secrets.get(name)
        if name and name not in wanted and secret is not None and secret.owned and name not in plan.stale:
            plan.stale.append(name)
    return AccessKeyPlan(plan.mints, plan.conflicts, plan.stale, plan.keys, min(next_times, default=None))


def _mint_reason(
    secret: ObservedSecret | None, digest: str, rotation: str | None, before: timedelta, now: datetime
) -> MintReason | None:
    if secret is None or secret.expires_at is None:
        return "Missing"
    if rotation is not None and rotation != secret.rotation:
        return "RotationRequested"
    if secret.fingerprint != digest:
        return "ClaimsChanged"
    if secret.expires_at - before <= now:
        return "Expiring"
    return None


def _previous_rotation(entry: Mapping[str, Any] | None, secret_name: str) -> datetime | None:
    if not entry or entry.get("secretName") != secret_name or not entry.get("lastRotation"):
        return None
    try:
        return datetime.fromisoformat(str(entry["lastRotation"]).replace("Z", "+00:00"))
    except ValueError:
        return None
