"""`qco plan` and `qco apply`: QdrantCollection manifests against a Qdrant, without Kubernetes."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from qco.clients.errors import classify
from qco.clients.qdrant import Endpoint, QdrantPool
from qco.metrics import Metrics
from qco.reconcile.collection_offline import OfflineResult, desired_from_manifest, plan_offline


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options shared by `qco plan` and `qco apply`."""
    parser.add_argument(
        "-f", "--filename", required=True, type=Path, help="YAML file with QdrantCollection(s)."
    )
    parser.add_argument("--qdrant-url", required=True, help="Qdrant REST URL, e.g. http://localhost:6333.")
    parser.add_argument(
        "--api-key-env",
        default="QDRANT_API_KEY",
        help="Environment variable with the API key (default QDRANT_API_KEY); keys never go in flags.",
    )
    parser.add_argument("--timeout", type=float, default=30.0, help="Seconds per Qdrant request.")


def run_plan(args: argparse.Namespace) -> int:
    """Print the changes qco would make; write nothing."""
    return asyncio.run(_run(args, apply=False))


def run_apply(args: argparse.Namespace) -> int:
    """Make the changes and print what was done."""
    return asyncio.run(_run(args, apply=True))


async def _run(args: argparse.Namespace, apply: bool) -> int:
    try:
        manifests = _collections_in(args.filename)
    except (OSError, yaml.YAMLError) as exc:
        print(f"qco: cannot read {args.filename}: {exc}", file=sys.stderr)
        return 2
    if not manifests:
        print(f"qco: no QdrantCollection in {args.filename}", file=sys.stderr)
        return 2
    pool = QdrantPool(Metrics(), max_concurrency_per_endpoint=4)
    gateway = pool.gateway(Endpoint(args.qdrant_url, os.environ.get(args.api_key_env) or None, args.timeout))
    failed = False
    try:
        for manifest in manifests:
            label = f"QdrantCollection {manifest.get('metadata', {}).get('name', '?')}"
            try:
                desired = desired_from_manifest(manifest)
            except ValidationError as exc:
                print(f"{label}: invalid spec:\n{_indent(str(exc))}")
                failed = True
                continue
            try:
                result = await plan_offline(gateway, desired, apply)
            except Exception as exc:
                failure = classify(exc)
                print(f"{label}: {failure.reason}: {failure.message}")
                failed = True
                continue
            print(_render(label, result, apply))
            failed = failed or bool(result.plan.blockers)
    finally:
        await pool.close()
    return 1 if failed else 0


def _render(label: str, result: OfflineResult, applied: bool) -> str:
    plan = result.plan
    lines = [f"{label} -> collection {plan.collection_name}:"]
    if plan.empty:
        lines.append("  no changes: Qdrant matches the spec")
    for action in plan.actions:
        lines.append(f"  {'done' if applied else 'would'}: {action.describe()}")
    for blocker in plan.blockers:
        lines.append(f"  blocked ({blocker.reason}): {blocker.message()}")
    if applied and result.info is not None:
        lines.append(f"  status: {result.info.status.value}, points: {result.info.points_count}")
    return "\n".join(lines)


def _collections_in(path: Path) -> list[dict[str, Any]]:
    text = sys.stdin.read() if str(path) == "-" else path.read_text()
    docs = [doc for doc in yaml.safe_load_all(text) if isinstance(doc, dict)]
    items: list[dict[str, Any]] = []
    for doc in docs:
        items.extend(doc.get("items", []) if doc.get("kind") == "List" else [doc])
    return [
        d
        for d in items
        if d.get("kind") == "QdrantCollection" and str(d.get("apiVersion", "")).startswith("qco.dev/")
    ]


def _indent(text: str) -> str:
    return "\n".join(f"    {line}" for line in text.splitlines())
