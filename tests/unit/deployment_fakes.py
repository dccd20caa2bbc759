"""In-memory stand-ins for a CollectionDeployment pass: Kubernetes objects (the deployment and its
child QdrantCollections), Qdrant points, and a driver that runs passes through the machinery."""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass, field
from typing import Any

from qdrant_client.http import models

from qco.api.deployment import COLLECTION_DEPLOYMENT
from qco.clients.kube_objects import AlreadyExists
from qco.reconcile.deployment import DeploymentClients, deployment_reconciler
from qco.reconcile.machinery import finalize_object, reconcile_object
from qco.reconcile.snapshot import PassSnapshot
from tests.unit.fakes import Harness, harness

LOG = logging.getLogger("test")


def merge(target: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """RFC 7386 merge patch."""
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)
    return target


@dataclass
class FakeObjects:
    """Custom objects by (plural, namespace, name)."""

    items: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)
    deleted: list[str] = field(default_factory=list)
    creates: int = 0

    async def get(self, plural: str, namespace: str, name: str) -> dict[str, Any] | None:
        item = self.items.get((plural, namespace, name))
        return copy.deepcopy(item) if item is not None else None

    async def list(self, plural: str, namespace: str, selector: str) -> list[dict[str, Any]]:
        key, _, value = selector.partition("=")
        return [
            copy.deepcopy(o)
            for (p, ns, _), o in self.items.items()
            if p == plural and ns == namespace and o["metadata"].get("labels", {}).get(key) == value
        ]

    async def create(self, plural: str, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
        key = (plural, namespace, body["metadata"]["name"])
        if key in self.items:
            raise AlreadyExists(str(key))
        self.creates += 1
        item = copy.deepcopy(body)
        item["metadata"]["generation"] = 1
        self.items[key] = item
        return copy.deepcopy(item)

    async def patch(self, plural: str, namespace: str, name: str, patch: dict[str, Any]) -> None:
        item = self.items[(plural, namespace, name)]
        merge(item, patch)
        if "spec" in patch:
            item["metadata"]["generation"] += 1

    async def delete(self, plural: str, namespace: str, name: str) -> bool:
        self.deleted.append(name)
        return self.items.pop((plural, namespace, name), None) is not None


@dataclass
class FakeStore:
    """Qdrant points by collection: id -> (vector, payload)."""

    collections: dict[str, dict[Any, tuple[list[float], dict[str, Any]]]] = field(default_factory=dict)
    snapshots: dict[str, dict[Any, tuple[list[float], dict[str, Any]]]] = field(
        default_factory=dict
    )  # by URL
    recovered: list[tuple[str, str, str | None]] = field(default_factory=list)
    upserts: int = 0


class FakePoints:
    """PointsClient on a FakeStore (unnamed vectors; queries answer by ascending id)."""

    def __init__(self, store: FakeStore) -> None:
        self.store = store

    async def __aenter__(self) -> FakePoints:
        return self

    async def __aexit__(self, *_: object) -> None:
        return None

    async def vector_names(self, collection: str) -> tuple[list[str], bool] | None:
        return ([""], True) if collection in self.store.collections else None

    async def count(self, collection: str, count_filter: Any = None) -> int:
        return len(self.store.collections[collection])

    async def scroll(
        self, collection: str, offset: Any, limit: int, with_vectors: Any, scroll_filter: Any = None
    ) -> Any:
        ids = sorted(i for i in self.store.collections[collection] if offset is None or i >= offset)
        page, rest = ids[:limit], ids[limit:]
        data = self.store.collections[collection]
        records = [models.Record(id=i, vector=data[i][0], payload=data[i][1]) for i in page]
        return records, (rest[0] if rest else None)

    async def upsert(self, collection: str, points: list[models.PointStruct]) -> None:
        self.store.upserts += 1
        target = self.store.collections.setdefault(collection, {})
        for point in points:
            target[point.id] = (point.vector, point.payload or {})  # type: ignore[assignment]

    async def recover_snapshot(self, collection: str, location: str, checksum: str | None) -> None:
        self.store.recovered.append((collection, location, checksum))
        self.store.collections[collection] = dict(self.store.snapshots[location])

    async def delete_collection(self, collection: str) -> None:
        self.store.collections.pop(collection, None)

    async def query_ids(self, collection: str, request: models.QueryRequest) -> list[Any]:
        return sorted(self.store.collections[collection])[: request.limit]


@dataclass
class FakeEmbedder:
    """EmbeddingsClient stand-in: how it was built, and every batch it was asked to embed; a text's
    vector is [its length, 1.0]."""

    url: str
    model: str
    api_key: str | None = field(default=None, repr=False)
    batches: list[list[str]] = field(default_factory=list)

    async def __aenter__(self) -> FakeEmbedder:
        return self

    async def __aexit__(self, *_: object) -> None:
        return None

    async def embed(self, texts: list[str]) -> list[list[float]]:
        self.batches.append(list(texts))
        return [[float(len(text)), 1.0] for text in texts]


@dataclass
class Deployment:
    """One deployment driven pass by pass on the fakes."""

    h: Harness
    objects: FakeObjects
    store: FakeStore
    body: dict[str, Any]
    embedders: list[FakeEmbedder] = field(default_factory=list)

    @property
    def status(self) -> dict[str, Any]:
        return self.body.setdefault("status", {})

    @property
    def gateway(self) -> Any:
        return self.h.gateway()

    def condition(self, type_: str) -> dict[str, Any]:
        return next(c for c in self.status["conditions"] if c["type"] == type_)

    async def run(self) -> None:
        """One pass; its status patch lands on the object."""
        before = len(self.h.kube.status_patches)
        snapshot = PassSnapshot.take(COLLECTION_DEPLOYMENT, self.body)
        await reconcile_object(self.h.ctx, self._reconciler(), snapshot, LOG)
        for _, _, patch in self.h.kube.status_patches[before:]:
            merge(self.status, patch)
        self.objects.items[("collectiondeployments", "team", "docs")] = copy.deepcopy(self.body)
        await self.settle_children()

    async def finalize(self) -> None:
        await finalize_object(
            self.h.ctx, self._reconciler(), PassSnapshot.take(COLLECTION_DEPLOYMENT, self.body), LOG
        )

    async def settle_children(self) -> None:
        """What the QdrantCollection machinery would do: create each child's collection; Ready."""
        for (plural, _, _), child in self.objects.items.items():
            if plural != "qdrantcollections":
                continue
            name = child["spec"]["collectionName"]
            if name not in self.gateway.collections:
                await self.gateway.create_collection(
                    name,
                    models.CreateCollection(
                        vectors=models.VectorParams(size=2, distance=models.Distance.DOT)
                    ),
                )
                self.store.collections.setdefault(name, {})
            child["status"] = {
                "observedGeneration": child["metadata"]["generation"],
                "conditions": [{"type": "Ready", "status": "True", "reason": "Synced", "message": ""}],
            }

    async def until(self, phase: str, passes: int = 20) -> None:
        for _ in range(passes):
            await self.run()
            if self.status.get("phase") == phase:
                return
        raise AssertionError(f"never reached {phase}: {self.status}")

    def apply(self, **spec: Any) -> None:
        self.body["spec"] = {**self.body["spec"], **spec}
        self.body["metadata"]["generation"] += 1

    def _reconciler(self) -> Any:
        return deployment_reconciler(
            DeploymentClients(
                objects=lambda ctx: self.objects,  # type: ignore[arg-type,return-value]
                points=lambda endpoint: FakePoints(self.store),  # type: ignore[arg-type,return-value]
                embeddings=self._embedder,  # type: ignore[arg-type]
            )
        )

    def _embedder(self, url: str, model: str, api_key: str | None) -> FakeEmbedder:
        embedder = FakeEmbedder(url, model, api_key)
        self.embedders.append(embedder)
        return embedder


def deployment(spec: dict[str, Any], **settings: Any) -> Deployment:
    """A deployment `docs` in namespace `team` on fresh fakes; `settings` override OperatorSettings."""
    body = {
        "apiVersion": "qco.dev/v1alpha1",
        "kind": "CollectionDeployment",
        "metadata": {
            "name": "docs",
            "namespace": "team",
            "uid": "uid-docs",
            "generation": 1,
            "creationTimestamp": "2026-01-02T00:00:00Z",
            "resourceVersion": "1",
            "annotations": {},
        },
        "spec": spec,
        "status": {},
    }
    return Deployment(harness(**settings), FakeObjects(), FakeStore(), body)
