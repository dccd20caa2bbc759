"""The chart lints, renders with defaults and with every feature, and every object it renders is
valid: built-in kinds against Kubernetes' own schemas, qco's kinds against the generated CRDs."""

from __future__ import annotations

import re
from typing import Any

import helm_python as helm
import jsonschema
import kubernetes_validate
import pytest
import yaml
from prometheus_client import generate_latest

from qco.metrics import Metrics
from qco.settings import OperatorSettings
from tests.delivery.chart import ALL_FEATURES, CHART, NAMESPACED, ROOT, Rendered, only, peering_crds, render

#: Oldest and newest Kubernetes minor the chart is checked against.
KUBE_VERSIONS = ("1.29.0", kubernetes_validate.utils.latest_version())

VARIANTS = {"defaults": {}, "all-features": ALL_FEATURES, "namespaced": NAMESPACED}


@pytest.fixture(scope="module", params=list(VARIANTS))
def rendered(request: pytest.FixtureRequest) -> list[Rendered]:
    return render(VARIANTS[request.param])


def _crd_schemas() -> dict[tuple[str, str], dict[str, Any]]:
    """(apiVersion, kind) -> openAPIV3Schema of qco's generated CRDs and kopf's peering CRDs."""
    crds = [yaml.safe_load(p.read_text()) for p in sorted((ROOT / "crds").glob("*.yaml"))] + peering_crds()
    schemas = {}
    for crd in crds:
        for version in crd["spec"]["versions"]:
            key = (f"{crd['spec']['group']}/{version['name']}", crd["spec"]["names"]["kind"])
            schemas[key] = version["schema"]["openAPIV3Schema"]
    return schemas


@pytest.mark.parametrize("values", [{}, ALL_FEATURES, NAMESPACED], ids=list(VARIANTS))
def test_lint_passes(values: dict[str, Any]) -> None:
    report = helm.lint(CHART, values, strict=True)
    problems = [m for m in report["messages"] if m["severity"] >= 2]
    assert report["errors"] == [] and problems == [], report


def test_every_object_is_valid(rendered: list[Rendered]) -> None:
    crd_schemas = _crd_schemas()
    for obj in rendered:
        key = (obj.body["apiVersion"], obj.kind)
        if key in crd_schemas:
            jsonschema.Draft7Validator(crd_schemas[key]).validate(obj.body)
            continue
        if obj.body["apiVersion"].startswith("monitoring.coreos.com/"):
            continue  # prometheus-operator kinds: checked field by field below
        for version in KUBE_VERSIONS:
            kubernetes_validate.validate(obj.body, version, strict=True)
    assert {o.kind for o in rendered} >= {
        "Deployment",
        "ServiceAccount",
        "ClusterRole",
        "CustomResourceDefinition",
    }


def test_every_optional_feature_renders() -> None:
    kinds = {o.kind for o in render(ALL_FEATURES)}
    optional = {"ServiceMonitor", "PrometheusRule", "NetworkPolicy", "ClusterKopfPeering", "QdrantCollection"}
    assert kinds >= optional | {"Service"}
    namespaced = render(NAMESPACED)
    assert {b["metadata"]["namespace"] for b in only(namespaced, "KopfPeering")} == {"search", "media"}
    assert only(namespaced, "ClusterKopfPeering") == []
    defaults = {o.kind for o in render({})}
    assert defaults.isdisjoint({"ServiceMonitor", "PrometheusRule", "NetworkPolicy", "QdrantCollection"})
    assert defaults.isdisjoint({"ClusterKopfPeering", "KopfPeering"})  # one replica: standalone


def test_rendered_crds_equal_the_generated_ones() -> None:
    rendered = {b["metadata"]["name"]: b for b in only(render({}), "CustomResourceDefinition")}
    generated = {p.stem: yaml.safe_load(p.read_text()) for p in sorted((ROOT / "crds").glob("*.yaml"))}
    assert set(rendered) == set(generated)
    for name, crd in rendered.items():
        annotations = crd["metadata"].pop("annotations")
        assert annotations == {"helm.sh/resource-policy": "keep"}  # kept on `helm uninstall`
        assert crd == generated[name]
    assert only(render({"crds": {"create": False}}), "CustomResourceDefinition") == []


def test_collections_from_values_are_qdrant_collections() -> None:
    collections = only(render(ALL_FEATURES), "QdrantCollection")
    assert [(c["metadata"]["namespace"], c["metadata"]["name"]) for c in collections] == [
        ("qco-system", "docs"),
        ("media", "images"),
    ]
    assert collections[0]["spec"] == ALL_FEATURES["collections"][0]["spec"]
    assert collections[0]["metadata"]["labels"]["team"] == "search"


def test_deployment_is_hardened_and_probed() -> None:
    (deployment,) = only(render(ALL_FEATURES), "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert security["runAsUser"] > 0
    assert {"cpu", "memory"} <= set(container["resources"]["requests"])
    assert "memory" in container["resources"]["limits"]
    assert {p["name"]: p["containerPort"] for p in container["ports"]} == {"metrics": 8080, "health": 8081}
    for probe in ("livenessProbe", "readinessProbe"):
        assert container[probe]["httpGet"] == {"path": "/healthz", "port": "health"}
    assert container["image"] == "qdrant-collection-operator@sha256:" + "a" * 64
    assert "args" not in container and "command" not in container  # the image's entrypoint: qco run


def test_deployment_sets_only_known_settings_and_mounts_the_api_key() -> None:
    (deployment,) = only(render(ALL_FEATURES), "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    env = {e["name"]: e for e in container["env"]}
    known = {f"QCO_{name.upper()}" for name in OperatorSettings.model_fields}
    assert {n for n in env if n.startswith("QCO_")} <= known
    assert env["QCO_QDRANT_URL"]["value"] == "http://qdrant.qdrant:6333"
    assert env["QCO_PEERING_NAME"]["value"] == "qco"  # two replicas: peering
    assert env["POD_ID"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    key_file = env["QCO_QDRANT_API_KEY_FILE"]["value"]
    mount = next(m for m in container["volumeMounts"] if key_file.startswith(m["mountPath"] + "/"))
    volume = next(v for v in pod["volumes"] if v["name"] == mount["name"])
    assert volume["secret"]["secretName"] == "qdrant-apikey"
    assert volume["secret"]["items"] == [{"key": "api-key", "path": key_file.rsplit("/", 1)[1]}]
    # The settings model accepts what the chart gives it (the file is read lazily).
    values = {n: e["value"] for n, e in env.items() if n.startswith("QCO_")}
    with pytest.MonkeyPatch.context() as patch:
        for name, value in values.items():
            patch.setenv(name, value)
        settings = OperatorSettings()
    assert settings.peering_name == "qco" and settings.metrics_port == 8080
    assert (settings.health_port, settings.liveness_grace_seconds) == (8081, 120.0)
    assert settings.allowed_qdrant_urls == ["http://qdrant.qdrant:6333", "https://*.qdrant.example.com:6333"]
    assert settings.allowed_embeddings_urls == ["http://tei.ml:8080/v1", "https://*.openai.example.com/v1"]
    (single,) = only(render({}), "Deployment")
    (default_env,) = single["spec"]["template"]["spec"]["containers"]
    assert "QCO_ALLOWED_EMBEDDINGS_URLS" not in {e["name"] for e in default_env["env"]}
    assert single["spec"]["strategy"] == {"type": "Recreate"}  # standalone: never two at once


def test_monitoring_objects_reference_real_metrics_and_service() -> None:
    objects = render(ALL_FEATURES)
    (monitor,) = only(objects, "ServiceMonitor")
    (service,) = only(objects, "Service")
    labels = service["metadata"]["labels"]
    assert monitor["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert [e["port"] for e in monitor["spec"]["endpoints"]] == [service["spec"]["ports"][0]["name"]]
    (rule,) = only(objects, "PrometheusRule")
    alerts = {r["alert"]: r for group in rule["spec"]["groups"] for r in group["rules"]}
    assert set(alerts) == {
        "QcoObjectNotReady", "QcoOperatorDown", "QcoCollectionRed", "QcoDriftCorrectedRepeatedly",
        "QcoReconcileErrorsRising", "QcoBackupLate", "QcoBackupFailed", "QcoBackupSuspended",
        "QcoCollectionUnhealthy", "QcoCollectionProbeFailing",
    }  # fmt: skip
    assert alerts["QcoObjectNotReady"]["for"] == "15m"
    metrics = Metrics()
    metrics.reconciles.labels("QdrantCollection", "ok").inc()
    metrics.drift_corrections.labels("QdrantCollection").inc()
    metrics.states.set(
        "QdrantCollection", "uid-1", "Ready", "green", namespace="a", name="b", reason="Synced"
    )
    metrics.backups.set_last_success("search", "nightly", {"docs": 1.0})
    metrics.backups.expected_interval.labels("search", "nightly").set(86400)
    metrics.backups.suspended.labels("search", "nightly").set(0)
    metrics.backups.runs.labels("search", "nightly", "Failed").inc()
    metrics.collections.breach.labels("search", "docs", "TooFewPoints").set(0)
    exposed = generate_latest(metrics.registry).decode()
    for alert in alerts.values():
        assert alert["labels"]["team"] == "search"
        for name in re.findall(r"\bqco_[a-z_]+", alert["expr"]):
            assert re.search(rf"^{name}[{{ ]", exposed, re.MULTILINE), f"{alert['alert']}: no metric {name}"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"replicaCount": "two"}, "/replicaCount"),
        ({"config": {"logFormat": "xml"}}, "/config/logFormat"),
        ({"qdrant": {"url": "qdrant:6333"}}, "/qdrant/url"),
        ({"metrics": {"port": 70000}}, "/metrics/port"),
        ({"watchNamespaces": ["Not_A_Namespace"]}, "/watchNamespaces/0"),
        ({"config": {"allowedEmbeddingsUrls": ["http://a:1,http://b:2"]}}, "/config/allowedEmbeddingsUrls/0"),
        ({"securityContext": {"runAsNonRoot": False}}, "/securityContext/runAsNonRoot"),
        ({"collections": [{"name": "docs"}]}, "/collections/0"),
        ({"typoKey": True}, "typoKey"),
    ],
)
def test_bad_values_are_refused_with_a_clear_message(values: dict[str, Any], message: str) -> None:
    with pytest.raises(helm.HelmValuesError) as refused:
        render(values)
    assert message in str(refused.value)


def test_service_monitor_without_service_is_refused() -> None:
    values = {"metrics": {"service": {"enabled": False}, "serviceMonitor": {"enabled": True}}}
    with pytest.raises(helm.HelmRenderError, match=r"needs metrics\.service\.enabled"):
        render(values)
