"""The sandbox's own admin API (`/_sandbox/...`): request counters and fault injection.

Real Qdrant has no such API. Admin routes are neither counted nor faulted, and need no
API key: they are a test tool on a loopback port.
"""

from __future__ import annotations

import asyncio
import fnmatch
import json
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware
from pydantic import BaseModel, Field, model_validator

from qco.sandbox.qdrant.errors import error_response, ok

ADMIN_PREFIX = "/_sandbox/"


class FaultSpec(BaseModel):
    """A fault to inject: which requests, what happens, for how long."""

    route: str = Field(description="Regex (searched) or glob (whole path) matched against the request path.")
    method: str | None = Field(default=None, description="Only this HTTP method; any when left out.")
    kind: Literal["latency", "error", "drop"]
    latency_ms: int = Field(default=0, ge=0, description="Delay before answering (kind latency).")
    status: int = Field(default=503, ge=400, le=599, description="HTTP status answered (kind error).")
    calls: int | None = Field(default=None, ge=1, description="Affect this many matching calls, then expire.")
    seconds: float | None = Field(default=None, gt=0, description="Expire this many seconds after creation.")

    @model_validator(mode="after")
    def _route_is_valid(self) -> FaultSpec:
        try:
            re.compile(self.route)
        except re.error:
            if not any(ch in self.route for ch in "*?["):
                raise ValueError(f"route `{self.route}` is neither a regex nor a glob") from None
        return self


@dataclass
class ActiveFault:
    """A fault with its remaining budget."""

    spec: FaultSpec
    created: float = field(default_factory=time.monotonic)
    used: int = 0

    def expired(self) -> bool:
        """True once the call budget or the time budget is spent."""
        if self.spec.calls is not None and self.used >= self.spec.calls:
            return True
        return self.spec.seconds is not None and time.monotonic() - self.created >= self.spec.seconds

    def matches(self, method: str, path: str) -> bool:
        """True if the request is one this fault targets."""
        if self.spec.method is not None and self.spec.method.upper() != method.upper():
            return False
        if fnmatch.fnmatchcase(path, self.spec.route):
            return True
        try:
            return re.search(self.spec.route, path) is not None
        except re.error:
            return False


@dataclass
class AdminState:
    """Counters and faults of one server."""

    counts: Counter[tuple[str, str]] = field(default_factory=Counter)
    faults: list[ActiveFault] = field(default_factory=list)
    record_file: Path | None = None
    """When set, every answered API request is appended here as a JSON line (contract tests)."""

    def record(self, request: web.Request, response: web.StreamResponse) -> None:
        """Append one request/response pair to `record_file` (JSON bodies only)."""
        if self.record_file is None:
            return
        body = None
        if isinstance(response, web.Response) and response.content_type == "application/json":
            raw = response.body
            body = json.loads(raw) if isinstance(raw, bytes | bytearray) else None
        entry = {
            "method": request.method,
            "route": route_template(request),
            "path": request.path,
            "query": request.query_string,
            "status": response.status,
            "content_type": response.content_type,
            "body": body,
        }
        with self.record_file.open("a") as handle:
            handle.write(json.dumps(entry) + "\n")

    def take_fault(self, method: str, path: str) -> FaultSpec | None:
        """The first live fault matching the request, spending one call of its budget."""
        self.faults = [f for f in self.faults if not f.expired()]
        for fault in self.faults:
            if fault.matches(method, path):
                fault.used += 1
                return fault.spec
        return None


def route_template(request: web.Request) -> str:
    """The route template a request matched, e.g. `/collections/{collection_name}`."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "<unmatched>"


def admin_middleware(state: AdminState) -> Middleware:
    """Count requests per (method, route template) and apply injected faults."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith(ADMIN_PREFIX):
            response: web.StreamResponse = await handler(request)
            return response
        state.counts[(request.method, route_template(request))] += 1
        fault = state.take_fault(request.method, request.path)
        if fault is not None:
            if fault.kind == "latency":
                await asyncio.sleep(fault.latency_ms / 1000)
            elif fault.kind == "error":
                return error_response(fault.status, f"Service unavailable: injected fault ({fault.status})")
            else:
                # Close the connection without an answer, as a crashed or partitioned node would.
                if request.transport is not None:
                    request.transport.abort()
                raise ConnectionResetError("connection dropped by injected fault")
        response = await handler(request)
        state.record(request, response)
        return response

    return middleware


def add_admin_routes(app: web.Application, state: AdminState) -> None:
    """Register `/_sandbox/requests` and `/_sandbox/faults`."""

    async def get_requests(request: web.Request) -> web.Response:
        items = [
            {"method": method, "route": route, "count": count}
            for (method, route), count in sorted(state.counts.items())
        ]
        counts = {f"{method} {route}": count for (method, route), count in sorted(state.counts.items())}
        return ok({"requests": items, "counts": counts, "total": sum(state.counts.values())})

    async def reset_requests(request: web.Request) -> web.Response:
        state.counts.clear()
        return ok(True)

    async def put_fault(request: web.Request) -> web.Response:
        try:
            spec = FaultSpec.model_validate(await request.json())
        except ValueError as exc:
            return error_response(400, f"Format error in JSON body: {exc}")
        state.faults.append(ActiveFault(spec))
        return ok(spec)

    async def list_faults(request: web.Request) -> web.Response:
        state.faults = [f for f in state.faults if not f.expired()]
        return ok([{**f.spec.model_dump(), "used": f.used} for f in state.faults])

    async def clear_faults(request: web.Request) -> web.Response:
        state.faults.clear()
        return ok(True)

    app.router.add_get(ADMIN_PREFIX + "requests", get_requests)
    app.router.add_delete(ADMIN_PREFIX + "requests", reset_requests)
    app.router.add_put(ADMIN_PREFIX + "faults", put_fault)
    app.router.add_get(ADMIN_PREFIX + "faults", list_faults)
    app.router.add_delete(ADMIN_PREFIX + "faults", clear_faults)
