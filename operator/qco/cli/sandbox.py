"""`qco sandbox`: Qdrant stand-in + Kubernetes emulator (+ the operator) as one process tree.

Each part runs in its own child process: Qdrant's engine holds the GIL during index
work, and kopf must not share an event loop with the emulator it talks to.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from qco.api.crdgen import generated_files
from qco.cli.children import Child, ChildFailed, python_module

STARTUP_TIMEOUT = 60.0
WAIT_POLL_SECONDS = 0.5
# What the `sandbox` extra brings: the stand-ins' own code is left out of the container image.
SANDBOX_MODULES = ("qco.sandbox", "qdrant_edge", "kmock")
#: What `--s3` makes: a bucket, and a Secret with the (dummy) keys, labelled so qco may read it.
S3_BUCKET = "qco-backups"
S3_SECRET = "sandbox-s3"
MISSING_S3 = (
    "qco sandbox --s3: moto's S3 server is not installed;"
    " install it with: pip install 'qdrant-collection-operator[sandbox-s3]'"
)
MISSING_EXTRA = (
    "qco sandbox: the sandbox is not installed (missing: {missing}); "
    "install it with: pip install 'qdrant-collection-operator[sandbox]'"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the sandbox options."""
    parser.add_argument(
        "--data", type=Path, help="Keep Qdrant's data and the kubeconfig here (default: a temp dir)."
    )
    parser.add_argument(
        "--qdrant-port", type=int, default=6333, help="Qdrant REST port (0 picks a free port)."
    )
    parser.add_argument("--kube-port", type=int, default=0, help="Kubernetes API port (0 picks a free port).")
    parser.add_argument("--api-key", help="Require this API key on Qdrant requests.")
    parser.add_argument("--no-operator", action="store_true", help="Do not start the qco operator.")
    parser.add_argument(
        "--embeddings",
        type=int,
        nargs="?",
        const=8088,
        metavar="PORT",
        help="Also serve an OpenAI-compatible /v1/embeddings (tokenlearn-static-model, 64 dimensions)"
        " on PORT (default 8088; 0 picks a free port).",
    )
    parser.add_argument(
        "--s3",
        type=int,
        nargs="?",
        const=9000,
        metavar="PORT",
        help=f"Also serve S3 (moto, in memory) on PORT (default 9000; 0 picks a free port) with the bucket"
        f" {S3_BUCKET} and a Secret default/{S3_SECRET} holding its keys, for BackupSchedule demos."
        " Needs the sandbox-s3 extra.",
    )
    parser.add_argument(
        "--apply",
        action="append",
        default=[],
        type=Path,
        metavar="PATH",
        help="Apply these manifests (repeatable).",
    )
    parser.add_argument(
        "--wait", action="store_true", help="Wait until applied objects are Ready, print them, exit."
    )
    parser.add_argument(
        "--timeout", type=float, default=300.0, help="Seconds to wait with --wait (default 300)."
    )


def run(args: argparse.Namespace) -> int:
    """Start everything, print the connection lines, then serve or wait."""
    missing = missing_sandbox_modules()
    if missing:
        print(MISSING_EXTRA.format(missing=", ".join(missing)), file=sys.stderr)
        return 2
    if args.s3 is not None and importlib.util.find_spec("moto") is None:
        print(MISSING_S3, file=sys.stderr)
        return 2
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    try:
        with _data_dir(args.data) as data:
            return _run_in(data, args, stop)
    except ChildFailed as exc:
        print(f"qco sandbox: {exc}", file=sys.stderr)
        return 1


def missing_sandbox_modules() -> list[str]:
    """The modules of the `sandbox` extra that cannot be imported here (none when it is installed)."""
    missing = []
    for name in SANDBOX_MODULES:
        try:
            found = importlib.util.find_spec(name) is not None
        except ImportError:  # a parent package is missing, or an import hook refuses the name
            found = False
        if not found:
            missing.append(name)
    return missing


def _run_in(data: Path, args: argparse.Namespace, stop: threading.Event) -> int:
    children: list[Child] = []
    try:
        qdrant_argv = python_module(
            "qco.sandbox.qdrant", "--data", str(data / "qdrant"), "--port", str(args.qdrant_port)
        )
        # The key goes to the child in its environment, not its argv (visible to `ps`).
        qdrant_env = {"QDRANT__SERVICE__API_KEY": args.api_key or ""}
        qdrant = Child("qdrant", qdrant_argv, env=qdrant_env)
        children.append(qdrant)
        qdrant_url = qdrant.start("qdrant:", STARTUP_TIMEOUT)
        print(f"qdrant: {qdrant_url}", flush=True)

        kubeconfig = data / "kubeconfig"
        kube = Child(
            "kube",
            python_module("qco.sandbox.kube", "--port", str(args.kube_port), "--kubeconfig", str(kubeconfig)),
        )
        children.append(kube)
        kube.start("kubeconfig:", STARTUP_TIMEOUT)
        print(f"kubeconfig: {kubeconfig}", flush=True)
        if args.embeddings is not None:
            embeddings = Child(
                "embeddings", python_module("qco.sandbox.embeddings", "--port", str(args.embeddings))
            )
            children.append(embeddings)
            print(f"embeddings: {embeddings.start('embeddings:', STARTUP_TIMEOUT)}", flush=True)

        crd_dir = _write_crds(data / "crds")
        code = _apply(kubeconfig, [crd_dir])
        if code:
            return code
        if args.s3 is not None:
            s3 = Child("s3", python_module("qco.sandbox.s3", "--port", str(args.s3), "--bucket", S3_BUCKET))
            children.append(s3)
            print(f"s3: {s3.start('s3:', STARTUP_TIMEOUT)}", flush=True)
            code = _apply(kubeconfig, [_write_s3_secret(data)])
            if code:
                return code
        if not args.no_operator:
            operator = Child(
                "operator", python_module("qco", "run"), env=_operator_env(data, kubeconfig, qdrant_url, args)
            )
            children.append(operator)
            operator.start_quiet()
        if args.apply:
            code = _apply(kubeconfig, args.apply)
            if code:
                return code
        if args.wait:
            return _wait_ready(kubeconfig, args.apply, args.timeout, stop)
        while not stop.wait(0.5):
            dead = [child.name for child in children if not child.alive()]
            if dead:
                print(f"qco sandbox: {', '.join(dead)} stopped unexpectedly", file=sys.stderr)
                return 1
        return 0
    finally:
        for child in reversed(children):
            child.stop()


def _write_crds(directory: Path) -> Path:
    # Generated from the models in this installation, so the sandbox never serves stale CRDs.
    directory.mkdir(parents=True, exist_ok=True)
    for relative, content in generated_files():
        if relative.parts[0] == "crds":
            (directory / relative.name).write_text(content)
    return directory


def _write_s3_secret(data: Path) -> Path:
    from qco.sandbox.s3 import ACCESS_KEY, SECRET_KEY

    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": S3_SECRET, "namespace": "default", "labels": {"qco.dev/credentials": "true"}},
        "type": "Opaque",
        "stringData": {"AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY},
    }
    path = data / "s3-secret.json"
    path.write_text(json.dumps(secret))
    path.chmod(0o600)
    return path


def _operator_env(data: Path, kubeconfig: Path, qdrant_url: str, args: argparse.Namespace) -> dict[str, str]:
    env = {
        "KUBECONFIG": str(kubeconfig),
        "QCO_QDRANT_URL": qdrant_url,
        "QCO_METRICS_PORT": "0",
        "QCO_HEALTH_PORT": "0",  # no liveness endpoint on a laptop: nothing restarts the sandbox
        "QCO_METRICS_HOST": "127.0.0.1",
        # No RBAC on a laptop: access keys may write Secrets (unless the caller's environment says no).
        "QCO_ACCESS_KEYS_ENABLED": os.environ.get("QCO_ACCESS_KEYS_ENABLED", "true"),
    }
    if args.api_key:
        key_file = data / "qdrant-api-key"
        key_file.write_text(args.api_key)
        key_file.chmod(0o600)
        env["QCO_QDRANT_API_KEY_FILE"] = str(key_file)
    return env


def _kubectl(kubeconfig: Path, *args: str, timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        raise ChildFailed("kubectl is needed for --apply/--wait; install it and put it on PATH")
    return subprocess.run(
        [kubectl, "--kubeconfig", str(kubeconfig), *args], capture_output=True, text=True, timeout=timeout
    )


def _apply(kubeconfig: Path, paths: list[Path]) -> int:
    for path in paths:
        result = _kubectl(kubeconfig, "apply", "-f", str(path))
        sys.stderr.write(result.stdout + result.stderr)
        if result.returncode:
            print(f"qco sandbox: applying {path} failed", file=sys.stderr)
            return 1
    return 0


def _wait_ready(kubeconfig: Path, paths: list[Path], timeout: float, stop: threading.Event) -> int:
    """Poll the applied qco objects until all are Ready (0), one goes Stalled (1 at once, with its
    condition message: a Stalled object waits for a human, not for time) or `timeout` passes (1)."""
    files = [arg for path in paths for arg in ("-f", str(path))]
    deadline = time.monotonic() + timeout
    while True:
        listed = _kubectl(kubeconfig, "get", *files, "-o", "json")
        if listed.returncode:
            sys.stderr.write(listed.stderr)
            return 1
        waiting = readiness(json.loads(listed.stdout))
        stalled = [line for line in waiting if " Stalled " in line]
        if stalled or not waiting or time.monotonic() > deadline or stop.is_set():
            print(_kubectl(kubeconfig, "get", *files).stdout, end="")
            if stalled or waiting:
                print("\n".join(stalled or waiting), file=sys.stderr)
                return 1
            return 0
        stop.wait(WAIT_POLL_SECONDS)


def readiness(listed: dict[str, Any]) -> list[str]:
    """One line per applied qco object that is not Ready at its current generation (`kind/name
    Stalled (Reason): message` for a Stalled one); objects of other APIs are not waited for."""
    items = listed.get("items", [listed]) if listed.get("kind", "").endswith("List") else [listed]
    lines = []
    for item in items:
        if not str(item.get("apiVersion", "")).startswith("qco.dev/"):
            continue
        meta, status = item.get("metadata") or {}, item.get("status") or {}
        conditions = {c.get("type"): c for c in status.get("conditions") or ()}
        label = f"{str(item.get('kind', '')).lower()}/{meta.get('name')}"
        stalled, ready = conditions.get("Stalled") or {}, conditions.get("Ready") or {}
        current = status.get("observedGeneration") == meta.get("generation")
        if stalled.get("status") == "True":
            lines.append(f"{label} Stalled ({stalled.get('reason')}): {stalled.get('message', '')}")
        elif not (current and ready.get("status") == "True"):
            lines.append(
                f"{label} not Ready: {ready.get('reason', 'no status yet')}: {ready.get('message', '')}"
            )
    return lines


@contextmanager
def _data_dir(requested: Path | None) -> Iterator[Path]:
    if requested is not None:
        requested.mkdir(parents=True, exist_ok=True)
        yield requested
        return
    with tempfile.TemporaryDirectory(prefix="qco-sandbox-") as tmp:
        yield Path(tmp)
