"""Pure planning for CollectionDeployment: revision hashes and names, child manifests, which
revision the alias should serve, and which old revisions history keeps.

No I/O: the reconciler observes (status, children, aliases) and acts on what these return.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from qdrant_client.http import models

from qco.api.collection import QDRANT_COLLECTION
from qco.api.common import API_VERSION
from qco.api.deployment import CollectionDeploymentSpec
from qco.api.deployment_status import RevisionRecord

#: The spec fields a revision is made of, as declared (an omitted one hashes as omitted).
REVISION_FIELDS = ("template", "source", "transform")

DEPLOYMENT_LABEL = "qco.dev/deployment"
REVISION_LABEL = "qco.dev/revision"
REVISION_NUMBER_LABEL = "qco.dev/revision-number"
ROLLBACK_ANNOTATION = "qco.dev/rollback"

#: Qdrant's default indexing threshold (KiB), restored after a bulk fill when the template sets none.
DEFAULT_INDEXING_THRESHOLD = 10000

#: `sourceSnapshot` of a revision restored from a BackupSchedule run in a bucket:
#: `backupschedule:<schedule>/<run>/<QdrantCollection>` (its child's `restoreFrom` is made from it).
BACKUP_RUN_SCHEME = "backupschedule:"

#: A revision has been served by the alias (so a switch back needs no copy).
SERVED_PHASES = ("Active", "Inactive")


def revision_hash(raw_spec: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of (template, source, transform) exactly as declared in the manifest."""
    declared = {key: raw_spec[key] for key in REVISION_FIELDS if key in raw_spec}
    text = json.dumps(declared, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def short_hash(full: str) -> str:
    """The 8 characters used in names and labels."""
    return full[:8]


def revision_collection(spec: CollectionDeploymentSpec, full_hash: str) -> str:
    """`<collectionNamePrefix or alias>-<hash8>`: the revision's collection in Qdrant."""
    return f"{spec.collection_name_prefix or spec.alias}-{short_hash(full_hash)}"


def child_name(deployment: str, full_hash: str) -> str:
    """The child QdrantCollection's name: `<deployment>-<hash8>` (kept within 253 characters)."""
    return f"{deployment[:240]}-{short_hash(full_hash)}"


def snapshot_staging(collection: str) -> str:
    """The collection a `source.snapshot` is recovered into before it is copied (then deleted)."""
    return f"{collection}-source"


def bulk_fill(spec: CollectionDeploymentSpec, source_kind: str) -> bool:
    """Whether indexing is turned off while this revision is filled."""
    return spec.bulk_indexing and source_kind != "empty"


def restored_indexing_threshold(spec: CollectionDeploymentSpec) -> int:
    """The indexing threshold a revision gets back after a bulk fill."""
    optimizers = spec.template.optimizers
    if optimizers is not None and optimizers.indexing_threshold is not None:
        return optimizers.indexing_threshold
    return DEFAULT_INDEXING_THRESHOLD


def child_manifest(
    spec: CollectionDeploymentSpec,
    raw_template: Mapping[str, Any],
    owner: Mapping[str, str],
    record: RevisionRecord,
    bulk: bool,
) -> dict[str, Any]:
    """The child QdrantCollection of one revision: the template as declared, plus its name,
    connection and policies; owned by the deployment (`owner`: namespace, name, uid)."""
    child_spec: dict[str, Any] = json.loads(json.dumps(dict(raw_template)))
    child_spec["collectionName"] = record.collection
    # History GC deletes a revision's collection through its child; the deployment's own
    # deletionPolicy decides (in its finalizer) whether children release or delete theirs.
    child_spec["deletionPolicy"] = "Delete"
    child_spec["adoptionPolicy"] = "Never"
    if spec.connection is not None:
        child_spec["connection"] = spec.connection.to_manifest()
    if bulk:
        child_spec.setdefault("optimizers", {})["indexingThreshold"] = 0
    run = parse_backup_run(record.source_snapshot)
    if run is not None:
        # The child restores its collection (it does not exist yet) and stamps it as its own,
        # exactly as any QdrantCollection with restoreFrom does; the revision needs no fill.
        restore = {"backupSchedule": run[0], "run": run[1]}
        child_spec["restoreFrom"] = {**restore, "collection": run[2]} if run[2] else restore
    child_spec.pop("aliases", None)  # the alias belongs to the deployment (one owner per alias)
    labels = {
        DEPLOYMENT_LABEL: owner["name"],
        REVISION_LABEL: short_hash(record.hash),
        REVISION_NUMBER_LABEL: str(record.number),
    }
    return owned_child(owner, record.child, labels, child_spec)


def owned_child(
    owner: Mapping[str, str], name: str, labels: Mapping[str, str], spec: Mapping[str, Any]
) -> dict[str, Any]:
    """A child QdrantCollection controlled by the deployment `owner` (namespace, name, uid)."""
    return {
        "apiVersion": API_VERSION,
        "kind": QDRANT_COLLECTION.kind,
        "metadata": {
            "name": name,
            "namespace": owner["namespace"],
            "labels": dict(labels),
            "ownerReferences": [
                {
                    "apiVersion": API_VERSION,
                    "kind": "CollectionDeployment",
                    "name": owner["name"],
                    "uid": owner["uid"],
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "spec": dict(spec),
    }


def new_record(
    spec: CollectionDeploymentSpec,
    deployment: str,
    full_hash: str,
    records: Sequence[RevisionRecord],
    active: RevisionRecord | None,
    now: str,
) -> RevisionRecord:
    """The record of a revision seen for the first time: the next number, its names and its source."""
    kind = spec.source.kind if spec.source is not None else ("currentRevision" if active else "empty")
    source_collection: str | None = None
    if kind == "currentRevision":
        source_collection = active.collection if active is not None else None
    elif kind == "collection" and spec.source is not None and spec.source.collection is not None:
        source_collection = spec.source.collection.name
    elif kind in ("snapshot", "backup"):
        source_collection = snapshot_staging(revision_collection(spec, full_hash))
    snapshot = spec.source.snapshot if spec.source is not None else None
    return RevisionRecord.model_validate(
        {
            "number": max((r.number for r in records), default=0) + 1,
            "hash": full_hash,
            "collection": revision_collection(spec, full_hash),
            "child": child_name(deployment, full_hash),
            "created": now,
            "phase": "Pending",
            "source": kind,
            "sourceCollection": source_collection,
            "sourceSnapshot": snapshot.url if snapshot is not None else None,
            "sourceChecksum": snapshot.checksum if snapshot is not None else None,
        }
    )


def backup_run_ref(schedule: str, run: str, collection: str) -> str:
    """The `sourceSnapshot` of a revision restored from a run in a bucket."""
    return f"{BACKUP_RUN_SCHEME}{schedule}/{run}/{collection}"


def parse_backup_run(source_snapshot: str | None) -> tuple[str, str, str] | None:
    """(schedule, run, QdrantCollection or "") of a `backup_run_ref`; None for a snapshot URL or None."""
    if source_snapshot is None or not source_snapshot.startswith(BACKUP_RUN_SCHEME):
        return None
    parts = source_snapshot[len(BACKUP_RUN_SCHEME) :].split("/")
    if len(parts) != 3 or not parts[0] or not parts[1]:
        return None  # the collection may be empty: the restore takes the run's only one
    return parts[0], parts[1], parts[2]


@dataclass(frozen=True)
class BackupSnapshot:
    """Where a BackupSchedule run keeps a collection's backup, or why it cannot be used: a snapshot
    URL on the Qdrant node, or (`in_bucket`) a `backup_run_ref` the child restores from."""

    url: str | None = None
    checksum: str | None = None
    problem: str | None = None
    in_bucket: bool = False


def backup_snapshot(
    schedule: Mapping[str, Any] | None, name: str, run: str, active: str | None, qdrant_url: str
) -> BackupSnapshot:
    """The backup of `source.backup` (run `latest`: the newest Succeeded run in status): the entry
    of the collection behind the alias, else the run's only entry. A schedule with
    `destination.s3` keeps it in the bucket (restored by the child); else on the Qdrant node."""
    if schedule is None:
        return BackupSnapshot(problem=f"source.backup: BackupSchedule {name} not found")
    in_bucket = ((schedule.get("spec") or {}).get("destination") or {}).get("s3") is not None
    runs = (schedule.get("status") or {}).get("runs") or []
    succeeded = [r for r in runs if r.get("phase") == "Succeeded"]
    chosen = (
        succeeded[0]
        if run == "latest" and succeeded
        else next((r for r in runs if r.get("name") == run), None)
    )
    if chosen is None and in_bucket and run != "latest":
        # Status keeps only the last runs; the bucket's manifest is the source of truth, and the
        # restore reads it (the run's only collection).
        return BackupSnapshot(url=backup_run_ref(name, run, ""), in_bucket=True)
    if chosen is None or chosen.get("phase") != "Succeeded":
        return BackupSnapshot(problem=f"source.backup: BackupSchedule {name} has no succeeded run {run!r}")
    entries = [e for e in chosen.get("collections") or [] if not e.get("error")]
    entry = next((e for e in entries if active is not None and e.get("collection") == active), None)
    if entry is None and len(entries) == 1:
        entry = entries[0]
    if entry is None:
        return BackupSnapshot(
            problem=f"source.backup: run {chosen.get('name')} holds {len(entries)} collections and none is"
            f" the one behind the alias ({active or 'none'})"
        )
    if in_bucket:
        if not entry.get("key") or not entry.get("name"):
            return BackupSnapshot(
                problem=f"source.backup: run {chosen.get('name')} stored no object for {entry.get('name')}"
            )
        ref = backup_run_ref(name, str(chosen["name"]), str(entry["name"]))
        return BackupSnapshot(url=ref, checksum=entry.get("sha256"), in_bucket=True)
    if not entry.get("snapshot") or not entry.get("collection"):
        return BackupSnapshot(
            problem=f"source.backup: run {chosen.get('name')} keeps no snapshot on the Qdrant node"
        )
    url = f"{qdrant_url.rstrip('/')}/collections/{entry['collection']}/snapshots/{entry['snapshot']}"
    return BackupSnapshot(url=url, checksum=entry.get("sha256"))


@dataclass(frozen=True)
class Target:
    """The revision the alias should serve, and why."""

    hash: str
    rollback: int | None = None  # the revision number an imperative rollback asks for
    problem: str | None = None  # the rollback annotation cannot be honoured: why


def choose_target(
    spec_hash: str,
    records: Sequence[RevisionRecord],
    annotation: str | None,
    rollback: Mapping[str, Any] | None,
) -> Target:
    """The spec's revision, unless `qco.dev/rollback` names a kept, once-served revision and the spec
    has not changed since the rollback was requested (a spec change ends the rollback)."""
    if annotation is None or not annotation.strip():
        return Target(spec_hash)
    if rollback is not None and rollback.get("specHash") not in (None, spec_hash):
        return Target(spec_hash)  # the spec changed after the rollback: the spec wins again
    try:
        number = int(annotation.strip())
    except ValueError:
        return Target(spec_hash, problem=f"qco.dev/rollback must be a revision number, got {annotation!r}")
    record = next((r for r in records if r.number == number), None)
    if record is None:
        kept = ", ".join(str(r.number) for r in records) or "none"
        return Target(spec_hash, problem=f"qco.dev/rollback: revision {number} is not kept (kept: {kept})")
    if record.phase not in SERVED_PHASES:
        return Target(
            spec_hash, problem=f"qco.dev/rollback: revision {number} was never served ({record.phase})"
        )
    return Target(record.hash, rollback=number)


def revisions_to_prune(
    records: Sequence[RevisionRecord], keep_hashes: set[str], history_limit: int
) -> list[RevisionRecord]:
    """Old revisions beyond the history limit, oldest first; never one in `keep_hashes` (the active
    and the target revision)."""
    old = sorted((r for r in records if r.hash not in keep_hashes), key=lambda r: r.number, reverse=True)
    return sorted(old[history_limit:], key=lambda r: r.number)


def alias_conflict(alias: str, target: str | None, ours: set[str], recorded: str | None) -> str | None:
    """Why the alias may not be switched (None when it may): it must be free, or point at the
    collection qco recorded as active (or at one of this deployment's revisions after a crash)."""
    if target is None or target == recorded or target in ours:
        return None
    return (
        f"alias {alias} points at collection {target}, which this deployment does not own"
        f" (recorded: {recorded or 'none'}); move or delete the alias, or choose another spec.alias"
    )


def alias_switch(alias: str, current: str | None, collection: str) -> list[models.AliasOperations]:
    """Move `alias` (now on `current`, or free) to `collection` in one atomic request."""
    operations: list[models.AliasOperations] = []
    if current is not None:
        operations.append(models.DeleteAliasOperation(delete_alias=models.DeleteAlias(alias_name=alias)))
    operations.append(
        models.CreateAliasOperation(
            create_alias=models.CreateAlias(collection_name=collection, alias_name=alias)
        )
    )
    return operations
