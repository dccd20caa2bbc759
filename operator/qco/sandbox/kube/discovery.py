"""Discovery (/api, /apis, group and version resource lists), /version and OpenAPI documents.

The OpenAPI v3 documents declare the `fieldValidation` query parameter on PATCH, which is how
kubectl decides that the server validates fields itself: a plain `kubectl apply -f` then needs
no `--validate=false`, and unknown fields come back as the API server's strict-decoding errors.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from qco.sandbox.kube.resources import ResourceRegistry, ResourceType

SERVER_VERSION = {
    "major": "1",
    "minor": "32",
    "gitVersion": "v1.32.0-qco-sandbox",
    "gitCommit": "",
    "gitTreeState": "clean",
    "buildDate": "2025-01-01T00:00:00Z",
    "goVersion": "go1.23",
    "compiler": "gc",
    "platform": "linux/amd64",
}


def api_versions() -> dict[str, Any]:
    """`/api`: the core group's versions."""
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": ""}],
    }


def _group(name: str, versions: list[str]) -> dict[str, Any]:
    entries = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
    return {"name": name, "versions": entries, "preferredVersion": entries[0]}


def api_group_list(registry: ResourceRegistry) -> dict[str, Any]:
    """`/apis`: every named group and its versions."""
    groups = [_group(name, versions) for name, versions in registry.group_versions().items() if name]
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def api_group(registry: ResourceRegistry, group: str) -> dict[str, Any] | None:
    """`/apis/{group}`, or None when no resource is served in that group."""
    versions = registry.group_versions().get(group)
    if not versions:
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_group(group, versions)}


def resource_list(registry: ResourceRegistry, group: str, version: str) -> dict[str, Any] | None:
    """`/api/v1` or `/apis/{group}/{version}`: resources with verbs, short names and categories."""
    served = [rt for rt in registry.all() if rt.group == group and rt.version == version]
    if not served:
        return None
    group_version = f"{group}/{version}" if group else version
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version,
        "resources": [entry for rt in served for entry in rt.discovery_entries()],
    }


def root_paths(registry: ResourceRegistry) -> dict[str, Any]:
    """`/`: the served paths."""
    paths = {"/api", "/api/v1", "/apis", "/version", "/openapi/v2", "/openapi/v3", "/healthz", "/readyz"}
    for group, versions in registry.group_versions().items():
        if group:
            paths.add(f"/apis/{group}")
            paths.update(f"/apis/{group}/{v}" for v in versions)
    return {"paths": sorted(paths)}


def _schema_name(rt: ResourceType) -> str:
    reversed_group = ".".join(reversed(rt.group.split("."))) if rt.group else "io.k8s.api.core"
    return f"{reversed_group}.{rt.version}.{rt.kind}"


def _component(rt: ResourceType) -> dict[str, Any]:
    schema: dict[str, Any] = (
        dict(rt.schema) if rt.schema else {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    )
    schema["x-kubernetes-group-version-kind"] = [{"group": rt.group, "version": rt.version, "kind": rt.kind}]
    return schema


def _paths(rt: ResourceType) -> dict[str, Any]:
    prefix = f"/apis/{rt.group}/{rt.version}" if rt.group else f"/api/{rt.version}"
    scope = "/namespaces/{namespace}" if rt.namespaced else ""
    gvk = {"group": rt.group, "version": rt.version, "kind": rt.kind}
    params = [
        {"name": name, "in": "query", "schema": {"type": "string", "uniqueItems": True}}
        for name in ("dryRun", "fieldManager", "fieldValidation")
    ]
    ref = {"$ref": f"#/components/schemas/{_schema_name(rt)}"}
    body = {"content": {"application/json": {"schema": ref}}}
    operation = {
        "parameters": params,
        "requestBody": body,
        "x-kubernetes-group-version-kind": gvk,
        "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": ref}}}},
    }
    return {
        f"{prefix}{scope}/{rt.plural}": {"post": {**operation, "x-kubernetes-action": "post"}},
        f"{prefix}{scope}/{rt.plural}/{{name}}": {
            "put": {**operation, "x-kubernetes-action": "put"},
            "patch": {**operation, "x-kubernetes-action": "patch"},
        },
    }


def openapi_v3_document(registry: ResourceRegistry, group: str, version: str) -> dict[str, Any] | None:
    """The OpenAPI v3 document of one group/version (what kubectl reads for validation and explain)."""
    served = [rt for rt in registry.all() if rt.group == group and rt.version == version]
    if not served:
        return None
    paths: dict[str, Any] = {}
    for rt in served:
        paths.update(_paths(rt))
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": SERVER_VERSION["gitVersion"]},
        "paths": paths,
        "components": {"schemas": {_schema_name(rt): _component(rt) for rt in served}},
    }


def openapi_v3_index(registry: ResourceRegistry) -> dict[str, Any]:
    """`/openapi/v3`: one entry per group/version, with a hash that changes with the document."""
    paths = {}
    for group, versions in registry.group_versions().items():
        for version in versions:
            relative = f"apis/{group}/{version}" if group else f"api/{version}"
            document = openapi_v3_document(registry, group, version)
            digest = hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()[:32].upper()
            paths[relative] = {"serverRelativeURL": f"/openapi/v3/{relative}?hash={digest}"}
    return {"paths": paths}


def openapi_v2(registry: ResourceRegistry) -> dict[str, Any]:
    """`/openapi/v2`: definitions with group-version-kind extensions (older clients read this one)."""
    definitions = {_schema_name(rt): _component(rt) for rt in registry.all()}
    return {
        "swagger": "2.0",
        "info": {"title": "Kubernetes", "version": SERVER_VERSION["gitVersion"]},
        "paths": {},
        "definitions": definitions,
    }
