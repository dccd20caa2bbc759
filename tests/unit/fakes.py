"""In-memory stand-ins for the clients a reconcile is given: a Qdrant gateway pool and a
Kubernetes client. They record every call, so tests assert what was (not) sent where."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from qdrant_client.http import models

from qco.clients.kube import CREDENTIALS_LABEL, LookupRefused, SecretError
from qco.clients.qdrant import Endpoint
from qco.metrics import Metrics
from qco.plan.actions import (
    CollectionPlan,
    CreateCollection,
    CreatePayloadIndex,
    CreateVector,
    DeletePayloadIndex,
    DeleteVector,
    UpdateAliases,
    UpdateCollection,
)
from qco.reconcile.context import Context
from qco.settings import OperatorSettings
from tests.unit.fake_qdrant import FakeQdrant

Hook = Callable[[str, str], Any]  # (operation, collection) -> awaitable or None; may raise


@dataclass
class FakeGateway:
    """One Qdrant endpoint: collections by name, aliases, and a log of (operation, collection)."""

    url: str
    collections: dict[str, FakeQdrant] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)
    calls: list[tuple[str, str]] = field(default_factory=list)
    api_keys: list[str | None] = field(default_factory=list)
    hook: Hook | None = None

    async def _enter(self, operation: str, name: str) -> None:
        self.calls.append((operation, name))
        if self.hook is not None:
            result = self.hook(operation, name)
            if asyncio.iscoroutine(result):
                await result

    def _apply(self, name: str, action: Any) -> None:
        self.collections[name].apply(CollectionPlan(name, (action,)))

    async def get_collection(self, name: str) -> models.CollectionInfo | None:
        await self._enter("get_collection", name)
        fake = self.collections.get(self.aliases.get(name, name))
        return fake.info if fake is not None else None

    async def list_aliases(self, fresh: bool = False) -> dict[str, str]:
        await self._enter("list_aliases", "")
        return dict(self.aliases)

    async def create_collection(self, name: str, request: models.CreateCollection) -> None:
        await self._enter("create_collection", name)
        self.collections[name] = FakeQdrant()
        self._apply(name, CreateCollection(name, request))

    async def update_collection(self, name: str, request: models.UpdateCollection) -> None:
        await self._enter("update_collection", name)
        self._apply(name, UpdateCollection(name, request))

    async def delete_collection(self, name: str) -> None:
        await self._enter("delete_collection", name)
        self.collections.pop(name, None)
        self.aliases = {a: c for a, c in self.aliases.items() if c != name}

    async def create_vector(self, name: str, vector: str, config: Any) -> None:
        await self._enter("create_vector", name)
        self._apply(name, CreateVector(name, vector, config))

    async def delete_vector(self, name: str, vector: str) -> None:
        await self._enter("delete_vector", name)
        info = self.collections[name].info
        sparse = info is not None and vector in (info.config.params.sparse_vectors or {})
        self._apply(name, DeleteVector(name, vector, sparse))

    async def create_payload_index(self, name: str, request: models.CreateFieldIndex) -> None:
        await self._enter("create_payload_index", name)
        schema: Any = request.field_schema
        self._apply(name, CreatePayloadIndex(name, request.field_name, schema))

    async def delete_payload_index(self, name: str, field_name: str) -> None:
        await self._enter("delete_payload_index", name)
        self._apply(name, DeletePayloadIndex(name, field_name))

    async def update_aliases(self, operations: list[Any]) -> None:
        await self._enter("update_aliases", "")
        holder = FakeQdrant()
        holder.aliases = self.aliases
        holder.apply(CollectionPlan("", (UpdateAliases("", tuple(operations)),)))

    def writes(self) -> list[tuple[str, str]]:
        """Every call that changes something."""
        return [c for c in self.calls if c[0] not in ("get_collection", "list_aliases")]

    def set_points(self, name: str, count: int) -> None:
        """Pretend the collection holds `count` points."""
        fake = self.collections[name]
        assert fake.info is not None
        fake.info = fake.info.model_copy(update={"points_count": count})


@dataclass
class FakePool:
    """Gateways by URL; records which API key each request was built with."""

    gateways: dict[str, FakeGateway] = field(default_factory=dict)

    def gateway(self, endpoint: Endpoint) -> FakeGateway:
        gateway = self.gateways.setdefault(endpoint.url.rstrip("/"), FakeGateway(endpoint.url.rstrip("/")))
        gateway.api_keys.append(endpoint.api_key)
        return gateway

    async def close(self) -> None:
        return None


@dataclass
class FakeKube:
    """Secrets, custom objects and status patches of a Kubernetes API."""

    secrets: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    objects: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)  # (plural, ns, name)
    status_patches: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    refuse_lookups: int | None = None  # answer owner lookups with this HTTP status
    patch_error: Exception | None = None

    def add_secret(self, namespace: str, name: str, value: str, labelled: bool = True) -> None:
        labels = {CREDENTIALS_LABEL: "true"} if labelled else {}
        data = {"api-key": base64.b64encode(value.encode()).decode()}
        self.secrets[(namespace, name)] = {"labels": labels, "data": data}

    async def secret_value(self, namespace: str, name: str, key: str) -> str:
        secret = self.secrets.get((namespace, name))
        if secret is None:
            raise SecretError("SecretNotFound", f"Secret {namespace}/{name} not found")
        if secret["labels"].get(CREDENTIALS_LABEL) != "true":
            raise SecretError("SecretNotPermitted", f"Secret {namespace}/{name} is not labelled")
        return base64.b64decode(secret["data"][key]).decode()

    async def custom_object_uid(
        self, group: str, version: str, plural: str, namespace: str, name: str
    ) -> str | None:
        if self.refuse_lookups is not None:
            raise LookupRefused(f"{self.refuse_lookups} for {plural} {namespace}/{name}")
        obj = self.objects.get((plural, namespace, name))
        return obj["metadata"]["uid"] if obj else None

    async def list_custom_objects(
        self, group: str, version: str, plural: str, namespaces: list[str]
    ) -> list[dict[str, Any]]:
        return [
            o
            for (p, ns, _), o in self.objects.items()
            if p == plural and (not namespaces or ns in namespaces)
        ]

    async def patch_status(
        self, group: str, version: str, plural: str, namespace: str, name: str, status: dict[str, Any]
    ) -> None:
        if self.patch_error is not None:
            raise self.patch_error
        self.status_patches.append((namespace, name, status))

    async def namespace_terminating(self, namespace: str) -> bool:
        return False

    def close(self) -> None:
        return None


@dataclass
class Harness:
    """A Context on the fakes, plus what it recorded."""

    ctx: Context
    pool: FakePool
    kube: FakeKube
    events: list[tuple[str, str, str, str]]  # (object name, type, reason, message)
    woken: list[str]

    def gateway(self, url: str = "http://qdrant:6333") -> FakeGateway:
        return self.pool.gateways.setdefault(url, FakeGateway(url))

    def reasons(self) -> list[str]:
        return [reason for _, _, reason, _ in self.events]


def harness(**settings: Any) -> Harness:
    """A fresh Context on fakes; `settings` override OperatorSettings (default URL http://qdrant:6333)."""
    pool, kube = FakePool(), FakeKube()
    events: list[tuple[str, str, str, str]] = []
    woken: list[str] = []

    def record(ref: Mapping[str, Any], type_: str, reason: str, message: str) -> None:
        events.append((ref["metadata"]["name"], type_, reason, message))

    ctx = Context(
        settings=OperatorSettings(**{"qdrant_url": "http://qdrant:6333", **settings}),
        metrics=Metrics(kinds=("QdrantCollection",)),
        qdrant=pool,  # type: ignore[arg-type]
        kube=kube,  # type: ignore[arg-type]
        wake=woken.append,
        events=record,
    )
    return Harness(ctx, pool, kube, events, woken)


def body(
    name: str = "docs",
    spec: dict[str, Any] | None = None,
    generation: int = 1,
    uid: str | None = None,
    status: dict[str, Any] | None = None,
    annotations: dict[str, str] | None = None,
    created: str = "2026-01-02T00:00:00Z",
    namespace: str = "team",
) -> dict[str, Any]:
    """A QdrantCollection object as the API server would hand it out."""
    return {
        "apiVersion": "qco.dev/v1alpha1",
        "kind": "QdrantCollection",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "uid": uid or f"uid-{name}",
            "generation": generation,
            "creationTimestamp": created,
            "resourceVersion": "1",
            "annotations": annotations or {},
        },
        "spec": spec if spec is not None else {"vectors": {"": {"size": 4, "distance": "Cosine"}}},
        "status": status or {},
    }
