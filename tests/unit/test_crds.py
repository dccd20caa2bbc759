"""The generated CRD: equal to the committed files, structural, and accepting exactly the valid specs."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from hypothesis import HealthCheck, given, settings

from qco.api.collection import QDRANT_COLLECTION, QdrantCollectionSpec
from qco.api.crdgen import build_crd, generated_files, structural_problems
from qco.cli import crds as crds_cli
from qco.sandbox.kube import cel
from tests.unit.strategies import specs

ROOT = Path(__file__).resolve().parents[2]
CRD = build_crd(QDRANT_COLLECTION)
VERSION = CRD["spec"]["versions"][0]
SCHEMA = VERSION["schema"]["openAPIV3Schema"]
SPEC_SCHEMA = SCHEMA["properties"]["spec"]


def _run(root: Path, check: bool) -> int:
    return crds_cli.run(argparse.Namespace(check=check, output_dir=root))


def test_committed_files_match_the_generator() -> None:
    assert _run(ROOT, check=True) == 0


def test_check_fails_and_writes_nothing_when_a_file_differs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(tmp_path, check=True) == 1  # nothing there yet
    assert not (tmp_path / "crds").exists()
    assert _run(tmp_path, check=False) == 0
    assert _run(tmp_path, check=True) == 0
    target = tmp_path / "crds" / "qdrantcollections.qco.dev.yaml"
    target.write_text(target.read_text() + "# hand edit\n")
    capsys.readouterr()
    assert _run(tmp_path, check=True) == 1
    assert "crds/qdrantcollections.qco.dev.yaml" in capsys.readouterr().err
    shutil.rmtree(tmp_path / "crds")


def test_schema_is_structural() -> None:
    assert structural_problems(SCHEMA) == []
    assert "$ref" not in yaml.safe_dump(CRD) and "anyOf" not in yaml.safe_dump(CRD)


def test_structural_checker_catches_problems() -> None:
    assert structural_problems({"type": "object", "properties": {"x": {"anyOf": []}}}) != []


def test_names_columns_and_subresource() -> None:
    names = CRD["spec"]["names"]
    assert (CRD["metadata"]["name"], names["shortNames"], names["categories"]) == (
        "qdrantcollections.qco.dev", ["qc"], ["qco"],
    )  # fmt: skip
    assert VERSION["name"] == "v1alpha1" and VERSION["subresources"] == {"status": {}}
    columns = {c["name"]: c["jsonPath"] for c in VERSION["additionalPrinterColumns"]}
    assert columns == {
        "Ready": '.status.conditions[?(@.type=="Ready")].status',
        "Reason": '.status.conditions[?(@.type=="Ready")].reason',
        "Collection": ".status.collection.name",
        "Status": ".status.collection.status",
        "Points": ".status.collection.pointsCount",
        "Age": ".metadata.creationTimestamp",
        "Aliases": ".spec.aliases",
        "Drift": ".spec.driftInterval",
        "Message": '.status.conditions[?(@.type=="Ready")].message',
    }
    wide = {c["name"] for c in VERSION["additionalPrinterColumns"] if c.get("priority") == 1}
    assert wide == {"Aliases", "Drift", "Message"}  # shown by `kubectl get -o wide` only


def _rules(node: dict[str, Any]) -> list[str]:
    return [r["rule"] for r in node.get("x-kubernetes-validations", [])]


V4 = {"": {"size": 4, "distance": "Dot"}}

# (id, old spec, new spec, refused by the API server): evaluated by a real CEL engine (cel-python),
# the same rules the API server runs on update.
TRANSITIONS: list[tuple[str, dict[str, Any], dict[str, Any], bool]] = [
    ("shardNumber added after creation", {"vectors": V4}, {"vectors": V4, "shardNumber": 3}, True),
    ("shardNumber removed", {"vectors": V4, "shardNumber": 3}, {"vectors": V4}, True),
    ("shardNumber changed", {"shardNumber": 2}, {"shardNumber": 3}, True),
    ("shardNumber kept", {"shardNumber": 2}, {"shardNumber": 2, "hnsw": {"m": 8}}, False),
    ("shardingMethod added", {}, {"shardingMethod": "custom"}, True),
    ("wal added", {}, {"wal": {"walCapacityMb": 64}}, True),
    ("wal changed", {"wal": {"walCapacityMb": 32}}, {"wal": {"walCapacityMb": 64}}, True),
    ("collectionName added", {}, {"collectionName": "x"}, True),
    ("collectionName changed", {"collectionName": "x"}, {"collectionName": "y"}, True),
    ("vector size changed", {"vectors": V4}, {"vectors": {"": {"size": 8, "distance": "Dot"}}}, True),
    ("vector distance changed", {"vectors": V4}, {"vectors": {"": {"size": 4, "distance": "Cosine"}}}, True),
    (
        "vector datatype added",
        {"vectors": V4},
        {"vectors": {"": {"size": 4, "distance": "Dot", "datatype": "uint8"}}},
        True,
    ),
    (
        "vector multivector added",
        {"vectors": V4},
        {"vectors": {"": {"size": 4, "distance": "Dot", "multivector": {}}}},
        True,
    ),
    (
        "vector onDisk added (mutable)",
        {"vectors": V4},
        {"vectors": {"": {"size": 4, "distance": "Dot", "onDisk": True}}},
        False,
    ),
    (
        "named vector added",
        {"vectors": {"a": V4[""]}},
        {"vectors": {"a": V4[""], "b": {"size": 8, "distance": "Dot"}}},
        False,
    ),
    (
        "named vector renamed (guarded by policy, not CEL)",
        {"vectors": {"a": V4[""]}},
        {"vectors": {"b": V4[""]}},
        False,
    ),
    ("vectors block added", {}, {"vectors": V4}, False),
    ("mutable fields change", {"hnsw": {"m": 8}}, {"hnsw": {"m": 16}, "replicationFactor": 2}, False),
]


@pytest.mark.parametrize(
    ("old", "new", "refused"), [c[1:] for c in TRANSITIONS], ids=[c[0] for c in TRANSITIONS]
)
def test_immutable_fields_are_refused_at_admission(
    old: dict[str, Any], new: dict[str, Any], refused: bool
) -> None:
    causes = cel.validate(new, old, SPEC_SCHEMA)
    assert bool(causes) == refused, causes
    if refused:
        assert all("CollectionDeployment" in c["message"] for c in causes)  # the way out is named


CEL_VALUES: list[tuple[str, dict[str, Any], bool]] = [
    ("driftInterval 1ms is a hot loop", {"driftInterval": "1ms"}, True),
    ("driftInterval 4s", {"driftInterval": "4s"}, True),
    ("driftInterval 5s", {"driftInterval": "5s"}, False),
    ("driftInterval 1h30m", {"driftInterval": "1h30m"}, False),
    ("unnamed vector not alone", {"vectors": {"": V4[""], "a": V4[""]}}, True),
    ("reserved metadata key", {"metadata": {"qco.dev/owner": "x"}}, True),
]


@pytest.mark.parametrize(("spec", "refused"), [c[1:] for c in CEL_VALUES], ids=[c[0] for c in CEL_VALUES])
def test_cel_rules_on_create(spec: dict[str, Any], refused: bool) -> None:
    assert bool(cel.validate(spec, cel.MISSING, SPEC_SCHEMA)) == refused
    if refused:
        with pytest.raises(ValueError):  # noqa: PT011 - the model refuses it too (qco plan, the reconciler)
            QdrantCollectionSpec.model_validate(spec)
    else:
        QdrantCollectionSpec.model_validate(spec)


def test_only_metadata_preserves_unknown_fields() -> None:
    text = yaml.safe_dump(SPEC_SCHEMA)
    assert text.count("x-kubernetes-preserve-unknown-fields") == 1
    assert SPEC_SCHEMA["properties"]["metadata"]["x-kubernetes-preserve-unknown-fields"] is True


def test_only_qco_fields_have_defaults() -> None:
    props = SPEC_SCHEMA["properties"]
    # driftInterval has none: left out, the operator's QCO_DRIFT_INTERVAL_SECONDS applies.
    assert {k: v["default"] for k, v in props.items() if "default" in v} == {
        "deletionPolicy": "Retain",
        "adoptionPolicy": "IfCompatible",
        "vectorRemovalPolicy": "Refuse",
        "shardKeyRemovalPolicy": "Refuse",
    }


def test_chart_copy_is_gated_and_kept() -> None:
    files = dict(generated_files())
    chart = files[Path("charts/qco/templates/crds/qdrantcollections.qco.dev.yaml")]
    assert chart.startswith("{{- if .Values.crds.create }}\n") and chart.endswith("{{- end }}\n")
    body = yaml.safe_load(chart.split("\n", 1)[1].rsplit("{{- end }}", 1)[0])
    assert body["metadata"]["annotations"] == {"helm.sh/resource-policy": "keep"}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specs())
def test_valid_specs_round_trip_through_the_schema(raw: dict[str, Any]) -> None:
    manifest = QdrantCollectionSpec.model_validate(raw).to_manifest()
    jsonschema.validate(manifest, SPEC_SCHEMA)
    assert QdrantCollectionSpec.model_validate(manifest) == QdrantCollectionSpec.model_validate(raw)


BAD: list[tuple[str, dict[str, Any]]] = [
    ("distance enum", {"vectors": {"": {"size": 4, "distance": "L2"}}}),
    ("size bound", {"vectors": {"": {"size": 0, "distance": "Dot"}}}),
    ("efConstruct bound", {"hnsw": {"efConstruct": 2}}),
    ("quantile bound", {"quantization": {"scalar": {"quantile": 0.1}}}),
    ("compression enum", {"quantization": {"product": {"compression": "x3"}}}),
    ("deletedThreshold bound", {"optimizers": {"deletedThreshold": 1.5}}),
    ("vacuum bound", {"optimizers": {"vacuumMinVectorNumber": 10}}),
    ("walCapacityMb bound", {"wal": {"walCapacityMb": 0}}),
    ("deletionPolicy enum", {"deletionPolicy": "Orphan"}),
    ("adoptionPolicy enum", {"adoptionPolicy": "Always"}),
    ("driftInterval pattern", {"driftInterval": "five minutes"}),
    ("payload type enum", {"payloadIndexes": [{"field": "f", "type": "string"}]}),
    ("collectionName pattern", {"collectionName": "a/b"}),
    ("replication bound", {"replicationFactor": 0}),
    ("vectors: {} would drop every vector", {"vectors": {}}),
    ("vectorRemovalPolicy enum", {"vectorRemovalPolicy": "Yes"}),
    ("url with credentials", {"connection": {"url": "http://user:pw@qdrant:6333"}}),
    ("url not http", {"connection": {"url": "file:///etc/passwd"}}),
]


@pytest.mark.parametrize("bad", [b for _, b in BAD], ids=[i for i, _ in BAD])
def test_schema_and_model_reject_bad_values(bad: dict[str, Any]) -> None:
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, SPEC_SCHEMA)
    with pytest.raises(ValueError):  # noqa: PT011 - pydantic's ValidationError is a ValueError
        QdrantCollectionSpec.model_validate(bad)


MODEL_ONLY: list[tuple[str, dict[str, Any]]] = [
    ("two quantizations", {"quantization": {"scalar": {}, "binary": {}}}),
    ("no quantization", {"quantization": {}}),
    (
        "unnamed not alone",
        {"vectors": {"": {"size": 4, "distance": "Dot"}, "a": {"size": 4, "distance": "Dot"}}},
    ),
    ("tokenizer on keyword", {"payloadIndexes": [{"field": "f", "type": "keyword", "tokenizer": "word"}]}),
    (
        "duplicate index field",
        {"payloadIndexes": [{"field": "f", "type": "bool"}, {"field": "f", "type": "geo"}]},
    ),
    ("reserved metadata", {"metadata": {"qco.dev/owner": "x"}}),
    (
        "dense and sparse share a name",
        {"vectors": {"a": {"size": 4, "distance": "Dot"}}, "sparseVectors": {"a": {}}},
    ),
    ("unknown field", {"vectorz": {}}),
]


@pytest.mark.parametrize("bad", [b for _, b in MODEL_ONLY], ids=[i for i, _ in MODEL_ONLY])
def test_model_rejects_what_cel_rejects_in_the_cluster(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011
        QdrantCollectionSpec.model_validate(bad)
