"""`qco plan` inputs and exit codes: reading -f FILE|DIR like kubectl, the owner-stamp preview and
Terraform's detailed exit codes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from qdrant_client.http import models

from qco.cli.manifests import Manifest, ManifestError, read_collections
from qco.cli.offline_render import Outcome, exit_code
from qco.plan.actions import CollectionPlan, NudgeOptimizers, ResourceConflict
from qco.plan.ownership import OwnerStamp, build_stamp_metadata
from qco.reconcile.collection_offline import (
    OFFLINE_UID,
    OfflineResult,
    as_stamped_owner,
    desired_from_manifest,
)


def qc(name: str, namespace: str | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name} | ({"namespace": namespace} if namespace else {})
    return {
        "apiVersion": "qco.dev/v1alpha1",
        "kind": "QdrantCollection",
        "metadata": meta,
        "spec": {"vectors": {"": {"size": 4, "distance": "Cosine"}}},
    }


def test_directories_are_read_like_kubectl(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    other = {"apiVersion": "qco.dev/v1alpha1", "kind": "BackupSchedule", "metadata": {"name": "b"}}
    (tmp_path / "a.yaml").write_text(yaml.safe_dump_all([qc("a"), other]))
    (tmp_path / "b.json").write_text(yaml.safe_dump({"kind": "List", "items": [qc("b"), qc("c")]}))
    (tmp_path / "sub" / "d.yml").write_text(yaml.safe_dump(qc("d")))
    (tmp_path / "notes.txt").write_text(yaml.safe_dump(qc("ignored")))
    flat = read_collections([tmp_path])
    assert [(Path(m.source).name, m.name) for m in flat] == [
        ("a.yaml", "a"),
        ("b.json", "b"),
        ("b.json", "c"),
    ]
    deep = read_collections([tmp_path], recursive=True)
    assert [m.name for m in deep] == ["a", "b", "c", "d"]
    assert [m.name for m in read_collections([tmp_path / "sub" / "d.yml", tmp_path / "a.yaml"])] == ["d", "a"]


def test_unreadable_paths_name_the_file(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("a: [")
    with pytest.raises(ManifestError, match=r"bad\.yaml"):
        read_collections([tmp_path / "bad.yaml"])
    with pytest.raises(ManifestError, match=r"missing\.yaml"):
        read_collections([tmp_path / "missing.yaml"])


def info_with(stamp: OwnerStamp | None) -> models.CollectionInfo:
    metadata = build_stamp_metadata(stamp) if stamp else None
    return models.CollectionInfo(
        status=models.CollectionStatus.GREEN,
        optimizer_status=models.OptimizersStatusOneOf.OK,
        segments_count=1,
        config=models.CollectionConfig(
            params=models.CollectionParams(
                vectors=models.VectorParams(size=4, distance=models.Distance.COSINE)
            ),
            hnsw_config=models.HnswConfig(m=16, ef_construct=100, full_scan_threshold=10000),
            optimizer_config=models.OptimizersConfig(
                deleted_threshold=0.2,
                vacuum_min_vector_number=1000,
                default_segment_number=0,
                flush_interval_sec=5,
            ),
            metadata=metadata,
        ),
        payload_schema={},
    )


@pytest.mark.parametrize(
    ("stamp", "namespace", "adopted"),
    [
        (OwnerStamp("default", "docs", "uid-1", "2024-01-01T00:00:00Z"), None, True),
        (OwnerStamp("team", "docs", "uid-1", "2024-01-01T00:00:00Z"), "team", True),
        (OwnerStamp("team", "docs", "uid-1"), None, False),  # another namespace's object
        (OwnerStamp("default", "other", "uid-1"), None, False),  # another object
        (OwnerStamp("default", "docs", "uid-1", kind="CollectionDeployment"), None, False),
        (None, None, False),
    ],
)
def test_owner_stamp_naming_the_manifest_is_its_own(
    stamp: OwnerStamp | None, namespace: str | None, adopted: bool
) -> None:
    desired = desired_from_manifest(qc("docs", namespace))
    previewed = as_stamped_owner(desired, info_with(stamp))
    if adopted:
        assert stamp is not None
        assert (previewed.identity.uid, previewed.identity.creation_timestamp) == (stamp.uid, stamp.created)
        assert previewed.spec == desired.spec
    else:
        assert previewed == desired
        assert previewed.identity.uid == OFFLINE_UID


def outcome(plan: CollectionPlan | None) -> Outcome:
    manifest = Manifest("x.yaml", qc("docs"))
    if plan is None:
        return Outcome(manifest, "default", error_reason="QdrantUnreachable", error_message="down")
    return Outcome(manifest, "default", OfflineResult(plan))


@pytest.mark.parametrize(
    ("plans", "plan_code", "apply_code"),
    [
        ([CollectionPlan("a")], 0, 0),
        ([CollectionPlan("a"), CollectionPlan("b", (NudgeOptimizers("b"),))], 2, 0),
        ([CollectionPlan("b", (NudgeOptimizers("b"),)), None], 1, 1),
        ([CollectionPlan("a", (), (ResourceConflict("a", OwnerStamp("default", "x", "u")),))], 1, 1),
    ],
)
def test_exit_codes_follow_terraform(
    plans: list[CollectionPlan | None], plan_code: int, apply_code: int
) -> None:
    outcomes = [outcome(p) for p in plans]
    assert exit_code(outcomes, applied=False) == plan_code
    assert exit_code(outcomes, applied=True) == apply_code
