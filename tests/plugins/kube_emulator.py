"""Fixtures and helpers to test against the Kubernetes API emulator (`qco.sandbox.kube`).

- `kube_emulator` (fixture): a fresh emulator per test, served in a background thread with its
  own event loop (not a subprocess: starting takes milliseconds, and tests can inspect
  `handle.emulator.store` directly). Yields a `KubeEmulatorHandle` with `.url`, `.kubeconfig`,
  `.kubectl(...)` and `.apply_crds(...)`.
- `run_kopf_operator(kubeconfig, ...)` (context manager): runs a kopf operator in its own thread
  and event loop against the emulator, and stops it on exit. Its own loop matters: in the
  emulator's loop, kopf's shutdown treats the emulator's tasks as its own and waits 5 s.

Example (an end-to-end test)::

    def test_something(kube_emulator):
        kube_emulator.apply_crds(["crds/"])
        with run_kopf_operator(kube_emulator.kubeconfig, module="qco.handlers", namespaces=["default"]):
            kube_emulator.kubectl("apply", "-f", "examples/collection.yaml")
            kube_emulator.kubectl("wait", "--for=condition=Ready", "qc/docs", "--timeout=60s")
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import kopf
import pytest
import yaml

from qco.sandbox.kube import KubeEmulator, KubeSandbox

KUBECTL = "/usr/bin/kubectl"


class KubectlError(subprocess.CalledProcessError):
    """A failed kubectl call; its message carries kubectl's stderr for readable test failures."""

    def __str__(self) -> str:
        return f"{super().__str__()}\nstdout: {self.stdout}\nstderr: {self.stderr}"


class KubeEmulatorThread:
    """The emulator served from a daemon thread with its own event loop."""

    def __init__(self, sandbox: KubeSandbox) -> None:
        self.sandbox = sandbox
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopped: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="kube-emulator", daemon=True)

    def _run(self) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._stopped = asyncio.Event()
            await self.sandbox.start()
            self._ready.set()
            try:
                await self._stopped.wait()
            finally:
                await self.sandbox.stop()

        try:
            asyncio.run(main())
        except BaseException as exc:  # reported to the test thread by start()/stop()
            self._error = exc
            self._ready.set()

    def start(self) -> None:
        """Start serving; returns once the port accepts requests."""
        self._thread.start()
        self._ready.wait(30)
        if self._error is not None:
            raise RuntimeError("the Kubernetes emulator failed to start") from self._error

    def stop(self) -> None:
        """Stop serving and wait for the thread to finish."""
        if self._loop is not None and self._stopped is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stopped.set)
        self._thread.join(30)


class KubeEmulatorHandle:
    """What the `kube_emulator` fixture yields: the URL, a kubeconfig and kubectl helpers."""

    def __init__(self, sandbox: KubeSandbox, kubeconfig: Path, cache_dir: Path) -> None:
        self.sandbox = sandbox
        #: The server URL (plain HTTP, no authentication).
        self.url = sandbox.url
        #: Path of a kubeconfig for kubectl, kopf and the `kubernetes` client (context `qco-sandbox`).
        self.kubeconfig = kubeconfig
        self._cache_dir = cache_dir

    @property
    def emulator(self) -> KubeEmulator:
        """The emulator itself, e.g. `handle.emulator.store` for white-box assertions."""
        return self.sandbox.emulator

    def wait_for_watchers(self, group: str, plural: str, count: int = 1, timeout: float = 30) -> None:
        """Block until `count` watches are open on a resource (e.g. a background `kubectl wait`)."""
        bus = self.emulator.store.buses[(group, plural)]
        deadline = time.monotonic() + timeout
        while bus.watchers < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"no watch on {plural}.{group} after {timeout}s")
            time.sleep(0.02)

    def kubectl(
        self, *args: str, input: str | None = None, check: bool = True, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        """Run `/usr/bin/kubectl --kubeconfig ... ARGS` and return the completed process (text mode).

        A per-emulator `--cache-dir` keeps kubectl's discovery cache from leaking between tests.
        With `check=True` (default) a non-zero exit raises `KubectlError` showing stderr.
        """
        command = [KUBECTL, "--kubeconfig", str(self.kubeconfig), "--cache-dir", str(self._cache_dir), *args]
        result = subprocess.run(command, input=input, capture_output=True, text=True, timeout=timeout)
        if check and result.returncode != 0:
            raise KubectlError(result.returncode, command, result.stdout, result.stderr)
        return result

    def apply_crds(self, paths: Iterable[str | Path] | str | Path) -> None:
        """`kubectl apply -f` each CRD file or folder, then wait until every CRD is Established."""
        if isinstance(paths, str | Path):
            paths = [paths]
        for path in paths:
            self.kubectl("apply", "-f", str(path))
        self.kubectl("wait", "--for=condition=Established", "crd", "--all", "--timeout=30s")


@pytest.fixture
def kube_emulator(tmp_path: Path) -> Iterator[KubeEmulatorHandle]:
    """A fresh Kubernetes API emulator for one test (see the module docstring)."""
    runner = KubeEmulatorThread(KubeSandbox("127.0.0.1", 0))
    runner.start()
    try:
        kubeconfig = runner.sandbox.write_kubeconfig(tmp_path / "kubeconfig")
        yield KubeEmulatorHandle(runner.sandbox, kubeconfig, tmp_path / "kubectl-cache")
    finally:
        runner.stop()


def _server_of(kubeconfig: str | Path) -> str:
    config = yaml.safe_load(Path(kubeconfig).read_text())
    current = config.get("current-context")
    context = next(c["context"] for c in config["contexts"] if c["name"] == current)
    return str(next(c["cluster"]["server"] for c in config["clusters"] if c["name"] == context["cluster"]))


# The server each registry's login handler points at: one handler per registry, re-aimed per test
# (registering a new handler per test would leave kopf trying the servers of finished tests).
_LOGIN_SERVERS: dict[int, str] = {}


def _point_login_at(registry: kopf.OperatorRegistry, server: str) -> None:
    key = id(registry)
    first_time = key not in _LOGIN_SERVERS
    _LOGIN_SERVERS[key] = server
    if first_time:

        def login_to_emulator(**_: Any) -> kopf.ConnectionInfo:
            return kopf.ConnectionInfo(server=_LOGIN_SERVERS[key], default_namespace="default", priority=1000)

        kopf.on.login(registry=registry, id="login-to-kube-emulator")(login_to_emulator)


@contextlib.contextmanager
def run_kopf_operator(
    kubeconfig: str | Path,
    module: str | None = None,
    registry: kopf.OperatorRegistry | None = None,
    namespaces: Iterable[str] = ("default",),
    *,
    clusterwide: bool = False,
    settings: Callable[[kopf.OperatorSettings], None] | None = None,
    memo: Any = None,
    startup_timeout: float = 30,
) -> Iterator[threading.Thread]:
    """Run a kopf operator against the emulator in its own thread and event loop.

    `module` (e.g. "qco.handlers") is imported so that its handlers register in kopf's default
    registry; or pass an explicit `registry`. A login handler pointing at the kubeconfig's server
    is added to that registry. `settings` may adjust `kopf.OperatorSettings` (e.g. shorter
    timeouts); `memo` is passed to kopf. On exit, the operator is stopped via its stop flag and
    the thread joined; an operator that crashed makes the `with` block fail.
    """
    if module is not None:
        importlib.import_module(module)
    registry = registry if registry is not None else kopf.get_default_registry()
    server = _server_of(kubeconfig)

    _point_login_at(registry, server)
    operator_settings = kopf.OperatorSettings()
    operator_settings.watching.server_timeout = 60  # watches end and restart as on a real cluster
    operator_settings.networking.connect_timeout = 5
    if settings is not None:
        settings(operator_settings)

    stop_flag, ready_flag = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def run() -> None:
        try:
            asyncio.run(
                kopf.operator(
                    registry=registry,
                    settings=operator_settings,
                    namespaces=list(namespaces),
                    clusterwide=clusterwide,
                    standalone=True,
                    stop_flag=stop_flag,
                    ready_flag=ready_flag,
                    memo=memo,
                )
            )
        except BaseException as exc:
            errors.append(exc)
            ready_flag.set()

    thread = threading.Thread(target=run, name="kopf-operator", daemon=True)
    thread.start()
    if not ready_flag.wait(startup_timeout) or errors:
        stop_flag.set()
        thread.join(30)
        raise RuntimeError("the kopf operator did not start") from (errors[0] if errors else None)
    try:
        yield thread
    finally:
        stop_flag.set()
        thread.join(60)
        if errors:
            raise RuntimeError("the kopf operator failed") from errors[0]
