"""CollectionDeployment passes on fake Kubernetes objects and a fake Qdrant: the rollout's phases,
one alias request per switch, conflicts, failed validation, rollback, history, pause, deletion."""

from __future__ import annotations

from typing import Any

from qdrant_client.http import models

from tests.unit.deployment_fakes import Deployment, deployment

TEMPLATE: dict[str, Any] = {"vectors": {"": {"size": 2, "distance": "Dot"}}}


def switches(d: Deployment) -> int:
    return sum(1 for op, _ in d.gateway.calls if op == "update_aliases")


async def first(points: int = 0, **spec: Any) -> Deployment:
    d = deployment({"alias": "docs", "template": TEMPLATE, "copyBatchSize": 7, **spec})
    await d.until("Complete")
    rev1 = d.status["activeCollection"]
    d.store.collections[rev1] = {i: ([float(i), 1.0], {"n": i}) for i in range(points)}
    return d


async def test_first_revision_is_created_empty_and_switched_to_once() -> None:
    d = deployment({"alias": "docs", "template": TEMPLATE})
    await d.run()
    assert d.status["phase"] == "Creating" and d.condition("Reconciling")["status"] == "True"
    child = d.objects.items[("qdrantcollections", "team", d.status["revisions"][0]["child"])]
    assert child["metadata"]["ownerReferences"][0]["uid"] == "uid-docs"
    assert "optimizers" not in child["spec"]  # an empty revision needs no bulk indexing
    await d.until("Complete")
    assert d.gateway.aliases == {"docs": d.status["activeCollection"]}
    assert d.condition("Ready")["status"] == "True" and d.condition("Ready")["reason"] == "Complete"
    assert switches(d) == 1
    patches = len(d.h.kube.status_patches)
    await d.run()  # a settled deployment writes nothing
    assert len(d.h.kube.status_patches) == patches and switches(d) == 1


async def test_a_new_revision_is_filled_indexed_validated_and_switched() -> None:
    d = await first(points=30)
    rev1 = d.status["activeCollection"]
    d.apply(
        template={**TEMPLATE, "shardNumber": 2},
        validation={"minPointRatio": 1.0, "queries": [{"pointId": 3}]},
    )
    await d.until("Complete")
    rev2 = d.status["activeCollection"]
    assert rev2 != rev1 and d.gateway.aliases["docs"] == rev2 and switches(d) == 2
    assert d.store.collections[rev2] == d.store.collections[rev1]
    child = d.objects.items[("qdrantcollections", "team", d.status["revisions"][1]["child"])]
    assert child["spec"]["optimizers"] == {"indexingThreshold": 10000}  # restored after the bulk fill
    assert child["metadata"]["generation"] == 2
    progress = d.status["progress"]
    assert (progress["copied"], progress["total"], progress["summary"]) == (30, 30, "30/30 (100%)")
    assert "checkpoint" not in progress
    assert d.status["validation"]["passed"] and d.status["validation"]["pointRatio"] == 1.0
    assert [r["phase"] for r in d.status["revisions"]] == ["Inactive", "Active"]
    assert {"NewRevision", "Filling", "RestoreIndexing", "Validating", "SwitchAlias"} <= set(d.h.reasons())


async def test_a_switch_made_before_a_crash_is_not_made_again() -> None:
    d = await first(points=5)
    gateway, real = d.gateway, d.gateway.update_aliases

    async def applied_then_lost(operations: list[Any]) -> None:
        await real(operations)
        raise ConnectionResetError("the operator died before it heard back")

    gateway.update_aliases = applied_then_lost
    d.apply(template={**TEMPLATE, "hnsw": {"m": 8}})
    for _ in range(10):
        await d.run()
        if switches(d) == 2:
            break
    target = d.status["revisions"][-1]["collection"]
    assert gateway.aliases["docs"] == target and d.status["activeCollection"] != target
    gateway.update_aliases = real
    await d.run()
    assert d.status["phase"] == "Complete" and d.status["activeCollection"] == target
    assert switches(d) == 2  # found done, not made again


async def test_an_alias_pointing_elsewhere_is_a_conflict_and_nothing_is_switched() -> None:
    d = deployment({"alias": "docs", "template": TEMPLATE})
    await d.gateway.create_collection(
        "someone-elses",
        models.CreateCollection(
            vectors=models.VectorParams(size=2, distance=models.Distance.DOT),
            metadata={"qco.dev/owner": "apps/blog/uid-9", "qco.dev/owner-kind": "QdrantCollection"},
        ),
    )
    d.gateway.aliases["docs"] = "someone-elses"
    for _ in range(4):
        await d.run()
    assert d.condition("Stalled")["reason"] == "AliasConflict"
    assert "someone-elses" in d.condition("Stalled")["message"]
    assert "managed by QdrantCollection apps/blog" in d.condition("Stalled")["message"]
    assert switches(d) == 0 and d.gateway.aliases == {"docs": "someone-elses"}


async def test_failed_validation_keeps_the_alias_until_the_spec_changes() -> None:
    d = await first(points=10)
    rev1 = d.status["activeCollection"]
    d.apply(template={**TEMPLATE, "hnsw": {"m": 8}}, validation={"minPointRatio": 2.0})
    await d.until("Failed")
    stalled = d.condition("Stalled")
    assert stalled["reason"] == "ValidationFailed"
    assert "point ratio 1.0000 (10/10) is below minPointRatio 2.0" in stalled["message"]
    assert d.gateway.aliases["docs"] == rev1
    await d.run()
    assert d.status["phase"] == "Failed"  # the same generation stays failed
    d.apply(validation={"minPointRatio": 1.0})
    await d.until("Complete")
    assert d.status["activeRevision"] == 2 and d.gateway.aliases["docs"] != rev1


async def test_rollback_by_revert_and_by_annotation_switch_without_copying() -> None:
    d = await first(points=10, revisionHistoryLimit=3)
    rev1_spec = dict(d.body["spec"])
    d.apply(template={**TEMPLATE, "hnsw": {"m": 8}})
    await d.until("Complete")
    upserts, creates = d.store.upserts, d.objects.creates
    d.body["spec"] = rev1_spec  # a revert in Git
    d.body["metadata"]["generation"] += 1
    await d.until("Complete")
    assert d.status["activeRevision"] == 1 and (d.store.upserts, d.objects.creates) == (upserts, creates)
    d.body["metadata"]["annotations"]["qco.dev/rollback"] = "2"
    await d.run()
    assert d.status["activeRevision"] == 2 and d.status["rollback"]["revision"] == 2
    assert (d.store.upserts, d.objects.creates) == (upserts, creates)
    d.body["metadata"]["annotations"]["qco.dev/rollback"] = "7"
    await d.run()
    assert d.condition("Stalled")["reason"] == "InvalidRollback"


async def test_history_keeps_the_limit_and_never_the_active_revision() -> None:
    d = await first(points=3, revisionHistoryLimit=1)
    for m in (8, 9, 10):
        d.apply(template={**TEMPLATE, "hnsw": {"m": m}})
        await d.until("Complete")
    numbers = [r["number"] for r in d.status["revisions"]]
    assert numbers == [3, 4] and d.status["activeRevision"] == 4
    children = {k[2] for k in d.objects.items if k[0] == "qdrantcollections"}
    assert children == {r["child"] for r in d.status["revisions"]}
    assert len(d.objects.deleted) == 2


async def test_paused_changes_nothing() -> None:
    d = deployment({"alias": "docs", "template": TEMPLATE, "paused": True})
    await d.run()
    assert d.condition("Paused")["status"] == "True"
    assert [k for k in d.objects.items if k[0] == "qdrantcollections"] == []
    assert d.gateway.calls == []


async def test_deletion_with_retain_releases_children_first() -> None:
    d = await first(points=2)
    d.apply(deletionPolicy="Retain")
    await d.finalize()
    assert d.objects.deleted and not [k for k in d.objects.items if k[0] == "qdrantcollections"]


async def test_source_missing_is_stalled() -> None:
    d = await first()
    d.apply(template={**TEMPLATE, "hnsw": {"m": 8}}, source={"collection": {"name": "nope"}})
    for _ in range(4):
        await d.run()
    assert d.condition("Stalled")["reason"] == "SourceNotFound"
    assert isinstance(d.gateway.collections[d.status["activeCollection"]].info, models.CollectionInfo)


async def test_a_backup_run_on_the_qdrant_node_is_a_source() -> None:
    d = await first(points=4)
    rev1 = d.status["activeCollection"]
    url = f"http://qdrant:6333/collections/{rev1}/snapshots/nightly-1.snapshot"
    d.store.snapshots[url] = {i: ([1.0, float(i)], {"from": "backup"}) for i in range(6)}
    schedule = {
        "metadata": {"name": "nightly", "namespace": "team"},
        "status": {
            "runs": [
                {"name": "nightly-2", "phase": "Failed", "collections": []},
                {
                    "name": "nightly-1",
                    "phase": "Succeeded",
                    "collections": [
                        {
                            "name": "docs",
                            "collection": rev1,
                            "snapshot": "nightly-1.snapshot",
                            "sha256": "ab" * 32,
                        }
                    ],
                },
            ]
        },
    }
    d.objects.items[("backupschedules", "team", "nightly")] = schedule
    d.apply(template={**TEMPLATE, "hnsw": {"m": 8}}, source={"backup": {"schedule": "nightly"}})
    await d.until("Complete")
    rev2 = d.status["activeCollection"]
    assert d.store.recovered == [(f"{rev2}-source", url, "ab" * 32)]
    assert d.store.collections[rev2] == d.store.snapshots[url]
    assert f"{rev2}-source" not in d.store.collections  # the staging copy is dropped once served
    assert d.status["revisions"][-1]["sourceSnapshot"] == url


async def test_an_embeddings_url_off_the_allow_list_reads_no_secret_and_sends_nothing() -> None:
    allowed = ["http://tei.ml:8080", "https://*.embed.example.com/v1"]
    d = deployment({"alias": "docs", "template": TEMPLATE}, allowed_embeddings_urls=allowed)
    await d.until("Complete")
    rev1 = d.status["activeCollection"]
    d.store.collections[rev1] = {i: ([0.0, 0.0], {"text": "x" * i}) for i in range(1, 6)}
    d.h.kube.add_secret("team", "embed-key", "s3cret")
    reads: list[tuple[str, str]] = []
    read = d.h.kube.secret_value

    async def counted(namespace: str, name: str, key: str) -> str:
        reads.append((namespace, name))
        return await read(namespace, name, key)

    d.h.kube.secret_value = counted  # type: ignore[method-assign]
    embeddings = {"model": "m", "inputField": "text", "apiKeySecretRef": {"name": "embed-key"}}
    creates = d.objects.creates
    # a prefix ending mid-port is no boundary: http://tei.ml:80800 is not http://tei.ml:8080
    for url in ("https://collector.attacker.example/v1", "http://tei.ml:80800/v1"):
        d.apply(template={**TEMPLATE, "hnsw": {"m": 8}}, transform={"embeddings": {**embeddings, "url": url}})
        for _ in range(3):
            await d.run()
        stalled = d.condition("Stalled")
        assert (stalled["status"], stalled["reason"]) == ("True", "ConnectionNotAllowed")
        assert f"spec.transform.embeddings.url {url} is not allowed" in stalled["message"]
        assert "QCO_ALLOWED_EMBEDDINGS_URLS" in stalled["message"]
        assert "config.allowedEmbeddingsUrls" in stalled["message"]
    assert reads == [] and d.embedders == []  # no Secret read, no client built, nothing sent
    assert d.objects.creates == creates and d.gateway.aliases["docs"] == rev1  # no revision begun

    d.apply(transform={"embeddings": {**embeddings, "url": "http://tei.ml:8080/v1"}})
    await d.until("Complete")
    assert reads and set(reads) == {("team", "embed-key")}
    assert {(e.url, e.model, e.api_key) for e in d.embedders} == {("http://tei.ml:8080/v1", "m", "s3cret")}
    rev2 = d.status["activeCollection"]
    assert rev2 != rev1 and d.gateway.aliases["docs"] == rev2
    assert {i: v for i, (v, _) in d.store.collections[rev2].items()} == {
        i: [float(i), 1.0] for i in range(1, 6)
    }
    assert d.condition("Stalled")["status"] == "False"
