"""An S3 server for tests: moto in server mode as a subprocess on a free loopback port.

    from tests.plugins.s3_server import s3_fixture

    s3 = s3_fixture("my-bucket")  # a module-scoped fixture `s3`: one server, the bucket made

or, where a fixture starts more around it, `with running_s3("my-bucket") as server: ...`.
`server.client()` is a plain boto3 client on it (dummy credentials: moto accepts any).
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3
import httpx
import pytest
from botocore.config import Config

ACCESS_KEY = "qco-test-access"
SECRET_KEY = "qco-test-secret"
REGION = "us-east-1"


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class S3Server:
    """A running moto server."""

    process: subprocess.Popen[bytes]
    url: str

    def client(self) -> Any:
        """A boto3 S3 client on this server."""
        return boto3.session.Session().client(
            "s3",
            endpoint_url=self.url,
            region_name=REGION,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            config=Config(s3={"addressing_style": "path"}),
        )

    def create_bucket(self, name: str) -> None:
        """Create a bucket."""
        self.client().create_bucket(Bucket=name)

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        """Every key under `prefix`, sorted."""
        answer = self.client().list_objects_v2(Bucket=bucket, Prefix=prefix)
        return sorted(item["Key"] for item in answer.get("Contents") or [])

    def open_uploads(self, bucket: str) -> list[str]:
        """Keys of unfinished multipart uploads."""
        answer = self.client().list_multipart_uploads(Bucket=bucket)
        return sorted(u["Key"] for u in answer.get("Uploads") or [])

    def stop(self) -> None:
        """Stop the server."""
        self.process.terminate()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_s3_server() -> S3Server:
    """Start `moto_server` on a free loopback port and wait until it answers."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("moto server exited at start")
        try:
            httpx.get(url + "/moto-api/", timeout=1)
            return S3Server(process, url)
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("moto server did not start within 60 s")


@contextmanager
def running_s3(bucket: str) -> Iterator[S3Server]:
    """A moto server with `bucket` created, stopped on leaving the block."""
    server = start_s3_server()
    try:
        server.create_bucket(bucket)
        yield server
    finally:
        server.stop()


def s3_fixture(bucket: str) -> Callable[[], Iterator[S3Server]]:
    """A module-scoped fixture named `s3`: a moto server with `bucket`, shared by the module's tests.

    Assign it in the test module (`s3 = s3_fixture(BUCKET)`); pytest registers it by that name."""

    def s3() -> Iterator[S3Server]:
        with running_s3(bucket) as server:
            yield server

    return pytest.fixture(scope="module", name="s3")(s3)
