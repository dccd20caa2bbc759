"""Shared by `qco crds` and `qco docs`: write generated files, or check that they are current."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from pathlib import Path


def add_check_arguments(parser: argparse.ArgumentParser, holds: str) -> None:
    """`--check` and `--output-dir ROOT`; `holds` names what ROOT contains, for the help text."""
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
        help=f"Repository root that holds {holds} (default: the current directory).",
    )


def write_or_check(root: Path, files: Iterable[tuple[Path, str]], check: bool, command: str) -> int:
    """Write each (relative path, content) under `root` when it differs, or with `check` report
    the stale ones on stderr and return 1."""
    stale: list[Path] = []
    for relative, content in files:
        path = root / relative
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == content:
            continue
        stale.append(relative)
        if not check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content, encoding="utf-8")
    if check:
        for relative in stale:
            print(f"out of date: {relative} (run `{command}`)", file=sys.stderr)
        return 1 if stale else 0
    for relative in stale:
        print(f"wrote {relative}")
    return 0
