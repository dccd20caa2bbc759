"""The health probe: query the collection with stored points' vectors, timing each query."""

from __future__ import annotations

from typing import Any

from qco.clients.qdrant import Endpoint
from qco.clients.qdrant_probe import ProbeClient
from qco.plan.health import ProbeResult
from qco.reconcile.machinery import Logger


async def run_probe(
    endpoint: Endpoint, name: str, vector: str | None, queries: int, limit: int, now: str, log: Logger
) -> ProbeResult:
    """`queries` probe queries (vectors of the first stored points); errors counted, not raised."""
    client = ProbeClient(endpoint)
    latencies: list[float] = []
    errors = 0
    try:
        try:
            sample = await client.sample_points(name, queries)
        except Exception as exc:
            log.warning("health probe of %s could not sample points: %s", name, exc)
            return ProbeResult([], queries, now)
        for record in sample:
            request: dict[str, Any] = {"query": vector_of(record.vector, vector)}
            if vector:
                request["using"] = vector
            try:
                _, seconds = await client.timed_query(name, request, limit)
            except Exception as exc:
                log.warning("health probe query on %s failed: %s", name, exc)
                errors += 1
                continue
            latencies.append(seconds * 1000)
    finally:
        await client.close()
    return ProbeResult(latencies, errors, now)


def vector_of(stored: Any, name: str | None) -> Any:
    """The dense vector `name` of a stored point (the unnamed one when name is None)."""
    if isinstance(stored, dict):
        return stored[name] if name else next(iter(stored.values()))
    return stored
