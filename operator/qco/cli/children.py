"""Child processes of `qco sandbox`: started, awaited until they announce readiness, stopped cleanly."""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO


class ChildFailed(RuntimeError):
    """A child process exited or stayed silent before it announced that it was ready."""


@dataclass
class Child:
    """One child process whose stdout's first matching line says it is ready (e.g. `qdrant: URL`)."""

    name: str
    argv: Sequence[str]
    env: Mapping[str, str] | None = None
    process: subprocess.Popen[str] | None = field(default=None, init=False)

    def start(self, ready_prefix: str, timeout: float) -> str:
        """Start the process and return what follows `ready_prefix` on its first such stdout line."""
        self.process = self._spawn(subprocess.PIPE)
        assert self.process.stdout is not None
        value = _read_ready_line(self.process, self.process.stdout, ready_prefix, timeout, self.name)
        # Keep draining stdout so a chatty child never blocks on a full pipe.
        threading.Thread(target=_echo_rest, args=(self.process.stdout,), daemon=True).start()
        return value

    def start_quiet(self) -> None:
        """Start a process that announces nothing; its output goes to our stderr."""
        self.process = self._spawn(sys.stderr)

    def _spawn(self, stdout: int | IO[str]) -> subprocess.Popen[str]:
        # Its own session: a Ctrl-C in the terminal reaches us, and we stop children in order.
        env = {**os.environ, **(self.env or {})}
        return subprocess.Popen(list(self.argv), stdout=stdout, env=env, start_new_session=True, text=True)

    def alive(self) -> bool:
        """True while the process runs."""
        return self.process is not None and self.process.poll() is None

    def stop(self, grace: float = 15.0) -> int | None:
        """Ask the process to stop (SIGTERM), wait `grace` seconds, then kill it; return its exit code."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(grace)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        return self.process.returncode


def python_module(module: str, *args: str) -> list[str]:
    """argv for running a module of this package with the current interpreter."""
    return [sys.executable, "-m", module, *args]


def _read_ready_line(
    process: subprocess.Popen[str], stream: IO[str], prefix: str, timeout: float, name: str
) -> str:
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as selector:
        selector.register(stream, selectors.EVENT_READ)
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ChildFailed(f"{name} did not become ready within {timeout:.0f}s")
            if not selector.select(remaining):
                continue
            line = stream.readline()
            if not line:
                code = process.wait()
                raise ChildFailed(f"{name} exited with code {code} before it was ready")
            if line.startswith(prefix):
                return line[len(prefix) :].strip()
            sys.stderr.write(f"[{name}] {line}")


def _echo_rest(stream: IO[str]) -> None:
    for line in stream:
        sys.stderr.write(line)
