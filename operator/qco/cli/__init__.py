"""The `qco` command: one sub-command per module, imported only when used."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from importlib import metadata

# sub-command -> module under qco.cli exposing `add_arguments(parser)` and `run(args) -> int`.
# Imported lazily so `qco crds` does not pay for the sandbox's engine and vice versa.
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "crds": ("qco.cli.crds", "Write the CRD manifests generated from qco.api (crds/ and the chart's copy)."),
    "docs": ("qco.cli.docs", "Write the generated docs (CRD reference, configuration, chart README)."),
    "plan": ("qco.cli.plan", "Print what qco would change in a Qdrant for QdrantCollection manifests."),
    "estimate": ("qco.cli.estimate", "Estimate RAM and disk of QdrantCollection manifests, offline."),
    "apply": ("qco.cli.apply", "Make a Qdrant match QdrantCollection manifests, without Kubernetes."),
    "run": ("qco.cli.run", "Run the operator (configured by QCO_ environment variables)."),
    "rollout": ("qco.cli.rollout", "Steer a CanaryRollout or print its status."),
    "status": (
        "qco.cli.day2",
        "Print qco objects' conditions, last change, drift and Qdrant status as a table.",
    ),
    "reconcile": (
        "qco.cli.day2",
        "Run an object's next pass now (annotation qco.dev/reconcile-requested-at).",
    ),
    "pause": ("qco.cli.day2", "Stop qco writing for an object (annotation qco.dev/paused)."),
    "resume": ("qco.cli.day2", "Let qco write for a paused object again."),
    "orphan": (
        "qco.cli.day2",
        "Let an object be deleted without touching Qdrant (annotation qco.dev/orphan).",
    ),
    "sandbox": ("qco.cli.sandbox", "Run a local Qdrant stand-in and Kubernetes emulator (and the operator)."),
}


def _version() -> str:
    try:
        return metadata.version("qdrant-collection-operator")
    except metadata.PackageNotFoundError:
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    """Build the top-level parser with every sub-command registered."""
    parser = argparse.ArgumentParser(prog="qco", description="qco, the Qdrant Collection Operator.")
    parser.add_argument("--version", action="version", version=f"qco {_version()}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module_name, help_text) in SUBCOMMANDS.items():
        module = importlib.import_module(module_name)
        sub = subparsers.add_parser(name, help=help_text, description=help_text)
        module.add_arguments(sub)
        sub.set_defaults(_module=module)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `qco` console script."""
    args = build_parser().parse_args(argv)
    result: int = args._module.run(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
