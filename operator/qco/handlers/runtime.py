"""Operator runtime: what every handler shares (passed through kopf's `memo`), kopf's settings,
logging, and the `/metrics` endpoint."""

from __future__ import annotations

import asyncio
import json
import logging
import random
from dataclasses import dataclass, field
from typing import Any

import kopf
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from qco.api.common import GROUP
from qco.handlers.liveness import WatchHealth
from qco.reconcile.context import Context
from qco.settings import OperatorSettings

FINALIZER = f"{GROUP}/finalizer"


#: What a pass worked from: the generation and the steering annotations' values.
Seen = tuple[object, dict[str, str | None]]


@dataclass
class ObjectSlot:
    """One object's loop state: the lock its pass and its finalizer share, its wake-up, what the
    last pass worked from, and whether deletion has begun (no pass starts after that)."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    seen: Seen | None = None
    finalizing: bool = False


@dataclass
class Runtime:
    """Shared state of one operator process; handlers find it as `memo.runtime`."""

    ctx: Context
    slots: dict[str, ObjectSlot] = field(default_factory=dict)  # by uid, while a loop runs
    watch_health: WatchHealth = field(default_factory=WatchHealth)
    metrics_server: web.AppRunner | None = None
    metrics_url: str | None = None

    def __post_init__(self) -> None:
        self.ctx.wake = self.wake

    def wake(self, uid: str) -> None:
        """Run an object's next pass now (if its loop runs in this process)."""
        slot = self.slots.get(uid)
        if slot is not None:
            slot.wakeup.set()


def configure_kopf(settings: kopf.OperatorSettings, operator_settings: OperatorSettings) -> None:
    """kopf's own bookkeeping goes to `qco.dev/` annotations, never into status."""
    settings.persistence.finalizer = FINALIZER
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=GROUP)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=GROUP, key="last-handled-configuration"
    )
    # Only warnings from kopf itself become Events; qco posts its own Events for changes made.
    settings.posting.level = logging.WARNING
    settings.watching.server_timeout = 300
    settings.watching.client_timeout = 330
    if operator_settings.peering_name:
        settings.peering.name = operator_settings.peering_name
        settings.peering.mandatory = True
        # kopf pauses every operator that sees a live peer of equal priority: a random priority
        # per replica lets exactly one (the highest) run while the others stand by.
        settings.peering.priority = random.randint(1, 2**31 - 1)
    else:
        settings.peering.standalone = True


async def start_metrics_server(runtime: Runtime) -> None:
    """Serve `/metrics` on the configured port (kopf serves `/healthz` on the health port)."""
    app = web.Application()

    async def metrics(_: web.Request) -> web.Response:
        body = generate_latest(runtime.ctx.metrics.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    app.router.add_get("/metrics", metrics)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, runtime.ctx.settings.metrics_host, runtime.ctx.settings.metrics_port)
    await site.start()
    runtime.metrics_server = runner
    addresses = runner.addresses
    port = addresses[0][1] if addresses else runtime.ctx.settings.metrics_port
    runtime.metrics_url = f"http://127.0.0.1:{port}"


class JsonFormatter(logging.Formatter):
    """One JSON object per line: what log pipelines in clusters expect."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        k8s = getattr(record, "k8s_ref", None)
        if isinstance(k8s, dict):
            entry["object"] = {key: k8s.get(key) for key in ("namespace", "name", "uid")}
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry)


def configure_logging(settings: OperatorSettings) -> None:
    """Root logging per QCO_LOG_FORMAT and QCO_LOG_LEVEL."""
    handler = logging.StreamHandler()
    if settings.log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level)
    # httpx logs every request URL at INFO; keep it quiet.
    logging.getLogger("httpx").setLevel(logging.WARNING)
