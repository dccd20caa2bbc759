"""Custom objects a qco kind creates and deletes itself (a deployment's child QdrantCollections),
through the official client, off the event loop."""

from __future__ import annotations

import asyncio
import functools
from dataclasses import dataclass
from typing import Any

from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from qco.api.common import GROUP, VERSION


class AlreadyExists(Exception):
    """The object exists already (409 on create)."""


@dataclass
class KubeObjects:
    """Namespaced custom objects of the `qco.dev/v1alpha1` group."""

    api_client: k8s.ApiClient

    def _api(self) -> k8s.CustomObjectsApi:
        return k8s.CustomObjectsApi(self.api_client)

    async def get(self, plural: str, namespace: str, name: str) -> dict[str, Any] | None:
        """The object, or None when it does not exist."""
        try:
            body: Any = await asyncio.to_thread(
                self._api().get_namespaced_custom_object, GROUP, VERSION, namespace, plural, name
            )
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise
        return dict(body)

    async def list(self, plural: str, namespace: str, selector: str) -> list[dict[str, Any]]:
        """Objects in `namespace` matching the label selector."""
        call = functools.partial(self._api().list_namespaced_custom_object, label_selector=selector)
        body: Any = await asyncio.to_thread(call, GROUP, VERSION, namespace, plural)
        return list(body.get("items") or [])

    async def create(self, plural: str, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
        """Create the object; AlreadyExists when its name is taken."""
        try:
            created: Any = await asyncio.to_thread(
                self._api().create_namespaced_custom_object, GROUP, VERSION, namespace, plural, body
            )
        except ApiException as exc:
            if exc.status == 409:
                raise AlreadyExists(f"{plural} {namespace}/{body['metadata']['name']} exists") from None
            raise
        return dict(created)

    async def patch(self, plural: str, namespace: str, name: str, patch: dict[str, Any]) -> None:
        """A JSON merge patch of the object (spec or metadata)."""
        call = functools.partial(
            self._api().patch_namespaced_custom_object, _content_type="application/merge-patch+json"
        )
        await asyncio.to_thread(call, GROUP, VERSION, namespace, plural, name, patch)

    async def delete(self, plural: str, namespace: str, name: str) -> bool:
        """Delete the object (its finalizers still run); False when it was already gone."""
        try:
            await asyncio.to_thread(
                self._api().delete_namespaced_custom_object, GROUP, VERSION, namespace, plural, name
            )
        except ApiException as exc:
            if exc.status == 404:
                return False
            raise
        return True
