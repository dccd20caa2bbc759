"""The operator-wide CA bundle (qdrant.caBundle): a ConfigMap or Secret key mounted read-only and
named by QCO_QDRANT_CA_FILE; nothing of it by default."""

from __future__ import annotations

from typing import Any

import pytest

from tests.delivery.chart import only, render


def pod(values: dict[str, Any]) -> dict[str, Any]:
    (deployment,) = only(render(values), "Deployment")
    spec: dict[str, Any] = deployment["spec"]["template"]["spec"]
    return spec


@pytest.mark.parametrize(
    ("bundle", "source"),
    [
        ({"configMapName": "trust-bundle"}, {"configMap": {"name": "trust-bundle"}}),
        ({"secretName": "qdrant-ca", "key": "bundle.pem"}, {"secret": {"secretName": "qdrant-ca"}}),
    ],
)
def test_ca_bundle_is_mounted_and_named(bundle: dict[str, str], source: dict[str, Any]) -> None:
    spec = pod({"qdrant": {"caBundle": bundle}})
    key = bundle.get("key", "ca.crt")
    (container,) = spec["containers"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["QCO_QDRANT_CA_FILE"] == f"/etc/qco/qdrant-ca/{key}"
    assert {"name": "qdrant-ca", "mountPath": "/etc/qco/qdrant-ca", "readOnly": True} in container[
        "volumeMounts"
    ]
    (volume,) = [v for v in spec["volumes"] if v["name"] == "qdrant-ca"]
    (kind,) = source
    assert volume[kind] == {**source[kind], "items": [{"key": key, "path": key}]}


def test_no_ca_bundle_by_default() -> None:
    spec = pod({})
    (container,) = spec["containers"]
    assert "QCO_QDRANT_CA_FILE" not in {e["name"] for e in container["env"]}
    assert "qdrant-ca" not in {v["name"] for v in spec["volumes"]}
