"""`qco estimate -f FILE [--points N]`: RAM and disk of QdrantCollection manifests, offline.

The same estimate as `status.memory` (qco.plan.memory on the effective config); no Qdrant needed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from qco.api.collection import QdrantCollectionSpec
from qco.plan.memory import MemoryEstimate, estimate_memory, format_bytes, recommend
from qco.plan.presets import effective_config


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `qco estimate`."""
    parser.add_argument("-f", "--filename", required=True, type=Path, help="YAML with QdrantCollection(s).")
    parser.add_argument(
        "--points", type=int, default=None, help="Point count (default: spec.expectedPoints)."
    )
    parser.add_argument("--payload-bytes", type=int, default=0, help="Average payload JSON size per point.")
    parser.add_argument("--sparse-nnz", type=int, default=50, help="Average non-zeros per sparse vector.")


def run(args: argparse.Namespace) -> int:
    """Print one estimate per QdrantCollection in the file."""
    try:
        text = sys.stdin.read() if str(args.filename) == "-" else args.filename.read_text()
        docs = [d for d in yaml.safe_load_all(text) if isinstance(d, dict)]
    except (OSError, yaml.YAMLError) as exc:
        print(f"qco: cannot read {args.filename}: {exc}", file=sys.stderr)
        return 2
    manifests = [d for d in docs if d.get("kind") == "QdrantCollection"]
    if not manifests:
        print(f"qco: no QdrantCollection in {args.filename}", file=sys.stderr)
        return 2
    failed = False
    for manifest in manifests:
        label = f"QdrantCollection {manifest.get('metadata', {}).get('name', '?')}"
        try:
            spec = QdrantCollectionSpec.model_validate(manifest.get("spec") or {})
        except ValidationError as exc:
            print(f"{label}: invalid spec:\n{exc}")
            failed = True
            continue
        points = args.points if args.points is not None else spec.expected_points
        if points is None:
            print(f"{label}: give --points N or set spec.expectedPoints")
            failed = True
            continue
        config = effective_config(spec)
        estimate = estimate_memory(config, points, args.payload_bytes, args.sparse_nnz)
        print(render(label, estimate, recommend(config, points, args.payload_bytes)))
    return 1 if failed else 0


def render(label: str, estimate: MemoryEstimate, recommendation: str) -> str:
    """The table printed for one collection."""
    rows: list[tuple[str, Any]] = [
        ("original vectors", estimate.original_vectors),
        ("quantized vectors", estimate.quantized_vectors),
        ("HNSW links", estimate.hnsw),
        ("sparse vectors", estimate.sparse),
        ("payload", estimate.payload),
        ("payload indexes", estimate.payload_indexes),
        ("ids and versions", estimate.overhead),
        ("fixed per shard", estimate.fixed),
        ("total", estimate.total),
    ]
    lines = [f"{label}: {estimate.points} points", f"  {'part':18} {'RAM':>10} {'disk':>10}"]
    lines += [f"  {name:18} {format_bytes(p.ram):>10} {format_bytes(p.disk):>10}" for name, p in rows]
    lines.append(f"  recommendation: {recommendation}")
    return "\n".join(lines)
