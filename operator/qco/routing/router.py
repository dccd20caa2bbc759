"""`Router`: the client helper that applies a CanaryRollout's split inside an application.

It watches the routing ConfigMap through the Kubernetes API (a mounted file lags 60-90 s),
picks a collection per request from a salted hash of a user key, counts requests, latency and
errors per variant (prometheus-client), and confirms each generation it applied by patching
`qco.dev/applied.<client-id>` on the ConfigMap.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes import watch as k8s_watch
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram

from qco.routing.table import APPLIED_PREFIX, ROUTING_KEY, RoutingError, RoutingTable

logger = logging.getLogger("qco.routing")

#: Seconds between attempts after the API server failed a read or a watch.
RETRY_SECONDS = 1.0
#: Seconds a watch stays open before it is renewed (the API server ends it anyway).
WATCH_SECONDS = 300


def default_client_id() -> str:
    """The pod's name (HOSTNAME) plus the process id: unique per replica and per worker."""
    return f"{os.environ.get('HOSTNAME') or socket.gethostname()}-{os.getpid()}"[:50]


def _api_client() -> k8s.ApiClient:
    try:
        k8s_config.load_incluster_config()  # type: ignore[no-untyped-call]
        return k8s.ApiClient()
    except k8s_config.ConfigException:
        configuration = k8s.Configuration()
        k8s_config.load_kube_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
        return k8s.ApiClient(configuration)


class Router:
    """Routes requests between the collections a CanaryRollout publishes in `configmap`.

    `fallback` serves every key until the first table arrives (typically the alias). Call
    `start()` (or use the Router as a context manager) to begin watching; `close()` stops it.
    """

    def __init__(
        self,
        configmap: str,
        namespace: str,
        *,
        client_id: str | None = None,
        fallback: str | None = None,
        api_client: k8s.ApiClient | None = None,
        registry: CollectorRegistry | None = None,
        confirm: bool = True,
    ) -> None:
        self.configmap = configmap
        self.namespace = namespace
        self.client_id = client_id or default_client_id()
        self.fallback = fallback
        self.confirm = confirm
        self._api = api_client
        self._table: RoutingTable | None = None
        self._changed = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._watch: k8s_watch.Watch | None = None
        registry = registry if registry is not None else REGISTRY
        labels = ["configmap", "variant"]
        self.requests = Counter("qco_routing_requests", "Requests per variant.", labels, registry=registry)
        self.errors = Counter("qco_routing_errors", "Failed requests per variant.", labels, registry=registry)
        self.latency = Histogram(
            "qco_routing_request_duration_seconds", "Request latency per variant.", labels, registry=registry
        )
        #: Called with each table after it is applied (before the confirmation is sent).
        self.on_change: Callable[[RoutingTable], None] | None = None

    # -- routing ---------------------------------------------------------------------------
    @property
    def table(self) -> RoutingTable | None:
        """The table in force, or None before the first one arrived."""
        return self._table

    @property
    def generation(self) -> int | None:
        """The generation in force."""
        return self._table.generation if self._table else None

    def pick(self, user_key: str) -> str:
        """The collection this user's request goes to."""
        table = self._table
        if table is None:
            if self.fallback is None:
                raise RoutingError(f"no routing table yet from ConfigMap {self.namespace}/{self.configmap}")
            return self.fallback
        return table.pick(user_key)

    @contextlib.contextmanager
    def measure(self, variant: str) -> Iterator[None]:
        """Count one request to `variant`, its latency, and an error when the block raises."""
        started = time.perf_counter()
        try:
            yield
        except BaseException:
            self.errors.labels(self.configmap, variant).inc()
            raise
        finally:
            self.requests.labels(self.configmap, variant).inc()
            self.latency.labels(self.configmap, variant).observe(time.perf_counter() - started)

    def apply(self, table: RoutingTable) -> None:
        """Put `table` in force (the watch does this; tests and static set-ups may too)."""
        for variant in table.weights:
            # Series exist at zero from the first table on, so `errors / requests` is 0, not "no data".
            self.requests.labels(self.configmap, variant)
            self.errors.labels(self.configmap, variant)
            self.latency.labels(self.configmap, variant)
        with self._changed:
            self._table = table
            self._changed.notify_all()
        if self.on_change is not None:
            self.on_change(table)

    def wait_for_generation(self, generation: int, timeout: float) -> bool:
        """Block until a table of at least `generation` is in force; False on timeout."""
        with self._changed:
            return self._changed.wait_for(
                lambda: self._table is not None and self._table.generation >= generation, timeout
            )

    # -- watching --------------------------------------------------------------------------
    def start(self) -> Router:
        """Start the watch thread (idempotent)."""
        if self._thread is None:
            if self._api is None:
                self._api = _api_client()
            self._thread = threading.Thread(
                target=self._run, name=f"qco-router-{self.configmap}", daemon=True
            )
            self._thread.start()
        return self

    def close(self) -> None:
        """Stop watching."""
        self._stop.set()
        if self._watch is not None:
            self._watch.stop()  # type: ignore[no-untyped-call]
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> Router:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.close()

    def _run(self) -> None:
        core = k8s.CoreV1Api(self._api)
        selector = f"metadata.name={self.configmap}"
        while not self._stop.is_set():
            try:
                listing: Any = core.list_namespaced_config_map(self.namespace, field_selector=selector)
                for item in listing.items:
                    self._receive(item)
                self._watch = k8s_watch.Watch()  # type: ignore[no-untyped-call]
                for event in self._watch.stream(  # type: ignore[no-untyped-call]
                    core.list_namespaced_config_map,
                    self.namespace,
                    field_selector=selector,
                    resource_version=listing.metadata.resource_version,
                    timeout_seconds=WATCH_SECONDS,
                ):
                    if self._stop.is_set():
                        break
                    if event["type"] in ("ADDED", "MODIFIED"):
                        self._receive(event["object"])
            except Exception as exc:  # the API server restarts, a watch expires (410): list again
                if not self._stop.is_set():
                    logger.warning("routing ConfigMap %s/%s: %s", self.namespace, self.configmap, exc)
                    self._stop.wait(RETRY_SECONDS)

    def _receive(self, configmap: Any) -> None:
        text = (configmap.data or {}).get(ROUTING_KEY)
        if text is None:
            return
        try:
            table = RoutingTable.from_json(text)
        except RoutingError as exc:
            logger.warning("ignoring ConfigMap %s/%s: %s", self.namespace, self.configmap, exc)
            return
        current = self._table
        if current is None or table != current:
            self.apply(table)
        annotations = (configmap.metadata.annotations or {}) if configmap.metadata else {}
        if self.confirm and annotations.get(self.annotation) != str(table.generation):
            self._confirm(table.generation)

    @property
    def annotation(self) -> str:
        """The annotation this client confirms with."""
        return f"{APPLIED_PREFIX}{self.client_id}"

    def _confirm(self, generation: int) -> None:
        core = k8s.CoreV1Api(self._api)
        body = {"metadata": {"annotations": {self.annotation: str(generation)}}}
        try:
            core.patch_namespaced_config_map(self.configmap, self.namespace, body)
        except Exception as exc:  # confirmed again on the next event or re-list
            logger.warning("could not confirm generation %s: %s", generation, exc)
