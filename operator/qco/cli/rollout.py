"""`qco rollout promote|promote-full|abort|retry|status NAME`: steer a CanaryRollout through its
annotations and print its status (steps, weights, analysis) as a table."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Sequence
from typing import Any

from qco.api.canary import CANARY_ROLLOUT
from qco.api.common import GROUP, VERSION
from qco.clients.configmaps import ConfigMaps
from qco.clients.kube import load_api_client

ACTIONS = ("promote", "promote-full", "abort", "retry", "status")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The action, the rollout's name, its namespace and the kubeconfig."""
    parser.add_argument("action", choices=ACTIONS, help="What to do (status only prints).")
    parser.add_argument("name", help="The CanaryRollout's name.")
    parser.add_argument("-n", "--namespace", default="default", help="Its namespace (default: default).")
    parser.add_argument(
        "--kubeconfig", default=None, help="Kubeconfig file (default: in-cluster, else KUBECONFIG)."
    )


def run(args: argparse.Namespace) -> int:
    """Set the command's annotation (a new value each time) and print the status."""
    return asyncio.run(_run(args))


async def _run(args: argparse.Namespace) -> int:
    api_client = load_api_client(args.kubeconfig)
    try:
        configmaps = ConfigMaps(api_client)
        where = (GROUP, VERSION, CANARY_ROLLOUT.plural, args.namespace, args.name)
        if args.action != "status":
            # A new value every time: the operator acts on a value it has not acted upon yet.
            await configmaps.annotate(*where, {f"qco.dev/{args.action}": f"{time.time():.6f}"})
        body = await configmaps.read_custom_object(*where)
    finally:
        api_client.close()  # type: ignore[no-untyped-call]
    if body is None:
        print(f"qco rollout: CanaryRollout {args.namespace}/{args.name} not found", file=sys.stderr)
        return 1
    if args.action != "status":
        print(f"{args.action} requested on {args.namespace}/{args.name}")
    print(format_status(body))
    return 0


def format_status(body: dict[str, Any]) -> str:
    """The rollout's status as three small tables: overview, steps, analysis runs."""
    status = body.get("status") or {}
    spec = body.get("spec") or {}
    weights = status.get("weights") or {}
    lines = [
        f"Phase:     {status.get('phase', '-')}",
        f"Message:   {status.get('message') or '-'}",
        f"Stable:    {status.get('stable', '-')}  {weights.get('stable', '-')}%",
        f"Canary:    {status.get('canary', '-')}  {weights.get('canary', '-')}%",
        f"Verified:  {weights.get('verified', 0)} clients"
        f" (generation {status.get('routingGeneration', '-')})",
        "",
    ]
    current = status.get("currentStepIndex", 0)
    rows = [("STEP", "KIND", "VALUE", "STATE")]
    for index, step in enumerate(spec.get("steps") or []):
        kind = next(iter(step), "?")
        state = "done" if index < current else ("current" if index == current else "")
        if status.get("phase") in ("Promoting", "Succeeded") and index <= current:
            state = "done"
        rows.append((str(index), kind, _short(step.get(kind)), state))
    lines += [*_table(rows), ""]
    runs = [("RUN", "METRIC", "PHASE", "MEASUREMENTS", "LAST")]
    for run in status.get("analysisRuns") or []:
        counts = run.get("counts") or {}
        taken = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()) if k != "ConsecutiveErrors" and v)
        last = (run.get("measurements") or [{}])[-1]
        runs.append((run["run"], run["metric"], run["phase"], taken or "-", _short(last.get("value", "-"))))
    if len(runs) > 1:
        lines += _table(runs)
    return "\n".join(lines)


def _short(value: Any) -> str:
    text = "{}" if value == {} else str(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _table(rows: Sequence[tuple[str, ...]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows
    ]
