"""The chart as a dependency of an umbrella chart with `global` values (Helm's Go SDK renders it):
the schema accepts `global`, replicaCount > 1 brings a PodDisruptionBudget, extra volumes reach the
pod, and the aggregated ClusterRoles give namespace users view and edit on qco kinds."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import helm_python as helm
import yaml

from tests.delivery.chart import CHART

CA = {"name": "corp-ca", "configMap": {"name": "corp-ca-bundle"}}
CA_MOUNT = {"name": "corp-ca", "mountPath": "/etc/qco/ca", "readOnly": True}


def umbrella(tmp: Path) -> Path:
    root = tmp / "platform"
    (root / "charts").mkdir(parents=True)
    shutil.copytree(CHART, root / "charts" / "qco")
    chart = {
        "apiVersion": "v2",
        "name": "platform",
        "version": "1.0.0",
        "dependencies": [{"name": "qco", "version": "0.1.0", "repository": "file://charts/qco"}],
    }
    (root / "Chart.yaml").write_text(yaml.safe_dump(chart))
    return root


def render(tmp: Path, values: dict[str, Any]) -> list[dict[str, Any]]:
    with helm.Chart.load(umbrella(tmp)) as chart:
        manifests = chart.render(values, name="platform", namespace="ops")
    texts = [text for template, text in manifests.items() if not template.endswith("NOTES.txt")]
    return [d for text in texts for d in yaml.safe_load_all(text) if isinstance(d, dict)]


def by_kind(objects: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objects if o.get("kind") == kind]


def test_subchart_with_global_values_pdb_and_extra_volumes(tmp_path: Path) -> None:
    values = {
        "global": {"imageRegistry": "registry.example.com", "storageClass": "fast"},
        "qco": {"replicaCount": 2, "extraVolumes": [CA], "extraVolumeMounts": [CA_MOUNT]},
    }
    objects = render(tmp_path, values)
    (deployment,) = by_kind(objects, "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    assert CA in pod["volumes"]
    assert CA_MOUNT in pod["containers"][0]["volumeMounts"]
    (pdb,) = by_kind(objects, "PodDisruptionBudget")
    assert pdb["spec"]["minAvailable"] == 1
    assert (
        pdb["spec"]["selector"]["matchLabels"].items()
        <= deployment["spec"]["template"]["metadata"]["labels"].items()
    )


def test_one_replica_has_no_pdb(tmp_path: Path) -> None:
    assert by_kind(render(tmp_path, {"global": {}, "qco": {"replicaCount": 1}}), "PodDisruptionBudget") == []


def test_aggregate_roles_give_namespace_users_view_and_edit(tmp_path: Path) -> None:
    roles = {
        r["metadata"]["name"]: r
        for r in by_kind(
            render(tmp_path, {"global": {}, "qco": {"rbac": {"aggregateToUserRoles": True}}}), "ClusterRole"
        )
    }
    view, edit = roles["platform-qco-view"], roles["platform-qco-edit"]
    assert view["metadata"]["labels"]["rbac.authorization.k8s.io/aggregate-to-view"] == "true"
    assert edit["metadata"]["labels"]["rbac.authorization.k8s.io/aggregate-to-edit"] == "true"
    kinds = ["qdrantcollections", "collectiondeployments", "backupschedules", "canaryrollouts"]
    assert view["rules"] == [
        {"apiGroups": ["qco.dev"], "resources": kinds, "verbs": ["get", "list", "watch"]}
    ]
    assert edit["rules"][0]["verbs"] == ["create", "update", "patch", "delete", "deletecollection"]
    on = render(tmp_path / "on", {"qco": {}})  # on by default
    assert {r["metadata"]["name"] for r in by_kind(on, "ClusterRole")} >= {
        "platform-qco-view",
        "platform-qco-edit",
    }
