"""Operator runtime: what every handler shares (passed through kopf's `memo`), kopf's settings,
logging, and the `/metrics` endpoint."""

from __future__ import annotations

import asyncio
import logging
import os
import random
import socket
from dataclasses import dataclass, field

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
    # `kubectl describe` shows Events `From: qco` and which replica posted them (the pod's name is
    # its hostname; POD_NAME from the downward API wins when set).
    settings.posting.reporting_component = "qco"
    settings.posting.reporting_instance = os.environ.get("POD_NAME") or socket.gethostname()
    settings.posting.event_name_prefix = "qco-"
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


#: kopf's per-handler lines that say nothing a user acts on: demoted to DEBUG.
_ROUTINE_KOPF_LINES = (" succeeded.",)
#: A deletion waiting for Qdrant is a retry, not an error: kopf logs it at ERROR, qco at WARNING.
_WAITING_KOPF_LINES = ("deletion waits for Qdrant",)


class KopfLevels(logging.Filter):
    """Re-level kopf's own per-object lines: successes to DEBUG, deletions waiting to WARNING."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name != "kopf.objects":
            return True
        message = str(record.msg)
        if message.endswith(_ROUTINE_KOPF_LINES):
            _relevel(record, logging.DEBUG)
        elif record.levelno == logging.ERROR and any(part in message for part in _WAITING_KOPF_LINES):
            _relevel(record, logging.WARNING)
        return logging.getLogger().isEnabledFor(record.levelno)


def _relevel(record: logging.LogRecord, level: int) -> None:
    record.levelno, record.levelname = level, logging.getLevelName(level)


def configure_logging(settings: OperatorSettings) -> None:
    """Root logging per QCO_LOG_FORMAT and QCO_LOG_LEVEL, with kopf's own formatters: text lines
    prefixed `[namespace/name]`, or one JSON object per line with the object under `object`."""
    json_lines = settings.log_format == "json"
    kopf.configure(
        debug=settings.log_level == "DEBUG",
        log_format=kopf.LogFormat.JSON if json_lines else kopf.LogFormat.FULL,
        log_prefix=not json_lines,
        log_refkey="object",
    )
    root = logging.getLogger()
    for handler in root.handlers:
        handler.addFilter(KopfLevels())
    root.setLevel(settings.log_level)
    # httpx logs every request URL at INFO; keep it quiet.
    logging.getLogger("httpx").setLevel(logging.WARNING)
