"""`python -m qco.sandbox.qdrant`: run the Qdrant-compatible server until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from qco.sandbox.qdrant.server import QdrantSandbox, SandboxConfig


def parse_args(argv: Sequence[str] | None = None) -> SandboxConfig:
    """Command-line options -> SandboxConfig."""
    parser = argparse.ArgumentParser(prog="python -m qco.sandbox.qdrant", description=__doc__)
    parser.add_argument("--data", type=Path, default=None, help="data directory (default: a temp dir)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    # Real Qdrant reads its key from this variable too; it keeps the key out of `ps` output.
    parser.add_argument(
        "--api-key",
        default=os.environ.get("QDRANT__SERVICE__API_KEY") or None,
        help="require this API key (default: $QDRANT__SERVICE__API_KEY)",
    )
    parser.add_argument(
        "--record-responses",
        type=Path,
        default=None,
        metavar="FILE",
        help="append every answered request and its JSON response to FILE (contract tests)",
    )
    args = parser.parse_args(argv)
    return SandboxConfig(
        data_dir=args.data,
        host=args.host,
        port=args.port,
        api_key=args.api_key,
        record_file=args.record_responses,
    )


async def serve(config: SandboxConfig) -> None:
    """Start the server, print `qdrant: URL` once it accepts requests, serve until a signal."""
    sandbox = QdrantSandbox(config)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await sandbox.start()
    try:
        print(f"qdrant: {sandbox.url}", flush=True)
        await stop.wait()
    finally:
        await sandbox.stop()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point."""
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    asyncio.run(serve(parse_args(argv)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
