"""A small search application that routes through `qco.routing` (the canary examples' client).

It watches a CanaryRollout's routing ConfigMap, picks a collection per user with the salted hash,
queries Qdrant, and exposes the per-variant counters on /metrics for Prometheus:

    KUBECONFIG=... python examples/canary/demo_app.py --configmap docs-routing --namespace default \
        --qdrant-url http://127.0.0.1:6333 --fallback docs --port 8000 --load 20

    GET /search?user=alice        -> {"collection": "docs_v2", "hits": [...]}
    GET /metrics                  -> qco_routing_requests_total{configmap,variant}, errors, latency

`--load N` sends N synthetic searches a second from random users (a stand-in for real traffic).
In a cluster it runs with a ServiceAccount that may get/list/watch/patch that ConfigMap.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import signal
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from qdrant_client import QdrantClient

from qco.routing import Router


class DemoApp:
    """The router, a Qdrant client, and a search that goes through both."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.registry = CollectorRegistry()
        self.router = Router(
            args.configmap,
            args.namespace,
            client_id=args.client_id,
            fallback=args.fallback,
            registry=self.registry,
        )
        self.qdrant = QdrantClient(url=args.qdrant_url, timeout=10, check_compatibility=False)
        self.dim = args.dim
        self.stop = threading.Event()

    def search(self, user: str) -> dict[str, Any]:
        """One user's search on the collection the split gives them (errors are counted, then raised)."""
        collection = self.router.pick(user)
        vector = [random.random() for _ in range(self.dim)]
        with self.router.measure(collection):
            hits = self.qdrant.query_points(collection, query=vector, limit=5, with_payload=False).points
        return {"collection": collection, "hits": [str(h.id) for h in hits]}

    def load(self, per_second: float) -> None:
        """Synthetic traffic from random users until stopped."""
        while not self.stop.wait(1.0 / per_second):
            with contextlib.suppress(Exception):  # counted by router.measure; traffic goes on
                self.search(f"user-{random.randrange(1_000_000)}")


def handler_for(app: DemoApp) -> type[BaseHTTPRequestHandler]:
    """HTTP handler: /search and /metrics."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlparse(self.path)
            if url.path == "/metrics":
                self._send(200, generate_latest(app.registry), CONTENT_TYPE_LATEST)
            elif url.path == "/search":
                user = parse_qs(url.query).get("user", ["anonymous"])[0]
                try:
                    body, code = app.search(user), 200
                except Exception as exc:
                    body, code = {"error": f"{type(exc).__name__}: {exc}"[:500]}, 502
                self._send(code, json.dumps(body).encode(), "application/json")
            else:
                self._send(404, b"not found\n", "text/plain")

        def _send(self, code: int, body: bytes, content_type: str) -> None:
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            del format, args  # Prometheus scrapes every second: keep stderr quiet

    return Handler


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, start the router, the load and the HTTP server; stop on SIGTERM/SIGINT."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--configmap", required=True, help="The rollout's spec.routing.configMap.")
    parser.add_argument("--namespace", default="default")
    parser.add_argument("--qdrant-url", default="http://127.0.0.1:6333")
    parser.add_argument("--fallback", help="Collection or alias used before the first table arrives.")
    parser.add_argument("--client-id", help="Confirmation id (default: host name and pid).")
    parser.add_argument("--port", type=int, default=8000, help="HTTP port (0: a free one).")
    parser.add_argument("--dim", type=int, default=4, help="Query vector size.")
    parser.add_argument("--load", type=float, default=0.0, help="Synthetic searches per second.")
    args = parser.parse_args(argv)

    app = DemoApp(args)
    app.router.start()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), handler_for(app))
    print(f"demo-app: http://127.0.0.1:{server.server_address[1]}", flush=True)
    workers = [threading.Thread(target=app.load, args=(args.load,), daemon=True)] if args.load else []
    for worker in workers:
        worker.start()

    def shutdown(*_: object) -> None:
        app.stop.set()
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    server.serve_forever(poll_interval=0.2)
    app.router.close()
    app.qdrant.close()


if __name__ == "__main__":
    main()
