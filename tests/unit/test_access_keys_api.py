"""spec.accessKeys: the CRD (CEL, list map) and the model refuse the same bad keys."""

from __future__ import annotations

from typing import Any

import pytest

from qco.api.access_keys import AccessKeyStatus
from qco.api.collection import QDRANT_COLLECTION, QdrantCollectionSpec
from qco.api.collection_status import QdrantCollectionStatus
from qco.api.crdgen import build_crd
from qco.sandbox.kube import cel

SPEC_SCHEMA: dict[str, Any] = build_crd(QDRANT_COLLECTION)["spec"]["versions"][0]["schema"][
    "openAPIV3Schema"
]["properties"]["spec"]
VECTORS = {"": {"size": 4, "distance": "Dot"}}


def key(**overrides: Any) -> dict[str, Any]:
    """One access key as the API server sees it after defaulting."""
    return {
        "name": "search",
        "access": "r",
        "secretName": "docs-search-token",
        "ttl": "720h",
        "rotateBefore": "168h",
        "aliasesToo": True,
        **overrides,
    }


CASES: list[tuple[str, list[dict[str, Any]], bool]] = [
    ("defaults", [key()], False),
    ("read-write, short", [key(access="rw", ttl="90s", rotateBefore="60s")], False),
    ("rotateBefore equals ttl", [key(ttl="2h", rotateBefore="2h")], True),
    ("rotateBefore longer than ttl", [key(ttl="1h", rotateBefore="2h")], True),
    ("less than 30s of use", [key(ttl="60s", rotateBefore="40s")], True),
    ("ttl below a minute", [key(ttl="30s", rotateBefore="1s")], True),
    ("ttl above a year", [key(ttl="9000h", rotateBefore="1h")], True),
    ("two keys, one Secret", [key(), key(name="write", access="rw")], True),
    ("two keys, two Secrets", [key(), key(name="write", access="rw", secretName="docs-write-token")], False),
]


@pytest.mark.parametrize(("keys", "refused"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_cel_and_model_agree(keys: list[dict[str, Any]], refused: bool) -> None:
    spec = {"vectors": VECTORS, "accessKeys": keys}
    causes = cel.validate(spec, cel.MISSING, SPEC_SCHEMA)
    assert bool(causes) == refused, causes
    if refused:
        with pytest.raises(ValueError):  # noqa: PT011 - the message is checked where it matters
            QdrantCollectionSpec.model_validate(spec)
    else:
        QdrantCollectionSpec.model_validate(spec)


def test_duplicate_names_are_refused_by_the_model_and_the_list_map() -> None:
    spec = {"vectors": VECTORS, "accessKeys": [key(), key(secretName="other")]}
    with pytest.raises(ValueError, match=r"accessKeys\[\]\.name must be unique; repeated: search"):
        QdrantCollectionSpec.model_validate(spec)
    access_keys = SPEC_SCHEMA["properties"]["accessKeys"]
    assert (access_keys["x-kubernetes-list-type"], access_keys["x-kubernetes-list-map-keys"]) == (
        "map",
        ["name"],
    )


def test_defaults_and_status_never_hold_a_token() -> None:
    parsed = QdrantCollectionSpec.model_validate(
        {"vectors": VECTORS, "accessKeys": [{"name": "a", "access": "rw", "secretName": "s"}]}
    )
    assert parsed.access_keys is not None
    only = parsed.access_keys[0]
    assert (only.ttl, only.rotate_before, only.aliases_too) == ("720h", "168h", True)
    assert set(AccessKeyStatus.model_fields) == {
        "name",
        "secret_name",
        "access",
        "expires_at",
        "last_rotation",
    }
    assert QdrantCollectionStatus.model_fields["access_keys"].default is None
