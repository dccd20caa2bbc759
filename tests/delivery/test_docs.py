"""The docs are current (generated pages match their sources) and complete (every Stalled
reason, every setting, every chart value); links and GitOps examples point at real things."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from qco.cli import main
from qco.cli.docs import settings_env_names
from tests.delivery.chart import CHART, ROOT

STALLED_REASONS = (
    "ImmutableFieldChanged", "ResourceConflict", "AdoptionRefused", "AliasConflict", "InvalidSpec",
    "NoQdrantConnection", "SecretNotFound", "QdrantUnauthorized", "QdrantRejected", "CollectionRed",
    "VectorRemovalRefused", "SecretNotPermitted", "ConnectionNotAllowed",
    "AccessKeysDisabled", "SecretConflict", "NoSigningKey", "SecretForbidden",
    "QdrantCertificateUntrusted", "CaBundleInvalid", "WindowNamesCollide",
)  # fmt: skip


def test_generated_docs_are_current(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["docs", "--check", "--output-dir", str(ROOT)])
    assert code == 0, capsys.readouterr().err


def test_troubleshooting_covers_every_stalled_reason_and_stuck_finalizers() -> None:
    page = (ROOT / "docs" / "troubleshooting.md").read_text()
    for reason in STALLED_REASONS:
        assert f"### {reason}\n" in page, reason
        section = page.split(f"### {reason}\n", 1)[1].split("\n### ", 1)[0]
        assert "**Fix:**" in section, reason
    assert 'qco.dev/orphan="true"' in page


def test_configuration_lists_every_variable() -> None:
    page = (ROOT / "docs" / "configuration.md").read_text()
    for env in settings_env_names():
        assert f"| `{env}` |" in page


def _leaves(values: Any, path: str = "") -> Iterator[str]:
    if (
        isinstance(values, dict)
        and values
        and path not in {"resources", "podSecurityContext", "securityContext"}
    ):
        for key, value in values.items():
            yield from _leaves(value, f"{path}.{key}" if path else key)
    else:
        yield path


def test_chart_readme_lists_every_value() -> None:
    readme = (CHART / "README.md").read_text()
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    for leaf in _leaves(values):
        assert f"| `{leaf}` |" in readme, leaf


def test_relative_links_resolve() -> None:
    pages = [*sorted((ROOT / "docs").rglob("*.md")), CHART / "README.md"]
    for page in pages:
        text = re.sub(r"`[^`\n]*`", "", page.read_text())  # code spans (e.g. regex patterns) are not links
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
            if "://" in target:
                continue
            assert (page.parent / target).exists(), f"{page.relative_to(ROOT)} links to missing {target}"


def _docs(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def test_gitops_examples_point_at_real_paths_and_collections() -> None:
    collections = {
        (d["metadata"]["namespace"], d["metadata"]["name"])
        for p in sorted((ROOT / "examples" / "collections").glob("*.yaml"))
        for d in _docs(p)
    }
    kustomizations = _docs(ROOT / "examples" / "flux" / "kustomizations.yaml")
    for kustomization in kustomizations:
        assert (ROOT / kustomization["spec"]["path"]).is_dir()
    (collected,) = [k for k in kustomizations if "healthChecks" in k["spec"]]
    checked = {(c["namespace"], c["name"]) for c in collected["spec"]["healthChecks"]}
    assert checked == collections
    (release,) = _docs(ROOT / "examples" / "flux" / "operator" / "helmrelease.yaml")
    assert (ROOT / release["spec"]["chart"]["spec"]["chart"] / "Chart.yaml").exists()
    for path in sorted((ROOT / "examples" / "argocd").glob("*.yaml")):
        for doc in _docs(path):
            if doc["kind"] == "Application":
                assert (ROOT / doc["spec"]["source"]["path"]).is_dir()
