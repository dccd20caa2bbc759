"""qco's owner stamp, kept in the collection's own metadata so it survives operator restarts.

Keys (all under `qco.dev/`):
- `qco.dev/owner`          "<namespace>/<name>/<uid>" of the owning resource
- `qco.dev/owner-kind`     its kind (QdrantCollection, CollectionDeployment, ...)
- `qco.dev/owner-created`  its metadata.creationTimestamp: the oldest claimant wins a conflict
- `qco.dev/payload-indexes` fields whose payload index qco created (only those are ever deleted)
- `qco.dev/aliases`        aliases qco manages for this collection
- `qco.dev/vectors`        named vectors qco created or manages (only those are ever deleted)
- `qco.dev/shard-keys`     shard keys qco created (custom sharding; only those are ever deleted)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

OWNER_KEY = "qco.dev/owner"
OWNER_KIND_KEY = "qco.dev/owner-kind"
OWNER_CREATED_KEY = "qco.dev/owner-created"
PAYLOAD_INDEXES_KEY = "qco.dev/payload-indexes"
ALIASES_KEY = "qco.dev/aliases"
VECTORS_KEY = "qco.dev/vectors"
SHARD_KEYS_KEY = "qco.dev/shard-keys"
STAMP_KEYS = (
    OWNER_KEY,
    OWNER_KIND_KEY,
    OWNER_CREATED_KEY,
    PAYLOAD_INDEXES_KEY,
    ALIASES_KEY,
    VECTORS_KEY,
    SHARD_KEYS_KEY,
)

DEFAULT_KIND = "QdrantCollection"


@dataclass(frozen=True)
class OwnerStamp:
    """Who owns a collection, and what qco remembers about it."""

    namespace: str
    name: str
    uid: str
    created: str = ""
    kind: str = DEFAULT_KIND
    payload_indexes: frozenset[str] = frozenset()
    aliases: frozenset[str] = frozenset()
    vectors: frozenset[str] = frozenset()
    shard_keys: frozenset[str] = frozenset()

    @property
    def ref(self) -> str:
        """`<namespace>/<name>/<uid>`, the value of `qco.dev/owner`."""
        return f"{self.namespace}/{self.name}/{self.uid}"

    def is_older_than(self, other: OwnerStamp) -> bool:
        """The conflict rule: strictly the oldest creationTimestamp wins.

        Timestamps have one-second granularity, so two resources applied together often tie;
        on a tie the current owner keeps the collection (no flapping, no surprise takeover).
        RFC 3339 timestamps as Kubernetes writes them (UTC, `Z`) sort correctly as strings.
        A stamp without a timestamp counts as the youngest.
        """
        return (self.created or "~") < (other.created or "~")


def build_stamp_metadata(stamp: OwnerStamp) -> dict[str, Any]:
    """The metadata keys that record `stamp` (merge them into the collection's metadata)."""
    return {
        OWNER_KEY: stamp.ref,
        OWNER_KIND_KEY: stamp.kind,
        OWNER_CREATED_KEY: stamp.created,
        PAYLOAD_INDEXES_KEY: sorted(stamp.payload_indexes),
        ALIASES_KEY: sorted(stamp.aliases),
        VECTORS_KEY: sorted(stamp.vectors),
        SHARD_KEYS_KEY: sorted(stamp.shard_keys),
    }


def removed_stamp_metadata() -> dict[str, Any]:
    """Metadata PATCH that removes qco's stamp (Retain deletion): null deletes a key in Qdrant."""
    return dict.fromkeys(STAMP_KEYS)


def parse_owner_stamp(metadata: Mapping[str, Any] | None) -> OwnerStamp | None:
    """The stamp in a collection's metadata, or None when absent or unreadable (= not managed by qco)."""
    if not metadata:
        return None
    owner = metadata.get(OWNER_KEY)
    if not isinstance(owner, str):
        return None
    parts = owner.split("/")
    if len(parts) != 3 or not all(parts):
        return None
    created = metadata.get(OWNER_CREATED_KEY)
    kind = metadata.get(OWNER_KIND_KEY)
    return OwnerStamp(
        namespace=parts[0],
        name=parts[1],
        uid=parts[2],
        created=created if isinstance(created, str) else "",
        kind=kind if isinstance(kind, str) and kind else DEFAULT_KIND,
        payload_indexes=_names(metadata.get(PAYLOAD_INDEXES_KEY)),
        aliases=_names(metadata.get(ALIASES_KEY)),
        vectors=_names(metadata.get(VECTORS_KEY)),
        shard_keys=_names(metadata.get(SHARD_KEYS_KEY)),
    )


def _names(value: Any) -> frozenset[str]:
    # Tolerate a comma-separated string as well as a JSON list: people edit metadata by hand.
    items: Iterable[Any]
    if isinstance(value, str):
        items = value.split(",")
    elif isinstance(value, list | tuple):
        items = value
    else:
        return frozenset()
    return frozenset(str(v).strip() for v in items if str(v).strip())
