"""`qco crds [--check] [--output-dir ROOT]`: write (or check) the generated CRD manifests."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from qco.api.crdgen import generated_files


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the options of `qco crds`."""
    parser.add_argument(
        "--check",
        action="store_true",
        help="Write nothing; exit 1 and list the files that differ from the generator.",
    )
    parser.add_argument(
        "--output-dir",
        type=Path,
        default=Path.cwd(),
        metavar="ROOT",
        help="Repository root that holds crds/ and charts/qco/ (default: the current directory).",
    )


def run(args: argparse.Namespace) -> int:
    """Write every generated CRD file under ROOT, or with --check report those that differ."""
    root: Path = args.output_dir
    stale: list[Path] = []
    for relative, content in generated_files():
        path = root / relative
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == content:
            continue
        stale.append(relative)
        if not args.check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content, encoding="utf-8")
    if args.check:
        for relative in stale:
            print(f"out of date: {relative} (run `qco crds`)", file=sys.stderr)
        return 1 if stale else 0
    for relative in stale:
        print(f"wrote {relative}")
    return 0
