"""The QdrantCollection pass and finalizer, called directly with fake Qdrant and Kubernetes clients:
every error path, the pass snapshot, consent for data loss, credentials, hand-over and release."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import httpx
import kopf
import pytest
from qdrant_client.http.exceptions import UnexpectedResponse

from qco.api.collection import QDRANT_COLLECTION
from qco.plan.ownership import parse_owner_stamp
from qco.reconcile.collection import COLLECTION_RECONCILER
from qco.reconcile.conditions import TRUNCATION_MARKER
from qco.reconcile.context import url_allowed
from qco.reconcile.machinery import finalize_object, reconcile_object
from qco.reconcile.outcome import PassResult
from qco.reconcile.snapshot import PassSnapshot
from tests.unit.fakes import Harness, body, harness

LOG = logging.getLogger("test")
URL = "http://qdrant:6333"
V4 = {"size": 4, "distance": "Cosine"}


async def run(h: Harness, obj: dict[str, Any]) -> PassResult:
    return await reconcile_object(
        h.ctx, COLLECTION_RECONCILER, PassSnapshot.take(QDRANT_COLLECTION, obj), LOG
    )


async def finalize(h: Harness, obj: dict[str, Any]) -> None:
    await finalize_object(h.ctx, COLLECTION_RECONCILER, PassSnapshot.take(QDRANT_COLLECTION, obj), LOG)


def last_status(h: Harness) -> dict[str, Any]:
    status: dict[str, Any] = {}
    for _, _, patch in h.kube.status_patches:
        for key, value in patch.items():
            if value is None:
                status.pop(key, None)
            elif isinstance(value, dict) and isinstance(status.get(key), dict):
                status[key] = {**status[key], **value}
            else:
                status[key] = value
    return status


def condition(status: dict[str, Any], type_: str) -> dict[str, Any]:
    return next(c for c in status["conditions"] if c["type"] == type_)


async def converge(h: Harness, obj: dict[str, Any]) -> dict[str, Any]:
    """Run passes (feeding back the status) until Ready; return the object with its status."""
    for _ in range(3):
        await run(h, obj)
        obj = {**obj, "status": last_status(h)}
        if condition(obj["status"], "Ready")["status"] == "True":
            return obj
    raise AssertionError(obj["status"])


async def test_first_pass_creates_stamps_and_reports_ready() -> None:
    h = harness()
    result = await run(h, body(spec={"vectors": {"": V4}}))
    status = last_status(h)
    assert (result.condition, result.colour, result.failed) == ("Ready", "green", False)
    assert condition(status, "Ready")["reason"] == "Synced"
    assert status["observedGeneration"] == 1
    assert status["endpoint"] == {"url": URL}
    stamp = parse_owner_stamp(h.gateway().collections["docs"].info.config.metadata)  # type: ignore[union-attr]
    assert stamp is not None and stamp.ref == "team/docs/uid-docs"
    assert h.reasons() == ["CreateCollection"]


async def test_a_no_op_pass_writes_nothing_anywhere() -> None:
    h = harness()
    obj = await converge(h, body())
    patches, writes = len(h.kube.status_patches), len(h.gateway().writes())
    await run(h, obj)
    assert (len(h.kube.status_patches), len(h.gateway().writes())) == (patches, writes)


async def test_status_is_computed_from_the_snapshot_when_the_spec_changes_mid_pass() -> None:
    h = harness()
    obj = body(spec={"vectors": {"": V4}, "hnsw": {"m": 8}})

    def edit_mid_pass(operation: str, name: str) -> None:
        if operation == "create_collection":  # kopf updates the live body in place while we work
            obj["metadata"]["generation"] = 2
            obj["spec"]["hnsw"]["m"] = 32

    h.gateway().hook = edit_mid_pass
    await run(h, obj)
    status = last_status(h)
    assert status["observedGeneration"] == 1  # generation 2 was never applied
    assert condition(status, "Ready")["observedGeneration"] == 1
    assert h.gateway().collections["docs"].info.config.hnsw_config.m == 8  # type: ignore[union-attr]


async def test_invalid_spec_is_stalled_with_one_spec_prefix() -> None:
    h = harness()
    result = await run(h, body(spec={"vectors": {"": V4}, "vectorz": {}}))
    ready = condition(last_status(h), "Stalled")
    assert (result.condition, ready["reason"]) == ("Stalled", "InvalidSpec")
    assert ready["message"].startswith("invalid spec: spec.vectorz: ")
    assert "spec.spec" not in ready["message"]
    assert h.pool.gateways == {}  # nothing was sent to any Qdrant


# -- no data loss without consent --------------------------------------------------------------


async def named_collection_with_points(h: Harness, points: int) -> dict[str, Any]:
    obj = await converge(h, body(spec={"vectors": {"a": V4, "b": V4}}))
    h.gateway().set_points("docs", points)
    return obj


@pytest.mark.parametrize(
    ("spec_vectors", "removed"),
    [({"a": V4, "c": V4}, "b"), ({"a": V4}, "b")],
    ids=["renamed key", "dropped key"],
)
async def test_removing_a_vector_with_points_is_refused_and_touches_nothing(
    spec_vectors: dict[str, Any], removed: str
) -> None:
    h = harness()
    obj = await named_collection_with_points(h, 100)
    writes = len(h.gateway().writes())
    result = await run(
        h, {**obj, "metadata": {**obj["metadata"], "generation": 2}, "spec": {"vectors": spec_vectors}}
    )
    stalled = condition(last_status(h), "Stalled")
    assert (result.condition, stalled["reason"]) == ("Stalled", "VectorRemovalRefused")
    assert f"vector(s) {removed} " in stalled["message"] and "100 points" in stalled["message"]
    assert "vectorRemovalPolicy: Allow" in stalled["message"]
    assert len(h.gateway().writes()) == writes  # not even the new vector was added
    live = h.gateway().collections["docs"].info.config.params.vectors  # type: ignore[union-attr]
    assert sorted(live) == ["a", "b"]  # type: ignore[arg-type]


async def test_removal_goes_through_with_consent_or_without_points() -> None:
    for policy, points in (("Allow", 100), ("Refuse", 0)):
        h = harness()
        obj = await named_collection_with_points(h, points)
        spec = {"vectors": {"a": V4, "c": V4}, "vectorRemovalPolicy": policy}
        await run(h, {**obj, "metadata": {**obj["metadata"], "generation": 2}, "spec": spec})
        live = h.gateway().collections["docs"].info.config.params.vectors  # type: ignore[union-attr]
        assert sorted(live) == ["a", "c"], policy  # type: ignore[arg-type]


async def test_sparse_vector_removal_is_guarded_too() -> None:
    h = harness()
    obj = await converge(h, body(spec={"vectors": {"a": V4}, "sparseVectors": {"bm25": {"modifier": "idf"}}}))
    h.gateway().set_points("docs", 5)
    await run(h, {**obj, "spec": {"vectors": {"a": V4}, "sparseVectors": {}}})
    assert condition(last_status(h), "Stalled")["reason"] == "VectorRemovalRefused"


# -- credentials and connection allow-list ----------------------------------------------------


def with_secret(url: str = "http://elsewhere:6333") -> dict[str, Any]:
    return body(spec={"vectors": {"": V4}, "connection": {"url": url, "apiKeySecretRef": {"name": "key"}}})


async def test_an_unlabelled_secret_is_never_sent() -> None:
    h = harness()
    h.kube.add_secret("team", "key", "s3cret", labelled=False)
    result = await run(h, with_secret())
    stalled = condition(last_status(h), "Stalled")
    assert (result.condition, stalled["reason"]) == ("Stalled", "SecretNotPermitted")
    assert h.pool.gateways == {}
    assert "s3cret" not in json.dumps(h.kube.status_patches)


async def test_a_labelled_secret_is_used() -> None:
    h = harness()
    h.kube.add_secret("team", "key", "s3cret")
    await run(h, with_secret())
    assert h.pool.gateways["http://elsewhere:6333"].api_keys == ["s3cret"]
    assert "s3cret" not in json.dumps(h.kube.status_patches) + json.dumps(h.events)


async def test_a_url_off_the_allow_list_is_refused_before_the_secret_is_read() -> None:
    h = harness(allowed_qdrant_urls=["http://qdrant:6333", "https://*.example.com"])
    h.kube.add_secret("team", "key", "s3cret")
    h.kube.secrets.clear()  # were it read, this would say SecretNotFound instead
    await run(h, with_secret("http://attacker:8080"))
    assert condition(last_status(h), "Stalled")["reason"] == "ConnectionNotAllowed"
    assert h.pool.gateways == {}


@pytest.mark.parametrize(
    ("url", "allowed", "ok"),
    [
        ("http://qdrant:6333", [], True),
        ("http://qdrant:6333", ["http://qdrant:6333"], True),
        ("http://qdrant:6333/", ["http://qdrant:6333"], True),
        ("http://qdrant:6333/prefix", ["http://qdrant:6333"], True),
        ("http://qdrant:63339", ["http://qdrant:6333"], False),
        ("http://qdrant:6333.evil.com", ["http://qdrant:6333"], False),
        ("http://qdrant.qdrant", ["http://qdrant"], False),
        ("https://a.example.com:6333", ["https://*.example.com:6333"], True),
        ("https://a.example.org:6333", ["https://*.example.com:6333"], False),
        ("http://x:1", ["http://y:1", "http://x:1"], True),
    ],
)
def test_url_allow_list(url: str, allowed: list[str], ok: bool) -> None:
    assert url_allowed(url, allowed) is ok


# -- owner lookups -----------------------------------------------------------------------------


async def collection_stamped_by(h: Harness, owner: dict[str, Any]) -> None:
    other = harness()
    other.pool = h.pool
    other.ctx.qdrant = h.pool  # type: ignore[assignment]
    await run(other, owner)


@pytest.mark.parametrize(
    ("refuse", "owner_kind", "expected"),
    [
        (None, "QdrantCollection", "Ready"),  # the owner is gone: adopted
        (403, "QdrantCollection", "ResourceConflict"),  # cannot tell: assumed alive
        (None, "SomethingElse", "ResourceConflict"),  # a kind this operator does not serve
    ],
)
async def test_owner_lookups_never_adopt_on_doubt(refuse: int | None, owner_kind: str, expected: str) -> None:
    h = harness()
    old_owner = body(
        name="old", spec={"collectionName": "docs", "vectors": {"": V4}}, created="2026-01-01T00:00:00Z"
    )
    await collection_stamped_by(h, old_owner)
    if owner_kind != "QdrantCollection":
        fake = h.gateway().collections["docs"]
        meta = dict(fake.info.config.metadata)  # type: ignore[union-attr]
        meta["qco.dev/owner-kind"] = owner_kind
        fake.info = fake.info.model_copy(
            update={"config": fake.info.config.model_copy(update={"metadata": meta})}
        )  # type: ignore[union-attr]
    h.kube.refuse_lookups = refuse
    writes = len(h.gateway().writes())
    await run(h, body(spec={"vectors": {"": V4}}))
    status = last_status(h)
    got = (
        "Ready" if condition(status, "Ready")["status"] == "True" else condition(status, "Stalled")["reason"]
    )
    assert got == expected
    if expected != "Ready":
        assert len(h.gateway().writes()) == writes


# -- errors ------------------------------------------------------------------------------------


def failing(exc: Exception) -> Any:
    def hook(operation: str, name: str) -> None:
        raise exc

    return hook


async def test_a_huge_qdrant_error_is_truncated_in_status_and_events() -> None:
    h = harness()
    error = json.dumps({"status": {"error": "x" * 50_000}}).encode()
    h.gateway().hook = failing(UnexpectedResponse(400, "Bad Request", error, httpx.Headers()))
    result = await run(h, body())
    stalled = condition(last_status(h), "Stalled")
    assert (result.condition, stalled["reason"]) == ("Stalled", "QdrantRejected")
    assert len(stalled["message"].encode()) < 2100
    assert stalled["message"].endswith(" … [truncated]")


def test_the_reporter_cuts_any_message_to_what_the_api_server_accepts() -> None:
    from qco.reconcile.outcome import stalled_outcome
    from qco.reconcile.status_report import build_status

    status = build_status(None, stalled_outcome("Huge", "é" * 40_000), 1, "2026-01-01T00:00:00Z")
    message = next(c for c in status["conditions"] if c["type"] == "Stalled")["message"]
    assert len(message.encode()) <= 32768 and message.endswith(TRUNCATION_MARKER)


@pytest.mark.parametrize(
    ("exc", "condition_", "reason", "retry"),
    [
        (httpx.ConnectError("refused"), "Reconciling", "QdrantUnreachable", 10.0),
        (
            UnexpectedResponse(503, "Unavailable", b"{}", httpx.Headers()),
            "Reconciling",
            "QdrantUnavailable",
            10.0,
        ),
        (
            UnexpectedResponse(401, "Unauthorized", b"{}", httpx.Headers()),
            "Stalled",
            "QdrantUnauthorized",
            120.0,
        ),
        (RuntimeError("bug"), "Reconciling", "InternalError", 10.0),
    ],
)
async def test_every_failure_is_reported_and_retried(
    exc: Exception, condition_: str, reason: str, retry: float, caplog: pytest.LogCaptureFixture
) -> None:
    h = harness()
    h.gateway().hook = failing(exc)
    result = await run(h, body())
    assert (result.condition, result.retry_after, result.failed) == (condition_, retry, True)
    assert condition(last_status(h), "Ready")["reason"] == reason
    assert (
        h.ctx.metrics.reconciles.labels(
            "QdrantCollection",
            "stalled" if condition_ == "Stalled" else "error" if reason == "InternalError" else "retry",
        )._value.get()
        == 1
    )
    if reason == "InternalError":
        assert any(r.exc_info for r in caplog.records)  # unknown: logged with its traceback


async def test_a_failed_status_write_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    h = harness()
    h.kube.patch_error = RuntimeError("409 conflict")
    result = await run(h, body())
    assert result.condition == "Ready"
    assert "status of QdrantCollection team/docs not written: 409 conflict" in caplog.text


# -- deletion ----------------------------------------------------------------------------------


async def test_retain_releases_and_delete_deletes() -> None:
    for policy in ("Retain", "Delete"):
        h = harness()
        obj = await converge(h, body(spec={"vectors": {"": V4}, "deletionPolicy": policy}))
        await finalize(h, obj)
        live = h.gateway().collections.get("docs")
        if policy == "Delete":
            assert live is None and h.reasons()[-1] == "Deleted"
        else:
            assert live is not None and parse_owner_stamp(live.info.config.metadata) is None  # type: ignore[union-attr]
            assert h.reasons()[-1] == "Released"


async def test_a_collection_someone_else_owns_is_left_alone() -> None:
    h = harness()
    await collection_stamped_by(h, body(name="other", spec={"collectionName": "docs", "vectors": {"": V4}}))
    writes = len(h.gateway().writes())
    await finalize(h, body(spec={"vectors": {"": V4}, "deletionPolicy": "Delete"}))
    assert len(h.gateway().writes()) == writes and "docs" in h.gateway().collections


async def test_delete_hands_over_to_a_live_claimant_instead_of_deleting() -> None:
    h = harness()
    old = await converge(
        h, body(name="old", spec={"collectionName": "docs", "vectors": {"": V4}, "deletionPolicy": "Delete"})
    )
    h.gateway().set_points("docs", 100)
    new = body(
        name="new", spec={"collectionName": "docs", "vectors": {"": V4}}, created="2026-02-01T00:00:00Z"
    )
    h.kube.objects[("qdrantcollections", "team", "new")] = new
    h.kube.objects[("qdrantcollections", "team", "old")] = old
    await finalize(h, old)
    live = h.gateway().collections["docs"].info
    assert live is not None and live.points_count == 100
    stamp = parse_owner_stamp(live.config.metadata)
    assert stamp is not None and stamp.ref == "team/new/uid-new"
    assert h.woken == ["uid-new"]
    assert [(n, r) for n, _, r, _ in h.events[-2:]] == [("old", "HandedOver"), ("new", "TookOver")]
    # The new owner's next pass is a plain Ready, with nothing to take over.
    del h.kube.objects[("qdrantcollections", "team", "old")]
    result = await run(h, new)
    assert result.condition == "Ready"


async def test_a_claimant_on_another_qdrant_or_being_deleted_does_not_count() -> None:
    h = harness()
    old = await converge(
        h, body(name="old", spec={"collectionName": "docs", "vectors": {"": V4}, "deletionPolicy": "Delete"})
    )
    elsewhere = body(
        name="b",
        spec={"collectionName": "docs", "vectors": {"": V4}, "connection": {"url": "http://other:6333"}},
    )
    going = body(name="c", spec={"collectionName": "docs", "vectors": {"": V4}})
    going["metadata"]["deletionTimestamp"] = "2026-03-01T00:00:00Z"
    h.kube.objects[("qdrantcollections", "team", "b")] = elsewhere
    h.kube.objects[("qdrantcollections", "team", "c")] = going
    await finalize(h, old)
    assert "docs" not in h.gateway().collections and h.woken == []


async def test_the_orphan_annotation_releases_without_touching_qdrant() -> None:
    h = harness()
    obj = await converge(h, body(spec={"vectors": {"": V4}, "deletionPolicy": "Delete"}))
    calls = len(h.gateway().calls)
    await finalize(h, {**obj, "metadata": {**obj["metadata"], "annotations": {"qco.dev/orphan": "true"}}})
    assert len(h.gateway().calls) == calls and h.reasons()[-1] == "Orphaned"


async def test_an_object_that_never_managed_a_collection_is_released_without_its_secret() -> None:
    h = harness()
    obj = with_secret()
    await run(h, obj)  # SecretNotFound: it never reached Qdrant
    await finalize(h, {**obj, "status": last_status(h)})
    assert h.pool.gateways == {} and h.reasons()[-1] == "Released"


async def test_deletion_waits_while_qdrant_is_unreachable() -> None:
    h = harness()
    obj = await converge(h, body(spec={"vectors": {"": V4}, "deletionPolicy": "Delete"}))
    h.gateway().hook = failing(httpx.ConnectError("refused"))
    with pytest.raises(kopf.TemporaryError, match=r"qco\.dev/orphan"):
        await finalize(h, obj)
    assert condition(last_status(h), "Ready")["reason"] == "DeletionBlocked"


# -- connection.url moves ----------------------------------------------------------------------


async def test_a_moved_url_releases_the_old_collection_once() -> None:
    h = harness()
    obj = await converge(h, body(spec={"vectors": {"": V4}}))
    moved = {**obj, "metadata": {**obj["metadata"], "generation": 2},
             "spec": {"vectors": {"": V4}, "connection": {"url": "http://new:6333"}}}  # fmt: skip
    await run(h, moved)
    old_live = h.gateway().collections["docs"].info
    assert old_live is not None and parse_owner_stamp(old_live.config.metadata) is None
    assert "docs" in h.pool.gateways["http://new:6333"].collections
    assert "Released" in h.reasons()
    assert last_status(h)["endpoint"] == {"url": "http://new:6333"}
    old_writes = len(h.gateway().writes())
    await run(h, {**moved, "status": last_status(h)})
    assert len(h.gateway().writes()) == old_writes  # released once, not on every pass


async def test_an_unreachable_old_url_is_reported_as_left_behind() -> None:
    h = harness()
    obj = await converge(h, body(spec={"vectors": {"": V4}}))
    h.gateway().hook = failing(httpx.ConnectError("refused"))
    moved = {**obj, "spec": {"vectors": {"": V4}, "connection": {"url": "http://new:6333"}}}
    result = await run(h, moved)
    assert result.condition == "Ready"
    (left,) = [e for e in h.events if e[2] == "LeftBehind"]
    assert left[1] == "Warning" and "collection docs on http://qdrant:6333" in left[3]


# -- one writer per object ---------------------------------------------------------------------


async def test_the_finalizer_waits_for_an_in_flight_pass_and_no_pass_follows() -> None:
    from qco.handlers.loop import release_slot, run_finalizer, run_pass
    from qco.handlers.runtime import ObjectSlot, Runtime

    h = harness()
    runtime = Runtime(h.ctx)
    h.ctx.wake = runtime.wake
    obj = body(spec={"vectors": {"": V4}})  # deletionPolicy Retain
    created, release = asyncio.Event(), asyncio.Event()

    async def block_after_create(operation: str, name: str) -> None:
        if operation == "update_aliases" or (operation == "get_collection" and created.is_set()):
            return
        if operation == "create_collection":
            created.set()
            await release.wait()

    h.gateway().hook = block_after_create
    slot = runtime.slots.setdefault("uid-docs", ObjectSlot())
    passing = asyncio.create_task(run_pass(runtime, QDRANT_COLLECTION, COLLECTION_RECONCILER, slot, obj, LOG))
    await created.wait()
    finalizing = asyncio.create_task(
        run_finalizer(runtime, QDRANT_COLLECTION, COLLECTION_RECONCILER, obj, LOG)
    )
    release.set()
    await asyncio.gather(passing, finalizing)
    # Without the lock the finalizer found no collection mid-create and left a stamped orphan.
    live = h.gateway().collections["docs"].info
    assert live is not None and parse_owner_stamp(live.config.metadata) is None
    assert await run_pass(runtime, QDRANT_COLLECTION, COLLECTION_RECONCILER, slot, obj, LOG) is None
    assert h.ctx.metrics.states.by_object == {("QdrantCollection", "uid-docs"): ("Ready", "green")}
    release_slot(runtime, QDRANT_COLLECTION, "uid-docs", slot)
    release_slot(runtime, QDRANT_COLLECTION, "uid-docs", slot)  # a second call changes nothing
    assert runtime.slots == {} and h.ctx.metrics.states.by_object == {}
