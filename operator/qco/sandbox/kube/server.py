"""The HTTP face of the emulator: routing requests to discovery, reads, watches and writes.

`KubeEmulator` subclasses kmock's `KubernetesEmulator` but owns the request dispatch: kmock
0.8 records every request and scans the whole history on each dispatch (latency grows with
the request count), and its object store lacks resourceVersions, generations and selectors.
Routing here is a path split plus dictionary look-ups, so latency stays flat.
"""

from __future__ import annotations

import asyncio
import collections
import copy
import json
import logging
from typing import Any

import aiohttp.web
import kmock

from qco.sandbox.kube import discovery, errors, listing, protobuf, selectors, tables
from qco.sandbox.kube.options import WriteOptions
from qco.sandbox.kube.resources import ResourceType
from qco.sandbox.kube.routes import parse_route, request_key
from qco.sandbox.kube.store import ObjectStore
from qco.sandbox.kube.writes import KubeApi

logger = logging.getLogger(__name__)
_JSON = "application/json"


def _json(body: Any, status: int = 200, warnings: list[str] | None = None) -> aiohttp.web.Response:
    headers = {"Warning": ", ".join(f'299 - "{w}"' for w in warnings)} if warnings else None
    return aiohttp.web.Response(
        body=json.dumps(body).encode(), status=status, content_type=_JSON, headers=headers
    )


class KubeEmulator(kmock.KubernetesEmulator):
    """An in-memory Kubernetes API server for kubectl, kopf and client libraries."""

    def __init__(self, *, history_window: int = 10_000) -> None:
        super().__init__()
        self.api = KubeApi(store=ObjectStore(history_window))
        self._closing = False
        # Request counts since start or the last reset, served on /_sandbox/requests (as the
        # Qdrant stand-in does) so benchmarks can measure an operator's steady-state traffic.
        self.request_counts: collections.Counter[str] = collections.Counter()

    @property
    def store(self) -> ObjectStore:
        """The object store (for assertions in tests)."""
        return self.api.store

    def close_watches(self) -> None:
        """End every open watch stream, so that the HTTP server can shut down at once."""
        self._closing = True
        self.api.store.buses.close_all()

    async def __call__(self, raw: aiohttp.web.BaseRequest) -> aiohttp.web.StreamResponse:
        """Serve one request (the aiohttp low-level server calls this)."""
        if raw.path == "/_sandbox/requests":
            if raw.method == "DELETE":
                self.request_counts.clear()
            return _json({"counts": dict(self.request_counts)})
        self.request_counts[request_key(raw)] += 1
        try:
            return await self._dispatch(raw)
        except errors.ApiError as exc:
            return _json(exc.to_status(), exc.code)
        except (ConnectionResetError, asyncio.CancelledError):
            raise
        except Exception as exc:
            logger.exception("Emulator failure on %s %s", raw.method, raw.path_qs)
            return _json(
                errors.ApiError(500, "InternalError", f"Internal error occurred: {exc!r}").to_status(), 500
            )

    async def _dispatch(self, raw: aiohttp.web.BaseRequest) -> aiohttp.web.StreamResponse:
        path, method = raw.path, raw.method
        if (
            method == "GET"
            and path == "/openapi/v2"
            and protobuf.OPENAPI_V2_PROTOBUF in raw.headers.get("Accept", "")
        ):
            document = protobuf.openapi_v2_document("Kubernetes", discovery.SERVER_VERSION["gitVersion"])
            return aiohttp.web.Response(body=document, content_type=protobuf.OPENAPI_V2_PROTOBUF_RESPONSE)
        if method == "GET":
            static = self._static(path)
            if static is not None:
                return _json(static)
        route = parse_route(path)
        if route is None or route.version is None:
            if route is not None and method == "GET":
                group = discovery.api_group(self.api.registry, route.group)
                if group is not None:
                    return _json(group)
            raise errors.unknown_path(path)
        if route.plural is None:
            listing = discovery.resource_list(self.api.registry, route.group, route.version)
            if listing is None or method != "GET":
                raise errors.unknown_path(path)
            return _json(listing)
        rt = self.api.registry.get(route.group, route.version, route.plural)
        if rt is None:
            raise errors.unknown_path(path)
        if route.subresource and route.subresource not in [*rt.subresources, "finalize"]:
            raise errors.unknown_path(path)
        namespace = route.namespace if rt.namespaced else None
        query = raw.query
        if method == "GET":
            if query.get("watch") in ("true", "1"):
                return await self._watch(raw, rt, namespace, route.name)
            if route.name is None:
                return self._list(raw, rt, namespace)
            obj = self.api.get_existing(rt, namespace, route.name)
            return self._respond_objects(raw, rt, [obj], single=True)
        body = await self._read_body(raw)
        opts = WriteOptions(
            dry_run=bool(query.get("dryRun")),
            field_manager=query.get("fieldManager", ""),
            field_validation=query.get("fieldValidation", "Ignore"),
            force=query.get("force") == "true",
            user_agent=raw.headers.get("User-Agent", ""),
        )
        if method == "POST" and route.name is None:
            created = self.api.create(rt, namespace, body, opts)
            return _json(self._present(rt, created), 201, opts.warnings)
        if method == "PUT" and route.name is not None:
            replaced = self.api.replace(rt, namespace, route.name, body, route.subresource, opts)
            return _json(self._present(rt, replaced), 200, opts.warnings)
        if method == "PATCH" and route.name is not None:
            content_type = raw.headers.get("Content-Type", "")
            patched = self.api.patch(rt, namespace, route.name, content_type, body, route.subresource, opts)
            return _json(self._present(rt, patched), 200, opts.warnings)
        if method == "DELETE" and route.name is not None:
            deleted, removed = self.api.delete(rt, namespace, route.name, body, opts)
            return _json(self._present(rt, deleted), 200 if removed else 202)
        if method == "DELETE":
            return self._delete_collection(raw, rt, namespace, body, opts)
        raise errors.method_not_allowed(method)

    def _static(self, path: str) -> dict[str, Any] | None:
        registry = self.api.registry
        if path in ("/", ""):
            return discovery.root_paths(registry)
        if path == "/version":
            return discovery.SERVER_VERSION
        if path == "/api":
            return discovery.api_versions()
        if path == "/apis":
            return discovery.api_group_list(registry)
        if path == "/openapi/v2":
            return discovery.openapi_v2(registry)
        if path == "/openapi/v3":
            return discovery.openapi_v3_index(registry)
        if path.startswith("/openapi/v3/"):
            route = parse_route(path[len("/openapi/v3") :])
            if route is not None and route.version is not None:
                return discovery.openapi_v3_document(registry, route.group, route.version)
        return None

    @staticmethod
    async def _read_body(raw: aiohttp.web.BaseRequest) -> Any:
        data = await raw.read()
        if not data:
            return None
        if raw.headers.get("Content-Type", "").startswith("application/vnd.kubernetes.protobuf"):
            return protobuf.decode(data)
        if raw.headers.get("Content-Type", "").startswith("application/apply-patch"):
            return data.decode()  # YAML (or JSON, which is YAML): parsed by the apply module
        try:
            return json.loads(data)
        except ValueError as exc:
            raise errors.bad_request(f"the body is not valid JSON: {exc}") from exc

    @staticmethod
    def _present(rt: ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
        # Objects are stored once per group/plural; serve them in the requested version.
        if obj.get("apiVersion") == rt.api_version:
            return obj
        return {**obj, "apiVersion": rt.api_version}

    def _select(
        self, raw: aiohttp.web.BaseRequest, rt: ResourceType, namespace: str | None, name: str | None = None
    ) -> list[dict[str, Any]]:
        labels = selectors.parse_label_selector(raw.query.get("labelSelector"))
        fields = selectors.parse_field_selector(raw.query.get("fieldSelector"))
        return [
            obj
            for obj in self.api.store.list_objects(rt, namespace)
            if (name is None or obj["metadata"]["name"] == name) and labels(obj) and fields(obj)
        ]

    def _respond_objects(
        self,
        raw: aiohttp.web.BaseRequest,
        rt: ResourceType,
        objects: list[dict[str, Any]],
        single: bool = False,
        list_meta: dict[str, Any] | None = None,
    ) -> aiohttp.web.Response:
        list_meta = list_meta or {"resourceVersion": str(self.api.store.resource_version)}
        presented = [self._present(rt, obj) for obj in objects]
        if tables.wants_table(raw.headers.get("Accept", "")):
            include = raw.query.get("includeObject", "Metadata")
            return _json(tables.table(rt, presented, list_meta, include))
        if single:
            return _json(presented[0])
        return _json(
            {
                "kind": f"{rt.kind}List",
                "apiVersion": rt.api_version,
                "metadata": list_meta,
                "items": presented,
            }
        )

    def _list(
        self, raw: aiohttp.web.BaseRequest, rt: ResourceType, namespace: str | None
    ) -> aiohttp.web.Response:
        selected = bool(raw.query.get("labelSelector") or raw.query.get("fieldSelector"))
        version = str(self.api.store.resource_version)
        page, meta = listing.paginate(self._select(raw, rt, namespace), raw.query, version, selected)
        return self._respond_objects(raw, rt, page, list_meta=meta)

    def _delete_collection(
        self,
        raw: aiohttp.web.BaseRequest,
        rt: ResourceType,
        namespace: str | None,
        body: Any,
        opts: WriteOptions,
    ) -> aiohttp.web.Response:
        deleted = []
        for obj in self._select(raw, rt, namespace):
            meta = obj["metadata"]
            deleted.append(self.api.delete(rt, meta.get("namespace"), meta["name"], body, opts)[0])
        return _json(
            {
                "kind": f"{rt.kind}List",
                "apiVersion": rt.api_version,
                "metadata": {"resourceVersion": str(self.api.store.resource_version)},
                "items": deleted,
            }
        )

    async def _watch(
        self, raw: aiohttp.web.BaseRequest, rt: ResourceType, namespace: str | None, name: str | None
    ) -> aiohttp.web.StreamResponse:
        # Validate selectors and the starting version before committing to a 200 stream.
        labels = selectors.parse_label_selector(raw.query.get("labelSelector"))
        fields = selectors.parse_field_selector(raw.query.get("fieldSelector"))
        as_table = tables.wants_table(raw.headers.get("Accept", ""))
        bus = self.api.store.buses[rt.storage_key]

        def matches(obj: dict[str, Any]) -> bool:
            meta = obj["metadata"]
            return (
                (namespace is None or meta.get("namespace") == namespace)
                and (name is None or meta["name"] == name)
                and labels(obj)
                and fields(obj)
            )

        requested = raw.query.get("resourceVersion", "")
        queue = bus.subscribe()
        try:
            expired: errors.ApiError | None = None
            if requested in ("", "0"):
                initial = [
                    ("ADDED", copy.deepcopy(o))
                    for o in self.api.store.list_objects(rt, namespace)
                    if matches(o)
                ]
            else:
                try:
                    replayed = [(e.as_seen_by(matches), e.object) for e in bus.replay_since(int(requested))]
                    initial = [(seen, obj) for seen, obj in replayed if seen is not None]
                except errors.ApiError as exc:
                    initial, expired = [], exc
            last_sent = self.api.store.resource_version
            response = aiohttp.web.StreamResponse(status=200, headers={"Content-Type": _JSON})
            response.enable_chunked_encoding()
            await response.prepare(raw)

            async def send(event_type: str, obj: dict[str, Any]) -> None:
                payload: dict[str, Any] = self._present(rt, obj)
                if as_table and event_type in ("ADDED", "MODIFIED", "DELETED"):
                    payload = tables.table(
                        rt, [payload], {"resourceVersion": obj["metadata"]["resourceVersion"]}
                    )
                await response.write(json.dumps({"type": event_type, "object": payload}).encode() + b"\n")

            if expired is not None:
                await response.write(
                    json.dumps({"type": "ERROR", "object": expired.to_status()}).encode() + b"\n"
                )
                return response
            for event_type, obj in initial:
                await send(event_type, obj)
            await self._stream(raw, rt, queue, matches, send, last_sent)
            return response
        except (ConnectionResetError, aiohttp.ClientConnectionResetError):
            raise asyncio.CancelledError() from None  # the client went away: nothing to answer
        finally:
            bus.unsubscribe(queue)

    async def _stream(
        self,
        raw: aiohttp.web.BaseRequest,
        rt: ResourceType,
        queue: asyncio.Queue[Any],
        matches: Any,
        send: Any,
        last_sent: int,
    ) -> None:
        loop = asyncio.get_running_loop()
        timeout = raw.query.get("timeoutSeconds")
        deadline = loop.time() + float(timeout) if timeout else None
        bookmarks = raw.query.get("allowWatchBookmarks") == "true"
        while not self._closing:
            # Wake up at least every 30 s: a bookmark (if allowed) also detects vanished clients.
            wait = 30.0 if deadline is None else min(30.0, deadline - loop.time())
            if wait <= 0:
                return
            try:
                event = await asyncio.wait_for(queue.get(), wait)
            except TimeoutError:
                if bookmarks and queue.empty():
                    bookmark = {
                        "kind": rt.kind,
                        "apiVersion": rt.api_version,
                        "metadata": {"resourceVersion": str(self.api.store.resource_version)},
                    }
                    await send("BOOKMARK", bookmark)
                continue
            if event is None:
                return
            seen = event.as_seen_by(matches)
            if event.resource_version <= last_sent or seen is None:
                continue
            await send(seen, event.object)
