"""A fault proxy in front of the test S3 server (moto has no fault hooks in server mode): it forwards
every request and, while a rule matches, answers 500 instead, or holds the request first.

    proxy = S3FaultProxy(s3.url).start()
    proxy.fail("PUT", query="partNumber=2", calls=10)   # the 2nd part of every upload, 10 times
    proxy.hold("PUT", query="partNumber=", seconds=30)  # hold part uploads (then forward them)
    ... endpoint=proxy.url ...
    proxy.clear(); proxy.stop()

`proxy.count(method, query)` counts the requests seen (answered or failed), per rule checks.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "host", "content-length", "expect"}
ERROR_BODY = (
    b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>InternalError</Code>'
    b"<Message>injected by the fault proxy</Message></Error>"
)


@dataclass
class Rule:
    """Requests matching method and a query substring: fail them (status) or hold them (seconds)."""

    method: str
    query: str
    calls: int
    status: int = 500
    seconds: float = 0.0
    skip: int = 0  # let this many matching requests through first


@dataclass
class S3FaultProxy:
    """The proxy; `url` is what the code under test uses as its S3 endpoint."""

    upstream: str
    rules: list[Rule] = field(default_factory=list)
    seen: list[tuple[str, str, int]] = field(default_factory=list)  # method, path?query, status
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> S3FaultProxy:
        """Listen on a free loopback port, in a thread."""
        proxy = self
        client = httpx.Client(base_url=self.upstream, timeout=120)

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                del format, args

            def _body(self) -> bytes:
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    chunks = []
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                        if size == 0:
                            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                                pass
                            return b"".join(chunks)
                        chunks.append(self.rfile.read(size))
                        self.rfile.readline()
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def _handle(self) -> None:
                body = self._body()
                rule = proxy._match(self.command, self.path)
                if rule is not None and rule.seconds:
                    time.sleep(rule.seconds)
                if rule is not None and not rule.seconds:
                    proxy._record(self.command, self.path, rule.status)
                    self.send_response(rule.status)
                    self.send_header("Content-Type", "application/xml")
                    self.send_header("Content-Length", str(len(ERROR_BODY)))
                    self.end_headers()
                    self.wfile.write(ERROR_BODY)
                    return
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_HEADERS}
                answer = client.request(self.command, self.path, content=body, headers=headers)
                proxy._record(self.command, self.path, answer.status_code)
                self.send_response(answer.status_code)
                for key, value in answer.headers.items():
                    if key.lower() not in HOP_HEADERS and key.lower() != "content-encoding":
                        self.send_header(key, value)
                length = answer.headers.get("Content-Length") if self.command == "HEAD" else None
                self.send_header("Content-Length", length or str(len(answer.content)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(answer.content)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop listening."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def fail(self, method: str, query: str, calls: int, status: int = 500, skip: int = 0) -> None:
        """Answer `status` to the next `calls` requests matching (after `skip` pass through)."""
        with self._lock:
            self.rules.append(Rule(method, query, calls, status=status, skip=skip))

    def hold(self, method: str, query: str, seconds: float, calls: int = 1000) -> None:
        """Hold matching requests for `seconds` before forwarding them."""
        with self._lock:
            self.rules.append(Rule(method, query, calls, seconds=seconds))

    def clear(self) -> None:
        """No more faults."""
        with self._lock:
            self.rules.clear()

    def count(self, method: str, query: str, status: int | None = None) -> int:
        """Requests seen whose method and path?query match (and status, when given)."""
        with self._lock:
            return sum(
                1 for m, p, s in self.seen if m == method and query in p and (status is None or s == status)
            )

    def _match(self, method: str, path: str) -> Rule | None:
        with self._lock:
            for rule in self.rules:
                if rule.method != method or rule.query not in path or rule.calls <= 0:
                    continue
                if rule.skip > 0:
                    rule.skip -= 1
                    return None
                rule.calls -= 1
                return rule
            return None

    def _record(self, method: str, path: str, status: int) -> None:
        with self._lock:
            self.seen.append((method, path, status))
