"""`qco apply -f FILE --qdrant-url URL`: make the changes, without Kubernetes."""

from qco.cli.offline import add_arguments
from qco.cli.offline import run_apply as run

__all__ = ["add_arguments", "run"]
