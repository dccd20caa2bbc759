"""Kubernetes objects kopf does not hand to handlers (Secrets with API keys, owner lookups) and
status writes from long-running loops, through the official client, off the event loop."""

from __future__ import annotations

import asyncio
import base64
import binascii
import functools
from dataclasses import dataclass
from typing import Any

from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.client.exceptions import ApiException


class SecretError(Exception):
    """A referenced Secret or key cannot be read; the message names it and the fix (never the value)."""


def load_api_client(kubeconfig: str | None = None) -> k8s.ApiClient:
    """An API client from the in-cluster service account, else from a kubeconfig file."""
    if kubeconfig is None:
        try:
            k8s_config.load_incluster_config()  # type: ignore[no-untyped-call]
            return k8s.ApiClient()
        except k8s_config.ConfigException:
            pass
    configuration = k8s.Configuration()
    k8s_config.load_kube_config(config_file=kubeconfig, client_configuration=configuration)  # type: ignore[no-untyped-call]
    return k8s.ApiClient(configuration)


@dataclass
class KubeClient:
    """Reads Secrets and custom objects, writes our objects' status, without blocking the event loop."""

    api_client: k8s.ApiClient

    async def secret_value(self, namespace: str, name: str, key: str) -> str:
        """The decoded value of one key of a Secret."""
        core = k8s.CoreV1Api(self.api_client)
        try:
            secret = await asyncio.to_thread(core.read_namespaced_secret, name, namespace)
        except ApiException as exc:
            if exc.status == 404:
                raise SecretError(
                    f"Secret {namespace}/{name} not found: create it or fix apiKeySecretRef.name"
                ) from None
            if exc.status == 403:
                raise SecretError(f"qco may not read Secret {namespace}/{name}: grant get on it") from None
            raise
        data = secret.data or {}
        if key not in data:
            raise SecretError(f"Secret {namespace}/{name} has no key {key!r}: fix apiKeySecretRef.key")
        try:
            raw = data[key]
            return base64.b64decode(raw).decode().strip()
        except (binascii.Error, UnicodeDecodeError):
            raise SecretError(f"Secret {namespace}/{name} key {key!r} is not valid UTF-8 text") from None

    async def custom_object_uid(
        self, group: str, version: str, plural: str, namespace: str, name: str
    ) -> str | None:
        """The uid of a namespaced custom object, or None when it does not exist."""
        api = k8s.CustomObjectsApi(self.api_client)
        try:
            body: Any = await asyncio.to_thread(
                api.get_namespaced_custom_object, group, version, namespace, plural, name
            )
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise
        uid = body.get("metadata", {}).get("uid")
        return uid if isinstance(uid, str) else None

    async def patch_status(
        self, group: str, version: str, plural: str, namespace: str, name: str, status: dict[str, Any]
    ) -> None:
        """Merge `status` into the object's status (a None value removes a key)."""
        api = k8s.CustomObjectsApi(self.api_client)
        patch = functools.partial(
            api.patch_namespaced_custom_object_status, _content_type="application/merge-patch+json"
        )
        await asyncio.to_thread(patch, group, version, namespace, plural, name, {"status": status})

    async def namespace_terminating(self, namespace: str) -> bool:
        """True when the namespace is being deleted (or is already gone)."""
        core = k8s.CoreV1Api(self.api_client)
        try:
            ns = await asyncio.to_thread(core.read_namespace, namespace)
        except ApiException as exc:
            if exc.status == 404:
                return True
            raise
        return ns.metadata is not None and ns.metadata.deletion_timestamp is not None

    def close(self) -> None:
        """Release the client's connection pool."""
        self.api_client.close()  # type: ignore[no-untyped-call]
