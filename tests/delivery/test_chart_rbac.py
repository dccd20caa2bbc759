"""RBAC is least privilege: every rule the chart renders is on an explicit allow-list, Secrets are
only read (one by name, never listed), and in namespaced mode nothing namespaced is cluster-wide."""

from __future__ import annotations

from typing import Any

import pytest

from tests.delivery.chart import ALL_FEATURES, NAMESPACED, Rendered, only, render

_QCO = ("qdrantcollections", "collectiondeployments", "backupschedules", "canaryrollouts")

#: (apiGroup, resource) -> verbs qco may hold, and why.
ALLOWED: dict[tuple[str, str], set[str]] = {
    **{("qco.dev", p): {"get", "list", "watch", "patch", "update"} for p in _QCO},  # kopf watches, patches
    **{("qco.dev", f"{p}/status"): {"get", "patch", "update"} for p in _QCO},  # status writes
    **{("qco.dev", f"{p}/finalizers"): {"update"} for p in _QCO},  # OwnerReferencesPermissionEnforcement
    ("", "events"): {"create", "patch"},  # an Event per change (qco) and kopf's warnings
    ("events.k8s.io", "events"): {"create", "patch"},
    ("", "secrets"): {"get"},  # API keys referenced by spec.connection.apiKeySecretRef
    ("", "configmaps"): {"get", "create", "patch"},  # canary routing: by name, never listed
    ("", "namespaces"): {"get", "list", "watch"},  # deletion checks; kopf's namespace observer
    ("apiextensions.k8s.io", "customresourcedefinitions"): {"get", "list", "watch"},  # kopf discovery
    ("kopf.dev", "clusterkopfpeerings"): {"get", "list", "watch", "patch"},  # peering, cluster-wide
    ("kopf.dev", "kopfpeerings"): {"get", "list", "watch", "patch"},  # peering, namespaced
}

ALLOWED[("qco.dev", "qdrantcollections")] |= {"create", "delete"}  # CollectionDeployment revisions

#: Resources that exist per namespace: cluster-wide grants on them only when watching the cluster.
NAMESPACED_RESOURCES = {r for (_, r) in ALLOWED} - {
    "namespaces",
    "customresourcedefinitions",
    "clusterkopfpeerings",
}


def operator_roles(objects: list[Rendered], kind: str) -> list[dict[str, Any]]:
    """The operator's own (Cluster)Roles: not the ones aggregated into users' view/edit/admin."""
    return [r for r in only(objects, kind) if not _aggregated(r)]


def _aggregated(role: dict[str, Any]) -> bool:
    labels = role["metadata"].get("labels") or {}
    return any(k.startswith("rbac.authorization.k8s.io/aggregate-to-") for k in labels)


def _grants(rules: list[dict[str, Any]]) -> list[tuple[str, str, str, tuple[str, ...]]]:
    grants = []
    for rule in rules:
        assert set(rule) <= {"apiGroups", "resources", "verbs", "resourceNames"}, rule  # no nonResourceURLs
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                for verb in rule["verbs"]:
                    grants.append((group, resource, verb, tuple(rule.get("resourceNames", ()))))
    return grants


@pytest.mark.parametrize(
    "values", [{}, ALL_FEATURES, NAMESPACED], ids=["defaults", "all-features", "namespaced"]
)
def test_rbac_grants_nothing_beyond_the_allow_list(values: dict[str, Any]) -> None:
    objects = render(values)
    roles = operator_roles(objects, "ClusterRole") + operator_roles(objects, "Role")
    assert roles
    for role in roles:
        for group, resource, verb, _ in _grants(role["rules"]):
            assert "*" not in (group, resource, verb), role["metadata"]["name"]
            assert verb in ALLOWED.get((group, resource), set()), (
                f"{role['kind']} grants {verb} {resource}.{group}"
            )


def test_cluster_wide_mode_uses_one_cluster_role() -> None:
    objects = render({})
    assert only(objects, "Role") == [] and only(objects, "RoleBinding") == []
    (role,) = operator_roles(objects, "ClusterRole")
    (binding,) = only(objects, "ClusterRoleBinding")
    assert binding["roleRef"]["name"] == role["metadata"]["name"]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "qco", "namespace": "qco-system"}]
    secrets = [g for g in _grants(role["rules"]) if g[1] == "secrets"]
    assert secrets == [("", "secrets", "get", ())]  # get only: never list or watch Secrets


def test_namespaced_mode_uses_a_role_per_watched_namespace() -> None:
    objects = render(NAMESPACED)
    roles = only(objects, "Role")
    assert sorted(r["metadata"]["namespace"] for r in roles) == ["media", "search"]
    bindings = only(objects, "RoleBinding")
    assert sorted(b["metadata"]["namespace"] for b in bindings) == ["media", "search"]
    (cluster_role,) = operator_roles(objects, "ClusterRole")
    cluster_wide = {g[1] for g in _grants(cluster_role["rules"])}
    assert cluster_wide.isdisjoint(NAMESPACED_RESOURCES), cluster_wide  # Secrets only where watched
    for role in roles:
        secrets = [g for g in _grants(role["rules"]) if g[1] == "secrets"]
        assert secrets == [("", "secrets", "get", ("qdrant-apikey",))]  # rbac.secretNames


def test_no_rbac_when_disabled() -> None:
    objects = render({"rbac": {"create": False}})
    assert not [o for o in objects if o.kind in {"ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"}]


@pytest.mark.parametrize("values", [{}, NAMESPACED], ids=["defaults", "namespaced"])
def test_namespace_users_read_and_edit_qco_kinds_by_default(values: dict[str, Any]) -> None:
    objects = render(values)
    aggregated = {
        label: role["rules"]
        for role in only(objects, "ClusterRole")
        for label, value in (role["metadata"].get("labels") or {}).items()
        if label.startswith("rbac.authorization.k8s.io/aggregate-to-") and value == "true"
    }
    kinds = list(_QCO)
    read = [{"apiGroups": ["qco.dev"], "resources": kinds, "verbs": ["get", "list", "watch"]}]
    write = [
        {
            "apiGroups": ["qco.dev"],
            "resources": kinds,
            "verbs": ["create", "update", "patch", "delete", "deletecollection"],
        }
    ]
    prefix = "rbac.authorization.k8s.io/aggregate-to-"
    assert aggregated == {f"{prefix}view": read, f"{prefix}edit": write, f"{prefix}admin": write}
    off = render({**values, "rbac": {**values.get("rbac", {}), "aggregateToUserRoles": False}})
    assert not [r for r in only(off, "ClusterRole") if _aggregated(r)]
