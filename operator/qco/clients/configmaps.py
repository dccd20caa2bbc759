"""The routing ConfigMap a CanaryRollout publishes (created and owned by qco through an
ownerReference), and fresh reads of qco's own objects, through the official client off the loop."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException


@dataclass(frozen=True)
class ConfigMapView:
    """What a pass needs of a ConfigMap."""

    data: Mapping[str, str]
    annotations: Mapping[str, str]
    owner_uids: tuple[str, ...]


class ConfigMapConflict(Exception):
    """The ConfigMap exists and is not owned by this object: qco will not overwrite it."""


@dataclass
class ConfigMaps:
    """ConfigMaps in one API client."""

    api_client: k8s.ApiClient

    async def read(self, namespace: str, name: str) -> ConfigMapView | None:
        """The ConfigMap, or None when it does not exist."""
        core = k8s.CoreV1Api(self.api_client)
        try:
            cm: Any = await asyncio.to_thread(core.read_namespaced_config_map, name, namespace)
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise
        meta = cm.metadata
        return ConfigMapView(
            dict(cm.data or {}),
            dict(meta.annotations or {}),
            tuple(ref.uid for ref in meta.owner_references or ()),
        )

    async def publish(
        self, namespace: str, name: str, key: str, value: str, owner: Mapping[str, Any], exists: bool
    ) -> None:
        """Create the ConfigMap owned by `owner` (apiVersion, kind, name, uid), or set one key of it."""
        core = k8s.CoreV1Api(self.api_client)
        if exists:
            body: dict[str, Any] = {"data": {key: value}}
            await asyncio.to_thread(core.patch_namespaced_config_map, name, namespace, body)
            return
        reference = {**owner, "controller": True, "blockOwnerDeletion": True}
        body = {"metadata": {"name": name, "ownerReferences": [reference]}, "data": {key: value}}
        create: Any = core.create_namespaced_config_map  # accepts a plain dict body
        await asyncio.to_thread(create, namespace, body)

    async def read_custom_object(
        self, group: str, version: str, plural: str, namespace: str, name: str
    ) -> dict[str, Any] | None:
        """One namespaced custom object as it is now (None when gone)."""
        api = k8s.CustomObjectsApi(self.api_client)
        try:
            body: Any = await asyncio.to_thread(
                api.get_namespaced_custom_object, group, version, namespace, plural, name
            )
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise
        return dict(body)

    async def annotate(
        self, group: str, version: str, plural: str, namespace: str, name: str, annotations: Mapping[str, str]
    ) -> None:
        """Merge annotations into a custom object (the `qco rollout` commands)."""
        api = k8s.CustomObjectsApi(self.api_client)
        body = {"metadata": {"annotations": dict(annotations)}}
        await asyncio.to_thread(
            api.patch_namespaced_custom_object, group, version, namespace, plural, name, body
        )
