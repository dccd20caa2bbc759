"""Request paths split into their Kubernetes parts (group, version, resource, namespace, name)."""

from __future__ import annotations

import dataclasses

import aiohttp.web

_NAMESPACE_SUBRESOURCES = ("status", "finalize")


@dataclasses.dataclass(frozen=True)
class Route:
    """A request path split into its Kubernetes parts."""

    group: str
    version: str | None = None
    plural: str | None = None
    namespace: str | None = None
    name: str | None = None
    subresource: str | None = None


def parse_route(path: str) -> Route | None:
    """Split `/api/v1/namespaces/ns/configmaps/x` and `/apis/g/v/...` paths; None for other paths."""
    segments = [s for s in path.split("/") if s]
    if not segments or segments[0] not in ("api", "apis"):
        return None
    if segments[0] == "api":
        group, rest = "", segments[1:]
    elif len(segments) >= 2:
        group, rest = segments[1], segments[2:]
    else:
        return None
    if not rest:
        return Route(group) if group else None
    version, rest = rest[0], rest[1:]
    namespace = None
    if (
        len(rest) >= 3
        and rest[0] == "namespaces"
        and not (group == "" and rest[2] in _NAMESPACE_SUBRESOURCES and len(rest) == 3)
    ):
        namespace, rest = rest[1], rest[2:]
    return Route(
        group,
        version,
        rest[0] if rest else None,
        namespace,
        rest[1] if len(rest) > 1 else None,
        "/".join(rest[2:]) or None,
    )


def request_key(raw: aiohttp.web.BaseRequest) -> str:
    """`METHOD [get|list|watch] resource`, e.g. `GET watch qdrantcollections`, `PATCH configmaps`."""
    route = parse_route(raw.path)
    if route is None or route.plural is None:
        return f"{raw.method} discovery"
    resource = route.plural + (f"/{route.subresource}" if route.subresource else "")
    if raw.method == "GET":
        verb = "watch" if raw.query.get("watch") in ("true", "1") else ("get" if route.name else "list")
        return f"GET {verb} {resource}"
    return f"{raw.method} {resource}"
