"""A local HTTP server that records every request it receives (method, path, headers) and answers
each with one fixed response: what e2e tests point `spec.connection.url` at to see what the
operator sends, and a Qdrant lookalike whose every answer is an error."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server received it (header names lower-cased)."""

    method: str
    path: str
    headers: dict[str, str]


@dataclass
class Recorder:
    """What a running recorder saw, and what it answers."""

    host: str
    port: int
    status: int
    body: bytes
    requests: list[RecordedRequest] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        """The server's base URL, with the host as given (e.g. `localhost` or `127.0.0.1`)."""
        return f"http://{self.host}:{self.port}"

    def seen(self) -> list[RecordedRequest]:
        """A copy of every request received so far."""
        with self._lock:
            return list(self.requests)

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)


@contextmanager
def recording_server(
    status: int = 400,
    body: bytes = b'{"status":{"error":"recorder: not a Qdrant server"},"time":0.0}',
    host: str = "127.0.0.1",
) -> Iterator[Recorder]:
    """Serve on a free loopback port until the block ends; every request gets `status` and `body`.

    `host` is the name put in `Recorder.url` (the socket always listens on 127.0.0.1), so a test can
    name the same server `localhost` to keep it off an allow-list glob written for 127.0.0.1.
    """
    recorder: Recorder

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            recorder._record(
                RecordedRequest(self.command, self.path, {k.lower(): v for k, v in self.headers.items()})
            )
            self.send_response(recorder.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(recorder.body)))
            self.end_headers()
            self.wfile.write(recorder.body)

        do_GET = do_PUT = do_POST = do_PATCH = do_DELETE = _answer

        def log_message(self, format: str, *args: object) -> None:  # quiet
            del format, args

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    recorder = Recorder(host, server.server_address[1], status, body)
    thread = threading.Thread(target=server.serve_forever, name="recorder", daemon=True)
    thread.start()
    try:
        yield recorder
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
