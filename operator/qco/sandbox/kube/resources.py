"""Resource types the emulator serves: the built-in kinds and those registered by CRDs."""

from __future__ import annotations

import dataclasses
from typing import Any

VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]


@dataclasses.dataclass(frozen=True)
class ResourceType:
    """One served resource (group/version/plural) and what the API server knows about it."""

    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool
    singular: str = ""
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    status_subresource: bool = False
    #: Whether `metadata.generation` is maintained (CRs and built-ins with a spec).
    has_generation: bool = False
    #: The CRD's `openAPIV3Schema` (None for built-ins: they are stored as sent).
    schema: dict[str, Any] | None = dataclasses.field(default=None, compare=False, hash=False)
    printer_columns: tuple[dict[str, Any], ...] = dataclasses.field(default=(), compare=False, hash=False)
    #: The CRD that registered this resource, if any.
    crd_name: str | None = None

    @property
    def key(self) -> tuple[str, str, str]:
        """The storage key: (group, version, plural)."""
        return (self.group, self.version, self.plural)

    @property
    def storage_key(self) -> tuple[str, str]:
        """Where objects live: (group, plural), shared by all served versions as in etcd."""
        return (self.group, self.plural)

    @property
    def api_version(self) -> str:
        """`apiVersion` of the objects: `v1` for the core group, `group/version` otherwise."""
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def qualified_plural(self) -> str:
        """`plural.group` as the API server names a resource in error messages."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def qualified_kind(self) -> str:
        """`Kind.group` as the API server names a kind in validation messages."""
        return f"{self.kind}.{self.group}" if self.group else self.kind

    @property
    def subresources(self) -> list[str]:
        """The subresources served for this resource."""
        return ["status"] if self.status_subresource else []

    def discovery_entries(self) -> list[dict[str, Any]]:
        """Entries of an APIResourceList (`kubectl api-resources`, kopf's scanning)."""
        main: dict[str, Any] = {
            "name": self.plural,
            "singularName": self.singular or self.kind.lower(),
            "namespaced": self.namespaced,
            "kind": self.kind,
            "verbs": list(VERBS),
        }
        if self.short_names:
            main["shortNames"] = list(self.short_names)
        if self.categories:
            main["categories"] = list(self.categories)
        entries = [main]
        for sub in self.subresources:
            entries.append(
                {
                    "name": f"{self.plural}/{sub}",
                    "singularName": "",
                    "namespaced": self.namespaced,
                    "kind": self.kind,
                    "verbs": ["get", "patch", "update"],
                }
            )
        return entries


def _builtin(
    group: str,
    version: str,
    plural: str,
    kind: str,
    namespaced: bool,
    *,
    short: tuple[str, ...] = (),
    categories: tuple[str, ...] = (),
    status: bool = False,
    generation: bool = False,
) -> ResourceType:
    return ResourceType(
        group=group,
        version=version,
        plural=plural,
        kind=kind,
        namespaced=namespaced,
        singular=kind.lower(),
        short_names=short,
        categories=categories,
        status_subresource=status,
        has_generation=generation,
    )


BUILTINS: tuple[ResourceType, ...] = (
    _builtin("", "v1", "namespaces", "Namespace", False, short=("ns",), status=True),
    _builtin("", "v1", "configmaps", "ConfigMap", True, short=("cm",)),
    _builtin("", "v1", "secrets", "Secret", True),
    _builtin("", "v1", "events", "Event", True, short=("ev",)),
    _builtin("", "v1", "serviceaccounts", "ServiceAccount", True, short=("sa",)),
    _builtin("", "v1", "services", "Service", True, short=("svc",), categories=("all",), status=True),
    _builtin("", "v1", "pods", "Pod", True, short=("po",), categories=("all",), status=True),
    _builtin("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", True, short=("pvc",), status=True),
    _builtin(
        "apps",
        "v1",
        "deployments",
        "Deployment",
        True,
        short=("deploy",),
        categories=("all",),
        status=True,
        generation=True,
    ),
    _builtin(
        "apps",
        "v1",
        "statefulsets",
        "StatefulSet",
        True,
        short=("sts",),
        categories=("all",),
        status=True,
        generation=True,
    ),
    _builtin("batch", "v1", "jobs", "Job", True, categories=("all",), status=True, generation=True),
    _builtin("events.k8s.io", "v1", "events", "Event", True, short=("ev",)),
    _builtin("coordination.k8s.io", "v1", "leases", "Lease", True),
    _builtin(
        "apiextensions.k8s.io",
        "v1",
        "customresourcedefinitions",
        "CustomResourceDefinition",
        False,
        short=("crd", "crds"),
        status=True,
        generation=True,
    ),
    _builtin("rbac.authorization.k8s.io", "v1", "roles", "Role", True),
    _builtin("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", True),
    _builtin("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", False),
    _builtin("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", False),
)

NAMESPACES = BUILTINS[0]
CRDS = next(rt for rt in BUILTINS if rt.plural == "customresourcedefinitions")


class ResourceRegistry:
    """All served resources, indexed for O(1) request routing."""

    def __init__(self) -> None:
        self._by_key: dict[tuple[str, str, str], ResourceType] = {}
        for rt in BUILTINS:
            self.add(rt)

    def add(self, rt: ResourceType) -> None:
        """Serve a resource (replacing an earlier registration of the same group/version/plural)."""
        self._by_key[rt.key] = rt

    def remove(self, key: tuple[str, str, str]) -> None:
        """Stop serving a resource."""
        self._by_key.pop(key, None)

    def get(self, group: str, version: str, plural: str) -> ResourceType | None:
        """The resource served at this group/version/plural, if any."""
        return self._by_key.get((group, version, plural))

    def all(self) -> list[ResourceType]:
        """Every served resource."""
        return list(self._by_key.values())

    def by_crd(self, crd_name: str) -> list[ResourceType]:
        """The resources a given CRD registered."""
        return [rt for rt in self._by_key.values() if rt.crd_name == crd_name]

    def group_versions(self) -> dict[str, list[str]]:
        """Served versions per group (the core group is `""`), in registration order."""
        result: dict[str, list[str]] = {}
        for rt in self._by_key.values():
            versions = result.setdefault(rt.group, [])
            if rt.version not in versions:
                versions.append(rt.version)
        return result


def resource_types_from_crd(crd: dict[str, Any]) -> list[ResourceType]:
    """The resources one CustomResourceDefinition serves (one per served version)."""
    spec = crd.get("spec", {})
    names = spec.get("names", {})
    result = []
    for version in spec.get("versions", []):
        if not version.get("served", True):
            continue
        schema = (version.get("schema") or {}).get("openAPIV3Schema")
        result.append(
            ResourceType(
                group=spec.get("group", ""),
                version=version["name"],
                plural=names.get("plural", ""),
                kind=names.get("kind", ""),
                namespaced=spec.get("scope", "Namespaced") == "Namespaced",
                singular=names.get("singular") or names.get("kind", "").lower(),
                short_names=tuple(names.get("shortNames") or ()),
                categories=tuple(names.get("categories") or ()),
                status_subresource="status" in (version.get("subresources") or {}),
                has_generation=True,
                schema=schema,
                printer_columns=tuple(version.get("additionalPrinterColumns") or ()),
                crd_name=crd.get("metadata", {}).get("name"),
            )
        )
    return result
