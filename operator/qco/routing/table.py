"""The routing table qco publishes in a ConfigMap key `routing.json`, and how a key picks a variant.

`{"alias": "docs", "generation": 7, "salt": "k3j…", "weights": {"docs_v1": 90, "docs_v2": 10}}`:
integer percentages summing to 100, listed stable first and canary last. Pure: no I/O, no
operator imports, so applications and the operator share one definition of the split.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field

#: The ConfigMap key holding the table.
ROUTING_KEY = "routing.json"
#: Annotation prefix a client confirms with: `qco.dev/applied.<client-id>: "<generation>"`.
APPLIED_PREFIX = "qco.dev/applied."
#: Resolution of the hash: 10,000 buckets, so integer percentages are exact.
BUCKETS = 10_000


class RoutingError(ValueError):
    """The ConfigMap does not hold a usable routing table; the message says what is wrong."""


@dataclass(frozen=True)
class RoutingTable:
    """One published split. `weights` keeps the published order (stable first, canary last)."""

    alias: str
    generation: int
    salt: str
    weights: Mapping[str, int] = field(default_factory=dict)

    def to_json(self) -> str:
        """The ConfigMap value, keys in the documented order."""
        return json.dumps(
            {
                "alias": self.alias,
                "generation": self.generation,
                "salt": self.salt,
                "weights": dict(self.weights),
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str) -> RoutingTable:
        """Parse and check a `routing.json` value."""
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise RoutingError(f"{ROUTING_KEY} is not JSON: {exc}") from None
        if not isinstance(data, dict):
            raise RoutingError(f"{ROUTING_KEY} must be an object")
        weights = data.get("weights")
        if not isinstance(weights, dict) or not weights:
            raise RoutingError(f"{ROUTING_KEY}: weights must be a non-empty object")
        if any(not isinstance(w, int) or isinstance(w, bool) or w < 0 for w in weights.values()):
            raise RoutingError(f"{ROUTING_KEY}: weights must be non-negative integers")
        if sum(weights.values()) != 100:
            raise RoutingError(f"{ROUTING_KEY}: weights must sum to 100, not {sum(weights.values())}")
        generation = data.get("generation")
        if not isinstance(generation, int) or isinstance(generation, bool):
            raise RoutingError(f"{ROUTING_KEY}: generation must be an integer")
        return cls(str(data.get("alias", "")), generation, str(data.get("salt", "")), dict(weights))

    def pick(self, key: str) -> str:
        """The variant serving `key`.

        The salted hash puts each key in one of BUCKETS buckets; variants take ranges from
        bucket 0 upward in reverse listed order, so the canary (listed last) owns the lowest
        buckets. When its weight grows its range only grows: a key never moves from canary back
        to stable, and a stable key moves only to the canary.
        """
        point = bucket(self.salt, key)
        start = 0
        variants = list(self.weights.items())
        for name, weight in reversed(variants):
            start += weight * BUCKETS // 100
            if point < start:
                return name
        return variants[0][0]


def bucket(salt: str, key: str) -> int:
    """The bucket of `key` under `salt`: uniform, stable across processes and languages (SHA-256)."""
    digest = hashlib.sha256(f"{salt}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % BUCKETS


def confirmations(annotations: Mapping[str, str] | None, generation: int) -> int:
    """How many clients confirmed `generation` (or a later one) on the ConfigMap."""
    count = 0
    for name, value in (annotations or {}).items():
        if name.startswith(APPLIED_PREFIX):
            try:
                if int(value) >= generation:
                    count += 1
            except ValueError:
                continue
    return count
