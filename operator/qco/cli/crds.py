"""`qco crds [--check] [--output-dir ROOT]`: write (or check) the generated CRD manifests."""

from __future__ import annotations

import argparse

from qco.api.crdgen import generated_files
from qco.cli.generated import add_check_arguments, write_or_check


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the options of `qco crds`."""
    add_check_arguments(parser, "crds/ and charts/qco/")


def run(args: argparse.Namespace) -> int:
    """Write every generated CRD file under ROOT, or with --check report those that differ."""
    return write_or_check(args.output_dir, generated_files(), args.check, "qco crds")
