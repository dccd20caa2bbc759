"""Kubernetes objects kopf does not hand to handlers (Secrets with API keys, owner lookups) and
status writes from long-running loops, through the official client, off the event loop."""

from __future__ import annotations

import asyncio
import base64
import binascii
import functools
import json
from dataclasses import dataclass
from typing import Any

from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.client.exceptions import ApiException

#: The label a Secret must carry before any qco resource may use it (opt-in, against a confused deputy).
CREDENTIALS_LABEL = "qco.dev/credentials"


class SecretError(Exception):
    """A referenced Secret or key cannot be used; the message names it and the fix (never the value)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class LookupRefused(Exception):
    """Kubernetes would not say whether an object exists (forbidden, or its kind is not served)."""


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
        """The decoded value of one key of a Secret labelled `qco.dev/credentials: "true"`."""
        core = k8s.CoreV1Api(self.api_client)
        try:
            secret = await asyncio.to_thread(core.read_namespaced_secret, name, namespace)
        except ApiException as exc:
            if exc.status == 404:
                raise SecretError(
                    "SecretNotFound",
                    f"Secret {namespace}/{name} not found: create it or fix apiKeySecretRef.name",
                ) from None
            if exc.status == 403:
                raise SecretError(
                    "SecretNotFound", f"qco may not read Secret {namespace}/{name}: grant get on it"
                ) from None
            raise
        labels = (secret.metadata.labels if secret.metadata else None) or {}
        if labels.get(CREDENTIALS_LABEL) != "true":
            raise SecretError(
                "SecretNotPermitted",
                f'Secret {namespace}/{name} is not labelled {CREDENTIALS_LABEL}: "true"; qco uses only'
                f" Secrets that opt in: kubectl label secret -n {namespace} {name} {CREDENTIALS_LABEL}=true",
            )
        data = secret.data or {}
        if key not in data:
            raise SecretError(
                "SecretNotFound", f"Secret {namespace}/{name} has no key {key!r}: fix apiKeySecretRef.key"
            )
        try:
            raw = data[key]
            return base64.b64decode(raw).decode().strip()
        except (binascii.Error, UnicodeDecodeError):
            raise SecretError(
                "SecretNotFound", f"Secret {namespace}/{name} key {key!r} is not valid UTF-8 text"
            ) from None

    async def custom_object_uid(
        self, group: str, version: str, plural: str, namespace: str, name: str
    ) -> str | None:
        """The uid of a namespaced custom object, or None when it does not exist.

        Raises LookupRefused when Kubernetes will not tell (403, or a 404 for the kind itself
        because its CRD is not installed): the caller must then assume the object exists.
        """
        api = k8s.CustomObjectsApi(self.api_client)
        try:
            body: Any = await asyncio.to_thread(
                api.get_namespaced_custom_object, group, version, namespace, plural, name
            )
        except ApiException as exc:
            if exc.status == 404 and _not_found_name(exc) == name:
                return None
            if exc.status in (403, 404):
                raise LookupRefused(
                    f"cannot look up {plural}.{group} {namespace}/{name}: {exc.status} {exc.reason}"
                ) from None
            raise
        uid = body.get("metadata", {}).get("uid")
        return uid if isinstance(uid, str) else None

    async def list_custom_objects(
        self, group: str, version: str, plural: str, namespaces: list[str]
    ) -> list[dict[str, Any]]:
        """Every object of a kind in `namespaces` (all namespaces when empty)."""
        api = k8s.CustomObjectsApi(self.api_client)
        if not namespaces:
            body: Any = await asyncio.to_thread(api.list_cluster_custom_object, group, version, plural)
            return list(body.get("items") or [])
        items: list[dict[str, Any]] = []
        for namespace in namespaces:
            body = await asyncio.to_thread(
                api.list_namespaced_custom_object, group, version, namespace, plural
            )
            items += body.get("items") or []
        return items

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


def _not_found_name(exc: ApiException) -> str | None:
    # A missing object's 404 names it in `details.name`; a kind the server does not serve does not.
    try:
        body = json.loads(exc.body or "{}")
    except ValueError:
        return None
    details = body.get("details") if isinstance(body, dict) else None
    name = details.get("name") if isinstance(details, dict) else None
    return name if isinstance(name, str) else None
