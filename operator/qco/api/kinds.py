"""Every kind qco serves: the one registry the CRD generator, the docs, the metrics' kind labels
and owner lookups read. A new kind adds one line here."""

from __future__ import annotations

from qco.api.backup import BACKUP_SCHEDULE
from qco.api.canary import CANARY_ROLLOUT
from qco.api.collection import QDRANT_COLLECTION
from qco.api.common import CrdKind
from qco.api.deployment import COLLECTION_DEPLOYMENT

KINDS: tuple[CrdKind, ...] = (QDRANT_COLLECTION, COLLECTION_DEPLOYMENT, BACKUP_SCHEDULE, CANARY_ROLLOUT)

#: Kind name -> CrdKind, for owner stamps that name a kind.
BY_NAME: dict[str, CrdKind] = {kind.kind: kind for kind in KINDS}
