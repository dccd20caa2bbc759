"""`python -m qco.sandbox.embeddings`: serve `/v1/embeddings` until SIGINT/SIGTERM; prints
`embeddings: http://HOST:PORT/v1` once it accepts requests."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from collections.abc import Sequence

from aiohttp import web

from qco.sandbox.embeddings.model import embed
from qco.sandbox.embeddings.server import build_app


async def serve(host: str, port: int, api_key: str | None) -> None:
    """Load the model, start the server, print its URL, serve until a signal."""
    await asyncio.to_thread(embed, ["warm up"])  # load the weights before saying we are up
    runner = web.AppRunner(build_app(api_key), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    bound = runner.addresses[0][1] if runner.addresses else port
    print(f"embeddings: http://{host}:{bound}/v1", flush=True)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(prog="python -m qco.sandbox.embeddings", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    args = parser.parse_args(argv)
    # The key comes from the environment, never argv (visible to `ps`).
    asyncio.run(serve(args.host, args.port, os.environ.get("QCO_EMBEDDINGS_API_KEY") or None))
    return 0


if __name__ == "__main__":
    sys.exit(main())
