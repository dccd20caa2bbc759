"""The CollectionDeployment planners: revision hashes, names, child manifests, targets, history."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qco.api.deployment import CollectionDeploymentSpec
from qco.api.deployment_status import RevisionRecord
from qco.plan.deployment import (
    alias_conflict,
    backup_snapshot,
    child_manifest,
    child_name,
    choose_target,
    new_record,
    parse_backup_run,
    restored_indexing_threshold,
    revision_collection,
    revision_hash,
    revisions_to_prune,
)

TEMPLATE = {"vectors": {"": {"size": 8, "distance": "Cosine"}}, "hnsw": {"m": 16}}


def spec(**extra: Any) -> CollectionDeploymentSpec:
    return CollectionDeploymentSpec.model_validate({"alias": "docs", "template": TEMPLATE, **extra})


def record(number: int, phase: str = "Inactive", hash_: str | None = None) -> RevisionRecord:
    full = hash_ or f"{number:08d}" + "0" * 56
    return RevisionRecord(
        number=number, hash=full, collection=f"docs-{full[:8]}", child=f"d-{full[:8]}", phase=phase
    )


# -- hashes and names ---------------------------------------------------------------------------


def test_hash_covers_template_source_transform_as_declared() -> None:
    base = {"alias": "docs", "template": TEMPLATE}
    assert revision_hash(base) == revision_hash({**base, "alias": "other", "revisionHistoryLimit": 5})
    assert revision_hash(base) != revision_hash({**base, "source": {"empty": {}}})  # omitted != declared
    assert revision_hash(base) != revision_hash({**base, "template": {**TEMPLATE, "shardNumber": 2}})
    assert revision_hash(base) != revision_hash({**base, "transform": {"embeddings": {"url": "http://e/v1"}}})


@given(st.dictionaries(st.text(min_size=1, max_size=5), st.integers(), max_size=6))
def test_hash_ignores_key_order(template: dict[str, int]) -> None:
    reordered = dict(reversed(list(template.items())))
    assert revision_hash({"template": template}) == revision_hash({"template": reordered})


@pytest.mark.parametrize(
    ("extra", "expected"),
    [({}, "docs-abcdef12"), ({"collectionNamePrefix": "kb"}, "kb-abcdef12")],
)
def test_revision_collection_name(extra: dict[str, Any], expected: str) -> None:
    assert revision_collection(spec(**extra), "abcdef12" + "9" * 56) == expected
    assert child_name("docs", "abcdef12" + "9" * 56) == "docs-abcdef12"


# -- child manifests ----------------------------------------------------------------------------


def test_child_manifest_owned_labelled_and_bulk() -> None:
    rev = record(3)
    owner = {"namespace": "search", "name": "docs", "uid": "u-1"}
    template = {**TEMPLATE, "aliases": ["x"]}
    manifest = child_manifest(spec(), template, owner, rev, bulk=True)
    meta = manifest["metadata"]
    assert meta["labels"] == {
        "qco.dev/deployment": "docs",
        "qco.dev/revision": rev.hash[:8],
        "qco.dev/revision-number": "3",
    }
    assert meta["ownerReferences"][0]["uid"] == "u-1" and meta["ownerReferences"][0]["controller"] is True
    assert manifest["spec"]["collectionName"] == rev.collection
    assert manifest["spec"]["optimizers"] == {"indexingThreshold": 0}
    assert "aliases" not in manifest["spec"]  # the alias is the deployment's
    assert manifest["spec"]["deletionPolicy"] == "Delete"
    assert "optimizers" not in template  # the declared template is not modified
    plain = child_manifest(spec(), TEMPLATE, owner, rev, bulk=False)
    assert "optimizers" not in plain["spec"]


@pytest.mark.parametrize(
    ("optimizers", "expected"),
    [(None, 10000), ({"indexingThreshold": 500}, 500), ({"defaultSegmentNumber": 2}, 10000)],
)
def test_indexing_threshold_restored(optimizers: dict[str, Any] | None, expected: int) -> None:
    template = {**TEMPLATE, **({"optimizers": optimizers} if optimizers else {})}
    assert restored_indexing_threshold(CollectionDeploymentSpec(alias="a", template=template)) == expected  # type: ignore[arg-type]


# -- records and sources ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "active", "kind", "source_collection"),
    [
        (None, None, "empty", None),
        (None, "docs-old", "currentRevision", "docs-old"),
        ({"currentRevision": {}}, "docs-old", "currentRevision", "docs-old"),
        ({"collection": {"name": "legacy"}}, "docs-old", "collection", "legacy"),
        ({"empty": {}}, "docs-old", "empty", None),
    ],
)
def test_new_record_source(
    source: dict[str, Any] | None, active: str | None, kind: str, source_collection: str | None
) -> None:
    records = [record(1), record(4)]
    active_record = (
        RevisionRecord(number=4, hash="f" * 64, collection=active, child="c", phase="Active")
        if active
        else None
    )
    made = new_record(
        spec(**({"source": source} if source else {})),
        "docs",
        "a" * 64,
        records,
        active_record,
        "2026-01-01T00:00:00Z",
    )
    assert (made.number, made.source, made.source_collection, made.phase) == (
        5,
        kind,
        source_collection,
        "Pending",
    )


# -- targets ------------------------------------------------------------------------------------


def test_choose_target() -> None:
    records = [record(1, "Inactive"), record(2, "Active"), record(3, "Failed")]
    spec_hash = "s" * 64
    assert choose_target(spec_hash, records, None, None).hash == spec_hash
    rollback = choose_target(spec_hash, records, "1", None)
    assert (rollback.hash, rollback.rollback) == (records[0].hash, 1)
    # the spec changed after the rollback was requested: the spec wins
    assert choose_target(spec_hash, records, "1", {"revision": 1, "specHash": "old"}).hash == spec_hash
    assert choose_target(spec_hash, records, "1", {"revision": 1, "specHash": spec_hash}).rollback == 1
    for value, words in (("x", "must be a revision number"), ("9", "not kept"), ("3", "never served")):
        assert words in (choose_target(spec_hash, records, value, None).problem or "")


def test_prune_keeps_history_and_never_the_active_or_target() -> None:
    records = [record(n) for n in range(1, 7)]
    keep = {records[1].hash, records[5].hash}  # active 2, target 6
    assert [r.number for r in revisions_to_prune(records, keep, 2)] == [1, 3]
    assert revisions_to_prune(records, keep, 10) == []
    assert [r.number for r in revisions_to_prune(records, keep, 0)] == [1, 3, 4, 5]


@pytest.mark.parametrize(
    ("target", "recorded", "conflict"),
    [
        (None, None, False),
        ("docs-1", "docs-1", False),
        ("docs-2", "docs-1", False),  # already on the new revision (a switch before a restart)
        ("someone-else", "docs-1", True),
        ("someone-else", None, True),
    ],
)
def test_alias_conflict(target: str | None, recorded: str | None, conflict: bool) -> None:
    message = alias_conflict("docs", target, {"docs-2"}, recorded)
    assert (message is not None) == conflict
    if message:
        assert "someone-else" in message and "does not own" in message


A = {"collection": "a", "snapshot": "sa"}
B = {"collection": "b", "snapshot": "sb"}


def _run(name: str, phase: str, *entries: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "phase": phase, "collections": list(entries)}


@pytest.mark.parametrize(
    ("runs", "run", "active", "expected"),
    [
        ([_run("r2", "Failed"), _run("r1", "Succeeded", {"collection": "c", "snapshot": "s", "sha256": "x"})],
         "latest", None, ("http://q/collections/c/snapshots/s", "x", None)),
        ([_run("r1", "Succeeded", A, B)], "latest", "b", ("http://q/collections/b/snapshots/sb", None, None)),
        ([_run("r1", "Succeeded", A, B)], "latest", "z", (None, None, "none is the one behind the alias")),
        ([_run("r1", "Succeeded", {"collection": "c", "key": "bucket/key"})],
         "latest", None, (None, None, "keeps no snapshot on the Qdrant node")),
        ([_run("r1", "Succeeded", {"collection": "c"})], "latest", None, (None, None, "keeps no snapshot")),
        ([_run("r1", "Failed")], "r1", None, (None, None, "no succeeded run 'r1'")),
        ([], "latest", None, (None, None, "no succeeded run")),
    ],
)  # fmt: skip
def test_backup_snapshot(
    runs: list[dict[str, Any]], run: str, active: str | None, expected: tuple[Any, ...]
) -> None:
    found = backup_snapshot({"status": {"runs": runs}}, "nightly", run, active, "http://q/")
    assert (found.url, found.checksum) == expected[:2]
    assert (found.problem is None) == (expected[2] is None)
    if expected[2] is not None:
        assert expected[2] in (found.problem or "")
    assert "not found" in (backup_snapshot(None, "nightly", "latest", None, "http://q").problem or "")


IN_BUCKET = {"destination": {"s3": {"bucket": "b"}}}
DOCS = {"name": "docs", "collection": "c", "key": "p/r1/docs.snapshot", "sha256": "x"}


@pytest.mark.parametrize(
    ("runs", "run", "active", "expected"),
    [
        ([_run("r2", "Failed"), _run("r1", "Succeeded", DOCS)], "latest", None,
         ("backupschedule:nightly/r1/docs", "x", None)),
        ([_run("r1", "Succeeded", DOCS, {**DOCS, "name": "b", "collection": "b"})], "r1", "b",
         ("backupschedule:nightly/r1/b", "x", None)),
        ([_run("r1", "Succeeded", DOCS, {"name": "e", "collection": "b", "error": "boom"})], "r1", "b",
         ("backupschedule:nightly/r1/docs", "x", None)),  # a failed entry is no candidate
        ([_run("r1", "Succeeded", {"name": "docs", "collection": "c"})], "latest", None,
         (None, None, "stored no object for docs")),
        ([_run("r1", "Succeeded", DOCS)], "older", None, ("backupschedule:nightly/older/", None, None)),
        ([_run("r1", "Failed", DOCS)], "r1", None, (None, None, "no succeeded run 'r1'")),
        ([], "latest", None, (None, None, "no succeeded run 'latest'")),
    ],
)  # fmt: skip
def test_backup_in_a_bucket_is_a_run_reference(
    runs: list[dict[str, Any]], run: str, active: str | None, expected: tuple[Any, ...]
) -> None:
    found = backup_snapshot(
        {"spec": IN_BUCKET, "status": {"runs": runs}}, "nightly", run, active, "http://q/"
    )
    assert (found.url, found.checksum, found.problem is None) == (*expected[:2], expected[2] is None)
    assert found.in_bucket == (expected[2] is None)
    if expected[2] is not None:
        assert expected[2] in (found.problem or "")


@pytest.mark.parametrize(
    ("ref", "parsed"),
    [
        ("backupschedule:nightly/nightly-20261129-0300/docs", ("nightly", "nightly-20261129-0300", "docs")),
        ("backupschedule:nightly/r1/", ("nightly", "r1", "")),
        ("backupschedule:nightly//docs", None),
        ("backupschedule:nightly/r1", None),
        ("http://q/collections/c/snapshots/s", None),
        (None, None),
    ],
)
def test_parse_backup_run(ref: str | None, parsed: tuple[str, str, str] | None) -> None:
    assert parse_backup_run(ref) == parsed
