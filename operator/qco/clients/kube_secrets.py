"""Secrets qco writes (access-key tokens): read their metadata, create, replace, delete; through the
official client, off the event loop. Only used when the operator may write Secrets
(QCO_ACCESS_KEYS_ENABLED); reading credentials stays in `clients.kube.KubeClient.secret_value`."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException


class SecretWriteRefused(Exception):
    """Kubernetes refused a Secret write qco needs (forbidden, or the name is taken); says the fix."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class SecretMeta:
    """A Secret's metadata (its data is dropped as soon as it is read: qco never needs the token)."""

    name: str
    resource_version: str | None
    labels: dict[str, str]
    annotations: dict[str, str]
    owner_uids: tuple[str, ...]


@dataclass
class KubeSecrets:
    """Writes the Secrets qco owns."""

    api_client: k8s.ApiClient

    async def read_meta(self, namespace: str, name: str) -> SecretMeta | None:
        """The Secret's metadata, or None when it does not exist."""
        core = k8s.CoreV1Api(self.api_client)
        try:
            secret = await asyncio.to_thread(core.read_namespaced_secret, name, namespace)
        except ApiException as exc:
            if exc.status == 404:
                return None
            if exc.status == 403:
                raise _forbidden("get", namespace, name) from None
            raise
        meta = secret.metadata or k8s.V1ObjectMeta()
        owners = tuple(ref.uid for ref in (meta.owner_references or []) if ref.uid)
        return SecretMeta(
            name=name,
            resource_version=meta.resource_version,
            labels=dict(meta.labels or {}),
            annotations=dict(meta.annotations or {}),
            owner_uids=owners,
        )

    async def create(self, namespace: str, body: dict[str, Any]) -> None:
        """Create a Secret; SecretWriteRefused (SecretConflict) when the name was taken meanwhile."""
        core = k8s.CoreV1Api(self.api_client)
        name = body["metadata"]["name"]
        try:
            payload: Any = body  # the client serialises plain dicts as they are
            await asyncio.to_thread(core.create_namespaced_secret, namespace, payload)
        except ApiException as exc:
            if exc.status == 409:
                raise SecretWriteRefused(
                    "SecretConflict", f"Secret {namespace}/{name} appeared before qco could create it"
                ) from None
            if exc.status == 403:
                raise _forbidden("create", namespace, name) from None
            raise

    async def replace(self, namespace: str, body: dict[str, Any]) -> None:
        """Replace a Secret qco owns; `metadata.resourceVersion` makes a concurrent change a 409 (retried)."""
        core = k8s.CoreV1Api(self.api_client)
        name = body["metadata"]["name"]
        try:
            payload: Any = body
            await asyncio.to_thread(core.replace_namespaced_secret, name, namespace, payload)
        except ApiException as exc:
            if exc.status == 403:
                raise _forbidden("update", namespace, name) from None
            raise

    async def delete(self, namespace: str, name: str, resource_version: str | None) -> None:
        """Delete a Secret qco owns (gone already is fine); a precondition guards against a swap."""
        core = k8s.CoreV1Api(self.api_client)
        options = k8s.V1DeleteOptions(preconditions=k8s.V1Preconditions(resource_version=resource_version))
        try:
            await asyncio.to_thread(core.delete_namespaced_secret, name, namespace, body=options)
        except ApiException as exc:
            if exc.status == 404:
                return
            if exc.status == 403:
                raise _forbidden("delete", namespace, name) from None
            raise


def _forbidden(verb: str, namespace: str, name: str) -> SecretWriteRefused:
    return SecretWriteRefused(
        "SecretForbidden",
        f"qco may not {verb} Secret {namespace}/{name}: install the chart with accessKeys.enabled=true"
        " (it grants Secret writes) or remove spec.accessKeys",
    )
