"""accessKeys.enabled: the only way the chart grants qco Secret writes, and the setting behind it."""

from __future__ import annotations

from typing import Any

import pytest

from tests.delivery.chart import ALL_FEATURES, NAMESPACED, only, render

WRITES = {"create", "update", "patch", "delete", "deletecollection", "*"}


def secret_verbs(values: dict[str, Any]) -> dict[str, set[str]]:
    """Secret verbs per (Cluster)Role name."""
    objects = render(values)
    verbs: dict[str, set[str]] = {}
    for role in only(objects, "ClusterRole") + only(objects, "Role"):
        key = f"{role['kind']}/{role['metadata'].get('namespace', '')}/{role['metadata']['name']}"
        for rule in role["rules"]:
            if "" in rule["apiGroups"] and {"secrets", "*"} & set(rule["resources"]):
                verbs.setdefault(key, set()).update(rule["verbs"])
    return verbs


def operator_env(values: dict[str, Any]) -> dict[str, Any]:
    (deployment,) = only(render(values), "Deployment")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return {e["name"]: e.get("value") for e in container["env"]}


@pytest.mark.parametrize(
    "values",
    [{}, ALL_FEATURES, NAMESPACED, {"accessKeys": {"enabled": False}}],
    ids=["defaults", "all-features", "namespaced", "explicitly-off"],
)
def test_no_secret_writes_unless_enabled(values: dict[str, Any]) -> None:
    verbs = secret_verbs(values)
    assert verbs  # get is always there (API keys)
    assert all(not (v & WRITES) for v in verbs.values()), verbs
    assert "QCO_ACCESS_KEYS_ENABLED" not in operator_env(values)


def test_enabled_grants_exactly_what_access_keys_need_cluster_wide() -> None:
    values = {"accessKeys": {"enabled": True}}
    verbs = secret_verbs(values)
    assert list(verbs.values()) == [{"get", "create", "update", "delete"}]  # never list or watch
    assert operator_env(values)["QCO_ACCESS_KEYS_ENABLED"] == "true"


def test_enabled_in_namespaced_mode_grants_writes_only_in_watched_namespaces() -> None:
    verbs = secret_verbs({**NAMESPACED, "accessKeys": {"enabled": True}})
    writers = {role for role, v in verbs.items() if v & WRITES}
    assert sorted(r.split("/")[1] for r in writers) == ["media", "search"]
    assert all(role.startswith("Role/") for role in writers)


def test_values_schema_refuses_unknown_access_keys_values() -> None:
    with pytest.raises(Exception, match=r"(?i)schema|additional"):
        render({"accessKeys": {"enabled": True, "secretWrites": "all"}})
