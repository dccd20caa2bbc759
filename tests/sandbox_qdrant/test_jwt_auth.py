"""JWT RBAC in the Qdrant stand-in, through the unmodified qdrant-client and raw HTTP: tokens signed
with the API key grant global or per-collection access until `exp`, refused with Qdrant's 403s."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import jwt
import pytest
from qdrant_client import QdrantClient, models
from qdrant_client.http.exceptions import UnexpectedResponse

from tests.plugins.qdrant_server import QdrantServerProcess

pytestmark = pytest.mark.filterwarnings("ignore:Api key is used with an insecure connection")

KEY = "jwt-signing-key-for-the-stand-in-tests"
POINT = models.PointStruct(id=7, vector=[0.1, 0.2, 0.3, 0.4], payload={"k": "v"})


def token(access: Any, *, key: str = KEY, exp_in: float | None = 3600, **extra: Any) -> str:
    """A token like qco (or any Qdrant user) mints: HS256 with the API key."""
    claims: dict[str, Any] = {"access": access, **extra}
    if exp_in is not None:
        claims["exp"] = int(time.time() + exp_in)
    return jwt.encode(claims, key, algorithm="HS256")


@pytest.fixture
def server(qdrant_server_factory: Callable[..., QdrantServerProcess]) -> QdrantServerProcess:
    """A keyed stand-in with collections `docs` (alias `docs-live`) and `other`, one point each."""
    running = qdrant_server_factory(api_key=KEY)
    admin = QdrantClient(url=running.url, api_key=KEY, check_compatibility=False, timeout=60)
    for name in ("docs", "other"):
        admin.create_collection(name, models.VectorParams(size=4, distance=models.Distance.DOT))
        admin.upsert(name, [POINT])
    admin.update_collection_aliases(
        [
            models.CreateAliasOperation(
                create_alias=models.CreateAlias(collection_name="docs", alias_name="docs-live")
            )
        ]
    )
    admin.close()
    return running


def client_with(server: QdrantServerProcess, bearer: str) -> QdrantClient:
    """The unmodified qdrant-client carrying a JWT as its API key."""
    return QdrantClient(url=server.url, api_key=bearer, check_compatibility=False, timeout=60)


def refusal(call: Callable[[], object]) -> tuple[int, str]:
    """Status code and Qdrant's error message of a refused call."""
    with pytest.raises(UnexpectedResponse) as caught:
        call()
    content = caught.value.content.decode()
    return caught.value.status_code, httpx.Response(200, content=content).json()["status"]["error"]


def test_read_token_reads_its_collection_and_nothing_else(server: QdrantServerProcess) -> None:
    reader = client_with(server, token([{"collection": "docs", "access": "r"}]))
    assert [p.id for p in reader.query_points("docs", query=[1.0, 0, 0, 0]).points] == [7]
    assert [p.id for p in reader.scroll("docs")[0]] == [7]
    assert reader.retrieve("docs", [7])[0].payload == {"k": "v"}
    assert reader.count("docs").count == 1
    assert reader.get_collection("docs").points_count == 1

    assert refusal(lambda: reader.upsert("docs", [POINT])) == (
        403,
        "Forbidden: Write access to collection docs is required",
    )
    assert refusal(lambda: reader.delete("docs", [7])) == (
        403,
        "Forbidden: Write access to collection docs is required",
    )
    assert refusal(lambda: reader.scroll("other")) == (
        403,
        "Forbidden: Access to collection other is required",
    )
    assert refusal(lambda: reader.get_collection("other")) == (
        403,
        "Forbidden: Access to collection other is required",
    )
    assert refusal(
        lambda: reader.create_collection("new", models.VectorParams(size=4, distance=models.Distance.DOT))
    ) == (403, "Forbidden: Global access is required")
    assert refusal(lambda: reader.delete_collection("docs")) == (403, "Forbidden: Global access is required")
    reader.close()


def test_read_write_token_writes_points_but_does_not_manage(server: QdrantServerProcess) -> None:
    writer = client_with(server, token([{"collection": "docs", "access": "rw"}]))
    writer.upsert("docs", [models.PointStruct(id=8, vector=[0.0, 1.0, 0.0, 0.0])])
    assert writer.count("docs").count == 2
    writer.delete("docs", [8])
    assert writer.count("docs").count == 1
    assert refusal(lambda: writer.create_payload_index("docs", "k", models.PayloadSchemaType.KEYWORD)) == (
        403,
        "Forbidden: Manage access for this operation is required",
    )
    assert refusal(lambda: writer.upsert("other", [POINT])) == (
        403,
        "Forbidden: Access to collection other is required",
    )
    writer.close()


def test_aliases_are_checked_by_the_name_in_the_request(server: QdrantServerProcess) -> None:
    only_collection = client_with(server, token([{"collection": "docs", "access": "r"}]))
    assert refusal(lambda: only_collection.scroll("docs-live")) == (
        403,
        "Forbidden: Access to collection docs-live is required",
    )
    with_alias = client_with(
        server, token([{"collection": "docs", "access": "r"}, {"collection": "docs-live", "access": "r"}])
    )
    assert [p.id for p in with_alias.scroll("docs-live")[0]] == [7]
    only_collection.close()
    with_alias.close()


def test_listings_show_only_the_tokens_collections(server: QdrantServerProcess) -> None:
    reader = client_with(server, token([{"collection": "docs", "access": "r"}]))
    assert [c.name for c in reader.get_collections().collections] == ["docs"]
    assert [(a.alias_name, a.collection_name) for a in reader.get_aliases().aliases] == [
        ("docs-live", "docs")
    ]
    reader.close()


def test_global_modes(server: QdrantServerProcess) -> None:
    reader = client_with(server, token("r"))
    assert reader.count("other").count == 1
    assert sorted(c.name for c in reader.get_collections().collections) == ["docs", "other"]
    assert refusal(lambda: reader.upsert("other", [POINT])) == (
        403,
        "Forbidden: Global manage access is required",
    )
    manager = client_with(server, token("m"))
    manager.create_collection("made", models.VectorParams(size=4, distance=models.Distance.DOT))
    assert manager.collection_exists("made")
    reader.close()
    manager.close()


def _hs512() -> str:
    # Another algorithm with the right key: Qdrant's parser takes HS256 only.
    return jwt.encode({"access": "m", "exp": int(time.time()) + 60}, KEY * 2, algorithm="HS512")


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda: token("m", exp_in=-120), (403, "Forbidden: ExpiredSignature")),
        (lambda: token("m", key="another-key-of-at-least-32-bytes"), (403, "Forbidden: InvalidSignature")),
        (lambda: token("m", exp_in=None), (403, "Invalid API key or JWT")),  # Qdrant needs exp
        (_hs512, (403, "Invalid API key or JWT")),
        (lambda: "not-a-jwt", (403, "Invalid API key or JWT")),
    ],
    ids=["expired", "wrong-key", "no-exp", "hs512", "garbage"],
)
def test_tokens_qdrant_refuses(
    server: QdrantServerProcess, make: Callable[[], str], expected: tuple[int, str]
) -> None:
    headers = {"Authorization": f"Bearer {make()}"}
    response = httpx.get(f"{server.url}/collections/docs", headers=headers)
    assert (response.status_code, response.json()["status"]["error"]) == expected


def test_expiry_has_qdrants_leeway_and_raw_http_works(server: QdrantServerProcess) -> None:
    # Qdrant accepts a token up to 30 s after its exp (clock skew between minter and server).
    late = token([{"collection": "docs", "access": "r"}], exp_in=-10)
    response = httpx.post(
        f"{server.url}/collections/docs/points/scroll", json={"limit": 5}, headers={"api-key": late}
    )
    assert response.status_code == 200
    assert [p["id"] for p in response.json()["result"]["points"]] == [7]
    upsert = httpx.put(
        f"{server.url}/collections/docs/points",
        json={"points": [{"id": 9, "vector": [1, 0, 0, 0]}]},
        headers={"Authorization": f"Bearer {late}"},
    )
    assert (upsert.status_code, upsert.json()["status"]["error"]) == (
        403,
        "Forbidden: Write access to collection docs is required",
    )


def test_the_api_key_itself_still_manages_everything(server: QdrantServerProcess) -> None:
    admin = QdrantClient(url=server.url, api_key=KEY, check_compatibility=False, timeout=60)
    admin.upsert("other", [models.PointStruct(id=1, vector=[0.0, 0.0, 1.0, 0.0])])
    assert admin.count("other").count == 2
    admin.close()
