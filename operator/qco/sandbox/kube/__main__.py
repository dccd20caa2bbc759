"""`python -m qco.sandbox.kube [--host H] [--port N] [--kubeconfig PATH]`: serve the emulator.

Prints exactly one line, `kubeconfig: PATH`, once requests are accepted; serves until
SIGINT or SIGTERM, then exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
import tempfile
from pathlib import Path

from qco.sandbox.kube.sandbox import KubeSandbox


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(prog="python -m qco.sandbox.kube", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port to listen on (0 = a free port)")
    parser.add_argument(
        "--kubeconfig",
        type=Path,
        default=None,
        help="where to write the kubeconfig (default: a new temporary directory)",
    )
    return parser.parse_args(argv)


async def serve(host: str, port: int, kubeconfig: Path | None) -> None:
    """Run the sandbox until SIGINT/SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with KubeSandbox(host, port) as sandbox:
        path = kubeconfig or Path(tempfile.mkdtemp(prefix="qco-kube-")) / "kubeconfig"
        written = sandbox.write_kubeconfig(path)
        print(f"kubeconfig: {written}", flush=True)
        await stop.wait()


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit code."""
    args = parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.host, args.port, args.kubeconfig))
    return 0


if __name__ == "__main__":
    sys.exit(main())
