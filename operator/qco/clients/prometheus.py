"""Prometheus instant queries (`/api/v1/query`) for canary analysis, through httpx."""

from __future__ import annotations

import math
from typing import Any

import httpx


class PrometheusError(Exception):
    """The query could not be answered; the message says why (never a credential)."""


async def query_scalar(client: httpx.AsyncClient, address: str, query: str) -> float | None:
    """The first sample's value of an instant query; None when the result is empty or NaN (no data)."""
    try:
        response = await client.get(f"{address.rstrip('/')}/api/v1/query", params={"query": query})
    except httpx.HTTPError as exc:
        raise PrometheusError(f"Prometheus at {address} unreachable: {type(exc).__name__}") from None
    try:
        body: Any = response.json()
    except ValueError:
        raise PrometheusError(f"Prometheus answered {response.status_code} without JSON") from None
    if response.status_code != 200 or body.get("status") != "success":
        raise PrometheusError(
            f"Prometheus: {body.get('errorType', response.status_code)}: {body.get('error', '')}"
        )
    data = body.get("data") or {}
    result: Any = data.get("result")
    if data.get("resultType") == "scalar":
        value = float(result[1])
    elif not result:
        return None
    else:
        value = float(result[0]["value"][1])
    return None if math.isnan(value) else value
