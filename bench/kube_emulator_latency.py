"""Per-request latency of the Kubernetes emulator as the request count grows (it must stay flat).

kmock 0.8's own dispatch scans the whole request history, so its latency grows with every
request; `qco.sandbox.kube` routes directly. This benchmark sends a mix of creates, gets, merge
patches, status patches and small lists over HTTP (one client, sequential requests) and prints
the mean latency of the requests just before 100, 1,000 and 10,000 requests.

Run: python bench/kube_emulator_latency.py [--requests 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

import httpx

from qco.sandbox.kube import KubeSandbox

CHECKPOINTS = (100, 1_000, 10_000)
BASE = "/api/v1/namespaces/default/configmaps"
MERGE = {"Content-Type": "application/merge-patch+json"}


async def one_request(client: httpx.AsyncClient, index: int) -> None:
    """The index-th request of the mix; objects accumulate, as on a long-lived cluster."""
    kind = index % 5
    name = f"cm-{index // 5}"
    if kind == 0:
        response = await client.post(BASE, json={"metadata": {"name": name, "labels": {"bench": "yes"}}})
    elif kind == 1:
        response = await client.get(f"{BASE}/{name}")
    elif kind == 2:
        response = await client.patch(f"{BASE}/{name}", json={"data": {"i": str(index)}}, headers=MERGE)
    elif kind == 3:
        response = await client.get("/api/v1/namespaces/kube-system/configmaps")  # a small list
    else:
        response = await client.get("/apis/apiextensions.k8s.io/v1")  # discovery
    response.raise_for_status()


async def run(total: int) -> list[tuple[int, float, float]]:
    """(checkpoint, mean ms, p95 ms) of the 100 requests before each checkpoint."""
    results = []
    async with KubeSandbox() as sandbox, httpx.AsyncClient(base_url=sandbox.url) as client:
        latencies: list[float] = []
        for index in range(total):
            started = time.perf_counter()
            await one_request(client, index)
            latencies.append((time.perf_counter() - started) * 1000)
            if index + 1 in CHECKPOINTS:
                window = latencies[-100:]
                p95 = statistics.quantiles(window, n=20)[-1]
                results.append((index + 1, statistics.fmean(window), p95))
    return results


def main() -> None:
    """Print one line per checkpoint."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=CHECKPOINTS[-1])
    args = parser.parse_args()
    for count, mean, p95 in asyncio.run(run(args.requests)):
        print(
            f"after {count:>6,} requests: {mean:6.2f} ms/request mean, {p95:6.2f} ms p95 (last 100 requests)"
        )


if __name__ == "__main__":
    main()
