"""JWT RBAC as Qdrant does it (`service.jwt_rbac: true`): a token signed with the API key grants
global (`r`, `m`) or per-collection (`[{collection, access: r|rw}]`) access until its `exp`.

Learned from Qdrant's behaviour (HS256 with the API key as secret, 30 s of leeway on `exp`, a token
without `exp` is no JWT at all, 403 `Forbidden: ...` from the access checks). Access is checked
against the name in the request, before an alias is resolved: a token for a collection does not
reach it through an alias unless the alias is listed too.

The stand-in verifies JWTs whenever an API key is configured (a real Qdrant also needs
`service.jwt_rbac: true`).
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from typing import Any

import jwt
from aiohttp import web

from qco.sandbox.qdrant.errors import error_response

#: Qdrant accepts a token this many seconds past its `exp` (clock skew).
LEEWAY_SECONDS = 30
INVALID_KEY = "Invalid API key or JWT"
_READ_ONLY_POSTS = frozenset(
    {"/points", "/points/scroll", "/points/count", "/points/query", "/points/search"}
)


@dataclass(frozen=True)
class Requirement:
    """What one request needs: a collection (None: global), and write or manage access."""

    collection: str | None
    write: bool = False
    manage: bool = False
    listing: bool = False  # a global listing every token may read (filtered to its collections)


@dataclass(frozen=True)
class Access:
    """The `access` claim: a global mode (`r`, `m`) or per-collection modes (`r`, `rw`)."""

    global_mode: str | None
    collections: dict[str, str]

    def check(self, need: Requirement) -> str | None:
        """Qdrant's refusal message for `need`, or None when the token allows it."""
        if self.global_mode is not None:
            if (need.write or need.manage) and self.global_mode != "m":
                return "Global manage access is required"
            return None
        if need.collection is None:
            return None if need.listing else "Global access is required"
        mode = self.collections.get(need.collection)
        if mode is None:
            return f"Access to collection {need.collection} is required"
        if need.write and mode != "rw":
            return f"Write access to collection {need.collection} is required"
        if need.manage:
            return "Manage access for this operation is required"
        return None

    def sees(self, collection: str) -> bool:
        """Whether listings show `collection` to this token."""
        return self.global_mode is not None or collection in self.collections


class TokenRefused(Exception):
    """The token cannot be used; `status` and `message` are Qdrant's answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def decode_access(token: str, api_key: str) -> Access:
    """The access a token grants, verified like Qdrant does; raises TokenRefused otherwise."""
    try:
        with warnings.catch_warnings():
            # Qdrant takes API keys of any length; PyJWT only warns about short HMAC keys.
            warnings.simplefilter("ignore", jwt.warnings.InsecureKeyLengthWarning)
            claims: dict[str, Any] = jwt.decode(
                token,
                api_key,
                algorithms=["HS256"],
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp"], "verify_aud": False, "verify_iat": False, "verify_nbf": False},
            )
    except jwt.ExpiredSignatureError:
        raise TokenRefused(403, "Forbidden: ExpiredSignature") from None
    except jwt.InvalidSignatureError:
        raise TokenRefused(403, "Forbidden: InvalidSignature") from None
    except jwt.PyJWTError:
        # Not a JWT Qdrant understands (malformed, another algorithm, no exp): an unknown key.
        raise TokenRefused(403, INVALID_KEY) from None
    return _access_claim(claims.get("access", "r"))


def _access_claim(value: Any) -> Access:
    if value in ("r", "m"):
        return Access(str(value), {})
    if isinstance(value, list):
        modes: dict[str, str] = {}
        for entry in value:
            if not isinstance(entry, dict) or entry.get("access") not in ("r", "rw"):
                raise TokenRefused(403, INVALID_KEY)
            name = entry.get("collection")
            if not isinstance(name, str) or name in modes:
                # Qdrant refuses a claim that names a collection twice (validation error).
                raise TokenRefused(401, "Unauthorized: access: Collection name should be unique")
            if "payload" in entry:
                raise TokenRefused(403, INVALID_KEY)  # payload constraints: not supported here
            modes[name] = str(entry["access"])
        return Access(None, modes)
    raise TokenRefused(403, INVALID_KEY)


def requirement(method: str, canonical: str, collection: str | None) -> Requirement:
    """What a request (method, route pattern, collection in its path) needs from a token."""
    if collection is None:
        # Listing collections and aliases is filtered, not refused; alias changes manage globally.
        return Requirement(None, listing=True) if method == "GET" else Requirement(None, manage=True)
    suffix = canonical.split("}", 1)[1] if "}" in canonical else ""
    if method == "GET" or (method == "POST" and suffix in _READ_ONLY_POSTS):
        return Requirement(collection)
    if method in ("PUT", "DELETE") and suffix == "":
        return Requirement(None, manage=True)  # create / delete a collection: global manage
    if suffix.startswith("/points"):
        return Requirement(collection, write=True)
    return Requirement(collection, write=True, manage=True)  # config, indexes, vectors, snapshots


async def check_token(request: web.Request, handler: Any, token: str, api_key: str) -> web.StreamResponse:
    """Serve `request` when `token` (not the API key itself) grants it; Qdrant's refusal otherwise."""
    try:
        access = decode_access(token, api_key)
    except TokenRefused as exc:
        return error_response(exc.status, exc.message)
    info = request.match_info
    canonical = info.route.resource.canonical if info.route.resource is not None else request.path
    refusal = access.check(requirement(request.method, canonical, info.get("collection_name")))
    if refusal is not None:
        return error_response(403, f"Forbidden: {refusal}")
    response: web.StreamResponse = await handler(request)
    if access.global_mode is None and request.method == "GET" and canonical in ("/collections", "/aliases"):
        return _filtered(response, access)
    return response


def _filtered(response: web.StreamResponse, access: Access) -> web.StreamResponse:
    """Collection-scoped tokens list only their collections (and aliases of those)."""
    if not isinstance(response, web.Response) or response.status != 200 or response.body is None:
        return response
    body = json.loads(bytes(response.body))  # type: ignore[arg-type]
    result = body.get("result") or {}
    if "collections" in result:
        result["collections"] = [c for c in result["collections"] if access.sees(c["name"])]
    if "aliases" in result:
        result["aliases"] = [a for a in result["aliases"] if access.sees(a["collection_name"])]
    return web.json_response(body, status=200)
