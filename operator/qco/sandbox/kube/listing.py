"""List pages: `limit` and `continue` as the API server serves them (kubectl asks for 500 at a time).

The continue token is opaque to clients (base64 of JSON with the list's resourceVersion and the
last key served). A continued list reads the current objects after that key, so unlike an API
server it does not show the snapshot of the first page (no 410 for an old token either).
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from qco.sandbox.kube import errors


def _key(obj: dict[str, Any]) -> tuple[str, str]:
    meta = obj["metadata"]
    return (meta.get("namespace") or "", meta["name"])


def _decode(token: str) -> tuple[str, tuple[str, str]]:
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        return str(data["rv"]), (str(data["start"][0]), str(data["start"][1]))
    except (ValueError, KeyError, IndexError, TypeError, binascii.Error) as exc:
        raise errors.bad_request(f"continue key is not valid: {exc}") from exc


def _encode(resource_version: str, last: tuple[str, str]) -> str:
    data = json.dumps({"rv": resource_version, "start": list(last)}, separators=(",", ":"))
    return base64.urlsafe_b64encode(data.encode()).decode()


def paginate(
    objects: list[dict[str, Any]], query: Any, resource_version: str, selected: bool
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """One page of `objects` (in key order) and the list's metadata (resourceVersion, continue).

    `selected` says a label or field selector filtered the list: the API server then does not
    count the remaining items.
    """
    limit_text = query.get("limit") or "0"
    try:
        limit = int(limit_text)
    except ValueError as exc:
        raise errors.bad_request(f"invalid limit {limit_text!r}") from exc
    objects = sorted(objects, key=_key)
    token = query.get("continue")
    if token:
        resource_version, start = _decode(token)
        objects = [obj for obj in objects if _key(obj) > start]
    meta: dict[str, Any] = {"resourceVersion": resource_version}
    if 0 < limit < len(objects):
        page = objects[:limit]
        meta["continue"] = _encode(resource_version, _key(page[-1]))
        if not selected:
            meta["remainingItemCount"] = len(objects) - limit
        return page, meta
    return objects, meta
