"""`python -m qco.sandbox.s3`: moto's S3 server for `qco sandbox --s3`, with a bucket made.

So the sandbox can demonstrate a BackupSchedule to S3 and a restore from it on a laptop. moto
keeps objects in memory and accepts any credentials; it is a stand-in, never a place for data.
Prints `s3: <url>` once it answers.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading

#: The bucket `qco sandbox --s3` makes, and the keys of the Secret it applies (moto accepts any).
BUCKET = "qco-backups"
ACCESS_KEY = "sandbox"
SECRET_KEY = "sandbox-secret"
REGION = "us-east-1"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="qco.sandbox.s3", description=__doc__)
    parser.add_argument("--port", type=int, default=9000, help="Port (0 picks a free port).")
    parser.add_argument("--bucket", default=BUCKET, help="Bucket to create.")
    args = parser.parse_args(argv)
    try:
        import boto3
        from moto.server import ThreadedMotoServer
    except ImportError as exc:
        print(
            f"qco.sandbox.s3: moto's server is not installed ({exc}); pip install 'moto[server]'",
            file=sys.stderr,
        )
        return 2
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=args.port, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    client = boto3.session.Session().client(
        "s3",
        endpoint_url=url,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
    )
    client.create_bucket(Bucket=args.bucket)
    print(f"s3: {url}", flush=True)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    stop.wait()
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
