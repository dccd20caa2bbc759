"""Render the qco chart with Helm's own Go SDK (helm-python-sdk) and hand back plain objects."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import helm_python as helm
import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "qco"
RELEASE = "qco"
NAMESPACE = "qco-system"

#: Every optional feature switched on (cluster-wide mode).
ALL_FEATURES: dict[str, Any] = {
    "replicaCount": 2,
    "qdrant": {"url": "http://qdrant.qdrant:6333", "apiKeySecret": {"name": "qdrant-apikey"}},
    "image": {"digest": "sha256:" + "a" * 64},
    "imagePullSecrets": [{"name": "registry"}],
    "extraEnv": [{"name": "HTTPS_PROXY", "value": "http://proxy:3128"}],
    "serviceAccount": {"annotations": {"example.com/role": "qco"}},
    "rbac": {"secretNames": ["qdrant-apikey"]},
    "config": {
        "allowedQdrantUrls": ["http://qdrant.qdrant:6333", "https://*.qdrant.example.com:6333"],
        "allowedEmbeddingsUrls": ["http://tei.ml:8080/v1", "https://*.openai.example.com/v1"],
    },
    "podAnnotations": {"example.com/team": "search"},
    "podLabels": {"team": "search"},
    "priorityClassName": "system-cluster-critical",
    "nodeSelector": {"kubernetes.io/os": "linux"},
    "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "ops", "effect": "NoSchedule"}],
    "topologySpreadConstraints": [
        {
            "maxSkew": 1,
            "topologyKey": "kubernetes.io/hostname",
            "whenUnsatisfiable": "ScheduleAnyway",
            "labelSelector": {"matchLabels": {"app.kubernetes.io/name": "qco"}},
        }
    ],
    "metrics": {
        "service": {"annotations": {"prometheus.io/scrape": "true"}},
        "serviceMonitor": {"enabled": True, "labels": {"release": "prometheus"}},
        "prometheusRule": {
            "enabled": True,
            "additionalAlertLabels": {"team": "search"},
            "runbookBaseUrl": "https://git.example.com/platform/qco/blob/main/docs/runbooks",
        },
    },
    "networkPolicy": {
        "enabled": True,
        "apiServerCidrs": ["10.0.0.1/32"],
        "qdrantPeers": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "qdrant"}}}],
        "metricsFrom": [
            {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}
        ],
    },
    "collections": [
        {
            "name": "docs",
            "labels": {"team": "search"},
            "spec": {
                "collectionName": "docs_v1",
                "vectors": {"": {"size": 384, "distance": "Cosine"}},
                "payloadIndexes": [{"field": "lang", "type": "keyword"}],
                "aliases": ["docs"],
            },
        },
        {
            "name": "images",
            "namespace": "media",
            "spec": {"vectors": {"clip": {"size": 512, "distance": "Dot"}}, "deletionPolicy": "Delete"},
        },
    ],
}

#: The same, watching two namespaces (Roles instead of the namespaced part of the ClusterRole).
NAMESPACED: dict[str, Any] = {**ALL_FEATURES, "watchNamespaces": ["search", "media"]}


@dataclass(frozen=True)
class Rendered:
    """One rendered object and the template it came from."""

    template: str
    body: dict[str, Any]

    @property
    def kind(self) -> str:
        return str(self.body["kind"])

    @property
    def name(self) -> str:
        return str(self.body["metadata"]["name"])


def render(values: dict[str, Any] | None = None, namespace: str = NAMESPACE) -> list[Rendered]:
    """Every object the chart renders for `values` (as `helm template` would, CRD templates included)."""
    with helm.Chart.load(CHART) as chart:
        manifests = chart.render(values or {}, name=RELEASE, namespace=namespace)
    objects: list[Rendered] = []
    for template, text in sorted(manifests.items()):
        if template.endswith("NOTES.txt"):
            continue
        for body in yaml.safe_load_all(text):
            if body:
                objects.append(Rendered(template, body))
    return objects


def only(objects: list[Rendered], kind: str) -> list[dict[str, Any]]:
    """The bodies of one kind."""
    return [o.body for o in objects if o.kind == kind]


def peering_crds() -> list[dict[str, Any]]:
    """kopf's peering CRDs shipped in the chart's crds/ folder."""
    return [d for d in yaml.safe_load_all((CHART / "crds" / "kopf-peering.yaml").read_text()) if d]
