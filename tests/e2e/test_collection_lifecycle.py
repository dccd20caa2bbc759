"""QdrantCollection end to end: apply examples, wait Ready, read Qdrant back, change and see it applied."""

from __future__ import annotations

from pathlib import Path

import yaml
from qdrant_client.http import models

from tests.e2e.conftest import ROOT, Sandbox, collection_manifest

EXAMPLES = sorted((ROOT / "examples" / "collections").glob("*.yaml"))


def test_examples_become_ready_and_match_qdrant(sandbox: Sandbox) -> None:
    for path in EXAMPLES:
        sandbox.kubectl("apply", "-f", str(path))
    client = sandbox.qdrant()
    for path in EXAMPLES:
        manifest = yaml.safe_load(Path(path).read_text())
        obj = sandbox.wait_ready(manifest["metadata"]["name"])
        name = manifest["spec"].get("collectionName", manifest["metadata"]["name"])
        assert obj["status"]["collection"]["name"] == name
        assert obj["status"]["collection"]["status"] == "green"
        info = client.get_collection(name)
        assert info.config.metadata is not None
        assert info.config.metadata["qco.dev/owner"].startswith(f"default/{manifest['metadata']['name']}/")

    info = client.get_collection("docs_v1")
    vectors = info.config.params.vectors
    assert isinstance(vectors, models.VectorParams)
    assert (vectors.size, vectors.distance, vectors.on_disk) == (384, models.Distance.COSINE, True)
    assert (info.config.hnsw_config.m, info.config.hnsw_config.ef_construct) == (16, 128)
    quantization = info.config.quantization_config
    assert isinstance(quantization, models.ScalarQuantization)
    assert quantization.scalar.quantile is not None and abs(quantization.scalar.quantile - 0.99) < 1e-6
    assert info.config.optimizer_config.indexing_threshold == 20000
    assert set(info.payload_schema) == {"language", "published_at", "body"}
    assert info.payload_schema["body"].data_type == models.PayloadSchemaType.TEXT
    assert info.config.metadata["team"] == "search"
    aliases = {a.alias_name: a.collection_name for a in client.get_aliases().aliases}
    assert aliases["docs"] == "docs_v1"
    assert sandbox.get("docs-semantic")["status"]["collection"]["aliases"] == ["docs"]

    hybrid = client.get_collection("products-hybrid")
    assert isinstance(hybrid.config.params.vectors, dict)
    assert hybrid.config.params.vectors["dense"].distance == models.Distance.DOT
    assert hybrid.config.params.sparse_vectors is not None
    assert hybrid.config.params.sparse_vectors["text"].modifier == models.Modifier.IDF

    printed = sandbox.kubectl("get", "qc", "docs-semantic").stdout
    assert "True" in printed and "Synced" in printed and "docs_v1" in printed and "green" in printed
    reasons = {e["reason"] for e in sandbox.events("docs-semantic")}
    assert {"CreateCollection", "CreatePayloadIndex", "UpdateAliases"} <= reasons


def test_changes_to_hnsw_quantization_optimizers_indexes_and_aliases_are_applied(
    sandbox: Sandbox, unique: str
) -> None:
    name = f"change-{unique}"
    spec = {
        "vectors": {"": {"size": 8, "distance": "Cosine"}},
        "hnsw": {"m": 16},
        "payloadIndexes": [{"field": "lang", "type": "keyword"}, {"field": "year", "type": "integer"}],
        "aliases": [f"a1-{unique}"],
    }
    sandbox.apply(collection_manifest(name, spec))
    sandbox.wait_ready(name)

    spec.update(
        hnsw={"m": 32, "efConstruct": 200},
        quantization={"binary": {"alwaysRam": True}},
        optimizers={"indexingThreshold": 5000, "defaultSegmentNumber": 2},
        payloadIndexes=[
            {"field": "lang", "type": "text", "tokenizer": "word"},
            {"field": "score", "type": "float"},
        ],
        aliases=[f"a2-{unique}"],
    )
    sandbox.apply(collection_manifest(name, spec))
    obj = sandbox.wait_ready(name)
    assert obj["metadata"]["generation"] == 2

    info = sandbox.qdrant().get_collection(name)
    assert (info.config.hnsw_config.m, info.config.hnsw_config.ef_construct) == (32, 200)
    assert isinstance(info.config.quantization_config, models.BinaryQuantization)
    assert info.config.optimizer_config.indexing_threshold == 5000
    assert info.config.optimizer_config.default_segment_number == 2
    # `year` was created by qco and dropped from the spec: deleted; `lang` replaced by a text index.
    assert set(info.payload_schema) == {"lang", "score"}
    assert info.payload_schema["lang"].data_type == models.PayloadSchemaType.TEXT
    aliases = {a.alias_name: a.collection_name for a in sandbox.qdrant().get_aliases().aliases}
    assert aliases.get(f"a2-{unique}") == name
    assert f"a1-{unique}" not in aliases

    spec["quantization"] = {"disabled": True}
    sandbox.apply(collection_manifest(name, spec))
    sandbox.wait_ready(name)
    assert sandbox.qdrant().get_collection(name).config.quantization_config is None


def test_named_vectors_are_added_and_removed(sandbox: Sandbox, unique: str) -> None:
    name = f"vectors-{unique}"
    spec = {"vectors": {"image": {"size": 4, "distance": "Dot"}}}
    sandbox.apply(collection_manifest(name, spec))
    sandbox.wait_ready(name)
    spec["vectors"]["text"] = {"size": 8, "distance": "Cosine"}
    spec["sparseVectors"] = {"keywords": {"modifier": "idf"}}
    sandbox.apply(collection_manifest(name, spec))
    sandbox.wait_ready(name)
    params = sandbox.qdrant().get_collection(name).config.params
    assert isinstance(params.vectors, dict) and set(params.vectors) == {"image", "text"}
    assert params.sparse_vectors is not None and set(params.sparse_vectors) == {"keywords"}

    del spec["vectors"]["text"]
    sandbox.apply(collection_manifest(name, spec))
    sandbox.wait_ready(name)
    params = sandbox.qdrant().get_collection(name).config.params
    assert isinstance(params.vectors, dict) and set(params.vectors) == {"image"}


def test_immutable_change_is_refused_by_the_api_server(sandbox: Sandbox, unique: str) -> None:
    name = f"immutable-{unique}"
    sandbox.apply(collection_manifest(name, {"vectors": {"": {"size": 8, "distance": "Cosine"}}}))
    sandbox.wait_ready(name)
    changed = collection_manifest(name, {"vectors": {"": {"size": 16, "distance": "Cosine"}}})
    result = sandbox.kubectl("apply", "-f", "-", input=yaml.safe_dump(changed), check=False)
    assert result.returncode != 0
    assert "vector size is immutable" in result.stderr
    assert "spec.vectors" in result.stderr
    assert sandbox.get(name)["metadata"]["generation"] == 1


def test_schema_violation_names_the_field(sandbox: Sandbox, unique: str) -> None:
    bad = collection_manifest(f"bad-{unique}", {"vectors": {"": {"size": 0, "distance": "Cosine"}}})
    result = sandbox.kubectl("apply", "-f", "-", input=yaml.safe_dump(bad), check=False)
    assert result.returncode != 0
    assert "spec.vectors" in result.stderr and "size" in result.stderr
